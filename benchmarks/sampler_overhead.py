"""FLOPs and time of GridSampler against one forward of a ViT-B/16- and a SigLIP-so400m-sized encoder.

Goal (issue 2): the sampler costs <= 0.1% of the encoder's FLOPs and <= 1% of its time.

FLOPs: ``torch.utils.flop_counter.FlopCounterMode`` on the ``meta`` device (1 multiply-add = 2 FLOPs,
eager attention so attention matmuls are counted). The counter only sees matmuls, so the sampler's
element-wise work is added analytically: global average pool (B*H*W*C adds) and bilinear reads
(4 neighbours x (mul + add) x C per point, plus the blends) — an upper bound that is still tiny.
Time: real random-weight models on this machine's CPU, median of repeats, sampler and encoder timed
alternately in one process. Encoders at batch 64 are counted but by default not timed on a CPU (a
so400m forward at batch 64 is ~14 TFLOP); pass ``--time-encoder-up-to 64`` to time them anyway.

    python benchmarks/sampler_overhead.py            # writes benchmarks/results/sampler_overhead.{json,md}
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from grids import GridSampler, set_value_checks

RESULTS = Path(__file__).parent / "results"

ENCODERS = {
    # name: (transformers config class name, config kwargs, patch grid side)
    "vit-b16-224": ("ViTConfig", {}, 14),
    "siglip-so400m14-224": (
        "SiglipVisionConfig",
        dict(
            hidden_size=1152,
            intermediate_size=4304,
            num_hidden_layers=27,
            num_attention_heads=16,
            patch_size=14,
            image_size=224,
        ),
        16,
    ),
}


def build_encoder(name: str, device: str) -> tuple[torch.nn.Module, int, int]:
    import transformers

    config_name, kwargs, side = ENCODERS[name]
    config = getattr(transformers, config_name)(**kwargs)
    config._attn_implementation = "eager"  # SDPA on CPU hides attention FLOPs from the counter
    model_class = transformers.ViTModel if config_name == "ViTConfig" else transformers.SiglipVisionModel
    extra = {"add_pooling_layer": False} if config_name == "ViTConfig" else {}
    with torch.device(device):
        model = model_class(config, **extra)
    return model.eval(), config.hidden_size, side


def count_flops(module: torch.nn.Module, *args, **kwargs) -> int:
    with FlopCounterMode(display=False) as counter:
        module(*args, **kwargs)
    return counter.get_total_flops()


def sampler_elementwise_flops(batch: int, side: int, dim: int, num_tokens: int) -> int:
    pool = batch * side * side * dim
    bilinear = batch * num_tokens * dim * (4 * 2 + 3 * 3)  # 4 weighted reads, 3 blends of (2 mul + 1 add)
    embed_add = batch * num_tokens * dim
    return pool + bilinear + embed_add


def median_time(module: torch.nn.Module, repeats: int, *args, **kwargs) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module(*args, **kwargs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), (max(times) - min(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--num-tokens", type=int, default=16)
    parser.add_argument(
        "--time-encoder-up-to", type=int, default=8, help="largest batch at which encoders are timed"
    )
    parser.add_argument("--encoder-repeats", type=int, default=3)
    parser.add_argument("--sampler-repeats", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="1 thread: stable timings on a shared CPU")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    rows = []
    for name in ENCODERS:
        meta_encoder, dim, side = build_encoder(name, "meta")
        real_encoder, _, _ = build_encoder(name, "cpu")
        image_size = real_encoder.config.image_size
        sampler = GridSampler(dim=dim, num_tokens=args.num_tokens).eval()
        meta_sampler = GridSampler(dim=dim, num_tokens=args.num_tokens).to("meta").eval()
        for batch in args.batches:
            meta_pixels = torch.empty(batch, 3, image_size, image_size, device="meta")
            encoder_flops = count_flops(meta_encoder, pixel_values=meta_pixels)
            set_value_checks(False)  # value checks cannot read meta tensors
            sampler_matmul_flops = count_flops(
                meta_sampler, torch.empty(batch, side, side, dim, device="meta")
            )
            set_value_checks(True)
            sampler_flops = sampler_matmul_flops + sampler_elementwise_flops(
                batch, side, dim, args.num_tokens
            )
            feature_map = torch.randn(batch, side, side, dim)
            pixels = torch.randn(batch, 3, image_size, image_size)
            with torch.inference_mode():
                for _ in range(5):
                    sampler(feature_map)
                sampler_time, sampler_spread = median_time(sampler, args.sampler_repeats, feature_map)
                encoder_time = encoder_spread = None
                if batch <= args.time_encoder_up_to:
                    real_encoder(pixel_values=pixels)  # warm-up
                    encoder_time, encoder_spread = median_time(
                        real_encoder, args.encoder_repeats, pixel_values=pixels
                    )
            row = dict(
                encoder=name,
                batch=batch,
                num_tokens=args.num_tokens,
                grid=f"{side}x{side}",
                dim=dim,
                encoder_gflops=encoder_flops / 1e9,
                sampler_gflops=sampler_flops / 1e9,
                sampler_flops_pct=100 * sampler_flops / encoder_flops,
                sampler_ms=sampler_time * 1e3,
                sampler_spread_ms=sampler_spread * 1e3,
                encoder_ms=None if encoder_time is None else encoder_time * 1e3,
                encoder_spread_ms=None if encoder_spread is None else encoder_spread * 1e3,
                sampler_time_pct=None if encoder_time is None else 100 * sampler_time / encoder_time,
            )
            rows.append(row)
            print(json.dumps(row))

    args.out.mkdir(parents=True, exist_ok=True)
    meta = dict(
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        machine=platform.processor() or platform.machine(),
        command=" ".join(["python", "benchmarks/sampler_overhead.py", *sys.argv[1:]]),
    )
    (args.out / "sampler_overhead.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# GridSampler overhead vs one encoder forward",
        "",
        f"K = {args.num_tokens} points, hidden 512, MLP coordinate embedding. FLOPs: FlopCounterMode on meta "
        "(1 MAC = 2 FLOPs, eager attention) + analytic element-wise work. Time: CPU, "
        f"{meta['threads']} threads, torch {meta['torch']}, median of {args.encoder_repeats} (encoder) / "
        f"{args.sampler_repeats} (sampler) runs; '—' = not timed on CPU.",
        "",
        "| encoder | batch | encoder GFLOP | sampler GFLOP | sampler % FLOPs | encoder ms | sampler ms | sampler % time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        enc_ms = "—" if r["encoder_ms"] is None else f"{r['encoder_ms']:.0f}"
        pct = "—" if r["sampler_time_pct"] is None else f"{r['sampler_time_pct']:.3f}"
        lines.append(
            f"| {r['encoder']} | {r['batch']} | {r['encoder_gflops']:.1f} | {r['sampler_gflops']:.4f} | "
            f"{r['sampler_flops_pct']:.4f} | {enc_ms} | {r['sampler_ms']:.3f} | {pct} |"
        )
    (args.out / "sampler_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
