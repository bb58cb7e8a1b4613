"""``grids flops`` and ``grids latency``: whole-model FLOPs per stage, and dense-vs-reduced CPU latency.

grids flops --model pi0 --views 2 --reducer grids --tokens 16 [--resample-at-layer 0]
grids latency --model pi0,pi05 --mode both --compile both --out DIR   (see grids latency --help)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from grids.cli.argtypes import non_negative_int, positive_int

MODELS = ("pi0", "pi05", "smolvla")
LATENCY_HELP = """Time dense and reduced variants of a full-depth VLA shape (random weights), per stage.

Every variant shares the dense model's weights (in memory once) and the variants run interleaved;
each run is saved to OUT/latency.json (+ latency.md) as it ends, and a rerun with the same --out skips
finished runs. On a GPU (--device auto/cuda) stages are timed with CUDA events.

  grids latency --model pi0,pi05 --mode both --compile both --out runs/cpu-full   # hours on a CPU
  grids latency --model pi0 --plan --mode both        # FLOPs and memory estimate, seconds
  grids latency --depth 2,1,1 --repeats 3 --out /tmp/smoke                      # reduced-depth smoke
"""


def _add_variant_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="pi0", help="VLA shape (default: pi0)")
    parser.add_argument("--views", type=int, default=2, help="camera views per sample (default: 2)")
    parser.add_argument("--reducer", default="grids", help="registered reducer name (default: grids)")
    parser.add_argument("--tokens", type=int, default=16, help="K, tokens kept per view (default: 16)")
    parser.add_argument(
        "--text-tokens", type=positive_int, default=None, help="prompt length (default: the model's)"
    )
    parser.add_argument(
        "--resample-at-layer",
        type=non_negative_int,
        default=None,
        metavar="L",
        help="reduce inside the vision encoder, before block L (default: after the projector, as the paper)",
    )
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def register(subparsers) -> None:
    flops = subparsers.add_parser("flops", help="per-stage FLOPs of a full-size VLA shape, dense vs reduced")
    _add_variant_args(flops)
    flops.add_argument("--formula-only", action="store_true", help="skip the meta-device count")
    flops.set_defaults(func=run_flops)

    latency = subparsers.add_parser(
        "latency",
        help="latency per stage of dense vs reduced variants (inference and training), interleaved",
        description=LATENCY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    latency.add_argument(
        "--model", default="pi0", help="comma-separated shapes: pi0, pi05, smolvla (default: pi0)"
    )
    latency.add_argument(
        "--variants",
        default=None,
        help="comma-separated, dense first: dense, REDUCER-K (after the projector), REDUCER-K@L (before "
        "vision block L) (default: dense,grids-16,grids-16@0,grids-4@0)",
    )
    latency.add_argument("--mode", choices=("inference", "training", "both"), default="inference")
    latency.add_argument("--batch", default="1,8", help="inference batch sizes (default: 1,8)")
    latency.add_argument(
        "--train-batch", default=None, help="training batch sizes (default: 8 on CPU, 32,128 on a GPU)"
    )
    latency.add_argument("--compile", choices=("eager", "compiled", "both"), default="eager")
    latency.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="weights and activations")
    latency.add_argument("--device", default="auto", help="auto (GPU if visible), cpu, cuda[:N]")
    latency.add_argument(
        "--depth",
        default="full",
        help="'full', or V,L,E blocks of vision/LLM/expert for a reduced-depth smoke run",
    )
    latency.add_argument(
        "--checkpointing", action="store_true", help="training: recompute SigLIP and LLM blocks in backward"
    )
    latency.add_argument("--views", type=int, default=2, help="camera views per sample (default: 2)")
    latency.add_argument("--warmup", type=int, default=1)
    latency.add_argument("--repeats", type=int, default=5, help="timed rounds per run (default: 5)")
    latency.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    latency.add_argument(
        "--out", type=Path, default=None, help="results directory (default: a new ./grids-latency-<time>)"
    )
    latency.add_argument("--plan", action="store_true", help="print FLOPs and memory estimates, time nothing")
    latency.add_argument(
        "--no-memory-check", action="store_true", help="run even if the estimate exceeds free memory"
    )
    latency.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    latency.set_defaults(func=run_latency)


def _check_variant(args) -> None:
    """Bad flags fail here, for ``--formula-only`` too: before a wrong table is printed, or a full-width
    model is built (seconds)."""
    from grids.core import list_reducers
    from grids.efficiency.flops import check_variant
    from grids.efficiency.shapes import get_shape

    if args.reducer not in list_reducers():
        raise ValueError(f"unknown reducer {args.reducer!r}; registered: {', '.join(list_reducers())}")
    for flag, value in (("--tokens", args.tokens), ("--views", args.views), ("--batch", args.batch)):
        if value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    shuffle = get_shape(args.model).pixel_shuffle
    if (
        args.resample_at_layer is not None and shuffle != 1
    ):  # the formula would price a model that cannot be built
        raise ValueError(
            f"--resample-at-layer needs a connector without pixel shuffle; {args.model} shuffles {shuffle}x{shuffle} patches"
        )
    try:
        check_variant(
            args.model, views=args.views, reducer=args.reducer, num_tokens=args.tokens,
            text_tokens=args.text_tokens, resample_at_layer=args.resample_at_layer, batch=args.batch,
        )  # fmt: skip
    except ValueError as err:  # name the flag: resample_at_layer -> --resample-at-layer
        message = str(err).replace("num_tokens=", "--tokens ").replace("num_tokens", "--tokens")
        for name in ("resample_at_layer", "text_tokens"):
            message = message.replace(name, f"--{name.replace('_', '-')}")
        raise ValueError(message) from None


def run_flops(args) -> int:
    _check_variant(args)
    from grids.efficiency.flops import STAGES, analytic_stages, count_model, floor_flops

    options = dict(views=args.views, text_tokens=args.text_tokens, batch=args.batch)
    variant = dict(reducer=args.reducer, num_tokens=args.tokens, resample_at_layer=args.resample_at_layer)
    dense = analytic_stages(args.model, **options)
    try:
        formula = analytic_stages(args.model, **options, **variant).as_dict()
    except ValueError:  # no formula for this reducer: the count alone
        formula = None
    counted = None if args.formula_only else count_model(args.model, **options, **variant).as_dict()
    floor = floor_flops(args.model, text_tokens=args.text_tokens, batch=args.batch)
    main = counted or formula
    if args.json:
        print(
            json.dumps({"counted": counted, "formula": formula, "dense_total": dense.total, "floor": floor})
        )
        return 0
    where = (
        "after the projector"
        if args.resample_at_layer is None
        else f"before vision block {args.resample_at_layer}"
    )
    print(
        f"{args.model}: {args.views} views, batch {args.batch}, reducer {args.reducer} K={args.tokens} ({where}); "
        "TFLOP, 2 FLOPs per multiply-add, attention included"
    )
    print(f"{'stage':<15}{'meta count':>12}{'formula':>12}")
    for stage in (*STAGES, "total"):
        count = f"{counted[stage] / 1e12:.4f}" if counted else "-"
        form = f"{formula[stage] / 1e12:.4f}" if formula else "-"
        print(f"{stage:<15}{count:>12}{form:>12}")
    print(f"{'dense total':<15}{dense.total / 1e12:>12.4f}")
    print(f"{'floor':<15}{floor / 1e12:>12.4f}   (no visual tokens: text prefix + action expert)")
    print(
        f"reduction vs dense: {100 * (1 - main['total'] / dense.total):.1f}%   "
        f"floor: {100 * (1 - floor / dense.total):.1f}%"
    )
    return 0


def _ints(flag: str, text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise ValueError(f"{flag} values must be >= 1, got {text!r}")
    return values


def latency_settings(args):
    """Parse and check the latency flags (cheap: before any model is built)."""
    from grids.core import check_resample_at_layer
    from grids.efficiency.latency import Variant, resolve_device
    from grids.efficiency.report import DEFAULT_VARIANTS, Settings
    from grids.efficiency.shapes import get_shape

    models = tuple(m.strip() for m in args.model.split(","))
    for model in models:
        if model not in MODELS:
            raise ValueError(f"--model {model!r}: known shapes are {', '.join(MODELS)}")
    depth = None if args.depth == "full" else _ints("--depth", args.depth)
    if depth is not None and len(depth) != 3:
        raise ValueError(f"--depth takes 'full' or three integers V,L,E, got {args.depth!r}")
    for flag, value, least in (
        ("--views", args.views, 1),
        ("--repeats", args.repeats, 1),
        ("--warmup", args.warmup, 0),
    ):
        if value < least:
            raise ValueError(f"{flag} must be >= {least}, got {value}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    variants = tuple(v.strip() for v in args.variants.split(",")) if args.variants else DEFAULT_VARIANTS
    parsed = [Variant.parse(v) for v in variants]
    if parsed[0].label != "dense":
        raise ValueError(f"--variants must start with 'dense' (the reference), got {variants[0]!r}")
    for model in models:
        vision_depth = depth[0] if depth else get_shape(model).vision.depth
        for v in parsed:
            check_resample_at_layer(
                v.resample_at_layer,
                vision_depth,
                name=f"variant {v.label}: L",
                output="no @L",
                encoder=f"{model}'s {vision_depth}-block vision encoder",
            )
    device = resolve_device(args.device)
    return Settings(
        models=models,
        variants=variants,
        depth=depth,
        dtype=args.dtype,
        device=str(device),
        checkpointing=args.checkpointing,
        views=args.views,
        warmup=args.warmup,
        repeats=args.repeats,
        threads=args.threads,
    )


def run_latency(args) -> int:
    from grids.efficiency.report import calibrate_gflops, estimate, estimated_hours, plan_runs, run_plan

    settings = latency_settings(args)
    modes = ("inference", "training") if args.mode == "both" else (args.mode,)
    compile_modes = {"eager": (False,), "compiled": (True,), "both": (False, True)}[args.compile]
    runs = plan_runs(
        settings,
        modes=modes,
        batches=_ints("--batch", args.batch),
        train_batches=_ints("--train-batch", args.train_batch) if args.train_batch else None,
        compile_modes=compile_modes,
    )
    if args.plan:
        if settings.threads:
            import torch

            torch.set_num_threads(settings.threads)
        estimates = estimate(settings, runs)
        gflops = calibrate_gflops(settings.dtype, device=settings.device)
        hours = estimated_hours(settings, estimates, gflops)
        if args.json:
            print(json.dumps({"estimates": estimates, "gflops": gflops, "hours": hours}))
            return 0
        ckpt = ", checkpointing" if settings.checkpointing else ""
        for model, e in estimates.items():
            print(
                f"{model}: weights {e['weights_gib']:.1f} GiB + largest step {e['peak_tensors_gib']:.1f} GiB "
                f"-> about {e['need_gib']:.0f} GiB ({settings.dtype}{ckpt})"
            )
            for key, run in e["runs"].items():
                tflops = ", ".join(f"{k} {v:.2f}" for k, v in run["tflops"].items())
                print(f"  {key}: TFLOP {tflops}; about {hours[key]:.2f} h")
        print(
            f"time at 60 % of {gflops:.0f} GFLOP/s (a {settings.dtype} matrix product here, now), "
            f"{settings.warmup} + {settings.repeats} rounds: about {sum(hours.values()):.1f} h in all, "
            "plus compilation"
        )
        return 0
    from grids.errors import check_output_dir

    out = check_output_dir(args.out or Path(time.strftime("grids-latency-%Y%m%d-%H%M%S")), "--out")
    results = run_plan(settings, runs, out=out, check_memory=not args.no_memory_check)
    if args.json:
        print(json.dumps(results))
    else:
        print((out / "latency.md").read_text())
    print(f"wrote {out / 'latency.json'} and {out / 'latency.md'}")
    return 0
