"""Regenerate benchmarks/results/efficiency.md and efficiency.json: whole-model FLOPs; time the full depth.

    python benchmarks/efficiency.py --part flops     # meta-device counts + formulas (~5 min), then render
    python benchmarks/efficiency.py --part latency --out DIR [--groups inference,training]
    python benchmarks/efficiency.py --part render --latency-from DIR    # efficiency.md with DIR's runs

FLOPs: full-size π0 / π0.5 / SmolVLA, counted with FlopCounterMode on the meta device (no weight
memory), each count held against the closed-form formula of grids/efficiency/flops.py. The wider
sweep (3 views, other prompt lengths) uses the formula, which equals the meta count on every row
counted here.

Latency: the full-depth π0 and π0.5 shapes (random weights), dense vs GridS-16 / GridS-4, after the
encoder and at L = 0, per stage, through grids.efficiency.report.run_plan (what ``grids latency``
runs), in two groups with their own settings and folders:

    DIR/inference  batch 1 and 8, eager and compiled, fp32            (~11 GiB: weights 10.1 + <1.3)
    DIR/training   forward + backward, batch 8 on CPU (32, 128 on a GPU), bf16 weights and gradient
                   checkpointing on CPU (fp32 does not fit 24 GiB: ~47 GiB without checkpointing,
                   ~24 GiB with); fp32 + checkpointing on a GPU

Each run is saved as it ends; rerunning the same command resumes (finished runs are skipped). On a
quiet 2-core CPU, expect hours (benchmarks/efficiency_notes.md has the command, the time and memory
estimates); on a GPU, minutes. ``grids latency --plan`` prints both estimates without timing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import torch

from grids.efficiency import report
from grids.efficiency.flops import STAGES, analytic_stages, count_model, floor_flops
from grids.efficiency.shapes import SHAPES, get_shape

RESULTS = Path(__file__).parent / "results"
TOKENS = (1, 4, 16, 64)
PAPER = {  # Table 1 of arXiv 2605.11817, GFLOPs (XLA cost_analysis, see the text)
    ("pi0", "dense"): 216.01,
    ("pi0", 16): 51.65,
    ("pi0", 4): 43.61,
    ("pi05", "dense"): 249.76,
    ("pi05", 16): 83.84,
    ("pi05", 4): 75.73,
    ("smolvla", "dense"): 306.78,
}
LATENCY_GROUPS = {  # folder -> what it times; the dtype / checkpointing defaults depend on the device
    "inference": dict(modes=("inference",), batches=(1, 8), compile_modes=(False, True)),
    "training": dict(modes=("training",), compile_modes=(False,)),
}


def _row(model, views, text, reducer, k, layer, counted: bool) -> dict:
    options = dict(views=views, reducer=reducer, num_tokens=k, text_tokens=text, resample_at_layer=layer)
    formula = analytic_stages(model, **options).as_dict()
    row = {
        "model": model,
        "views": views,
        "text_tokens": text,
        "reducer": reducer,
        "K": k if reducer != "dense" else None,
    }
    row["resample_at_layer"] = layer
    row["formula"] = formula
    if counted:
        start = time.perf_counter()
        count = count_model(model, **options).as_dict()
        row["counted"] = count
        row["count_seconds"] = time.perf_counter() - start
        row["max_rel_diff"] = max(abs(count[s] - formula[s]) / max(formula["total"], 1) for s in formula)
    return row


def paper_fit() -> list[dict]:
    """The paper's FLOPs column next to ours, and next to the same formula with every scanned stack
    counted once (1 SigLIP block, 1 Gemma layer, 1 expert layer, 1 flow step) over the 3 image slots
    openpi feeds (the third one masked) and the padded prompt: what XLA ``cost_analysis()`` returns
    when a ``lax.scan`` body is counted once."""
    rows = []
    for (model, k), paper in PAPER.items():
        shape = get_shape(model)
        once = replace(shape.scaled(vision_depth=1, llm_depth=1, expert_depth=1), num_steps=1)
        reducer = "dense" if k == "dense" else "grids"
        tokens = 16 if k == "dense" else k
        once_flops = analytic_stages(once, views=3, reducer=reducer, num_tokens=tokens)
        rows.append(
            {
                "model": model,
                "variant": "dense" if k == "dense" else f"GridS-{k}",
                "paper_gflops": paper,
                "full_2views_gflops": analytic_stages(
                    model, views=2, reducer=reducer, num_tokens=tokens
                ).total
                / 1e9,
                "once_3slots_gflops": once_flops.total / 1e9,
                "once_expert_gflops": once_flops.action_expert / 1e9,
            }
        )
    return rows


def flops_part() -> dict:
    rows = []
    for model, shape in SHAPES.items():
        text = shape.text_tokens
        rows.append(_row(model, 2, text, "dense", 16, None, counted=True))
        for k in TOKENS:
            rows.append(_row(model, 2, text, "grids", k, None, counted=True))
    depth = get_shape("pi0").vision.depth
    layers = [0, depth // 3, 2 * depth // 3, depth]
    for layer in layers:
        for k in TOKENS:
            rows.append(_row("pi0", 2, 48, "grids", k, layer, counted=True))
    sweep = []
    for model, shape in SHAPES.items():
        for views in (2, 3):
            for text in (32, 48, 200):
                sweep.append(_row(model, views, text, "dense", 16, None, counted=False))
                for k in TOKENS:
                    sweep.append(_row(model, views, text, "grids", k, None, counted=False))
                    if shape.pixel_shuffle == 1:
                        sweep.append(_row(model, views, text, "grids", k, 0, counted=False))
    # spot-check the formula on a few sweep rows with 3 views / other prompt lengths
    checks = [_row("pi0", 3, 32, "grids", 16, 9, True), _row("pi05", 3, 48, "dense", 16, None, True)]
    checks.append(_row("smolvla", 3, 200, "grids", 4, None, True))
    floors = {m: {t: floor_flops(m, text_tokens=t) for t in (32, 48, 200)} for m in SHAPES}
    return {
        "main": rows,
        "layers": layers,
        "sweep": sweep,
        "checks": checks,
        "floors": floors,
        "paper_fit": paper_fit(),
    }


# ---------------------------------------------------------------------------------------------------


def _t(x: float) -> str:
    return f"{x / 1e12:.3f}"


def _pct(x: float, base: float) -> str:
    return f"{100 * (x / base - 1):+.1f}%"


def render(results: dict) -> str:
    lines = ["# Efficiency: whole-model FLOPs and CPU latency, dense vs reduced", ""]
    lines += [
        f"Generated by `python benchmarks/efficiency.py` (torch {results['torch']}, "
        f"transformers {results['transformers']}, {results['machine']}).",
        "",
        "**Convention.** One multiply-add = 2 FLOPs. Every matrix product counts: linear layers, the",
        "patch-embedding convolution, attention scores and attention-weighted values (eager attention:",
        "the full score matrix). Element-wise ops, norms and softmax are not counted (<1%). One inference",
        "call = the vision tower on every view + the LLM over the whole prefix once (K/V cached) + 10",
        "flow-matching steps of the action expert over the action chunk (50 actions). Batch 1. Counted",
        "with `torch.utils.flop_counter.FlopCounterMode` on the **meta device** (no weight memory), and",
        "checked against the closed-form formula in `grids/efficiency/flops.py`.",
        "",
    ]
    if "flops" in results:
        f = results["flops"]
        worst = max(r["max_rel_diff"] for r in f["main"] + f["checks"])
        lines += [
            f"Meta count vs formula: largest per-stage difference over {len(f['main']) + len(f['checks'])} "
            f"counted configurations = {worst:.2e} of the total.",
            "",
            "## Per stage, 2 views, default prompt (π0: 48 tokens, π0.5: 200, SmolVLA: 48 + 1 state)",
            "",
            "TFLOP per inference call. `floor`: no visual tokens at all (text prefix + action expert).",
            "",
            "| model | variant | vision | projector | reducer | LLM prefix | action expert | **total** | vs dense | paper (G) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for model in SHAPES:
            rows = [r for r in f["main"] if r["model"] == model and r["resample_at_layer"] is None]
            dense = rows[0]["counted"]["total"]
            for r in rows:
                c = r["counted"]
                name = "dense" if r["reducer"] == "dense" else f"GridS-{r['K']}"
                paper = PAPER.get((model, "dense" if r["reducer"] == "dense" else r["K"]))
                cells = " | ".join(f"{c[s] / 1e12:.4f}" for s in STAGES)
                lines.append(
                    f"| {model} | {name} | {cells} | **{_t(c['total'])}** | {_pct(c['total'], dense)} | "
                    f"{paper if paper else ''} |"
                )
            floor = f["floors"][model][str(get_shape(model).text_tokens)]
            lines.append(f"| {model} | floor | 0 | 0 | 0 | | | **{_t(floor)}** | {_pct(floor, dense)} | |")
        lines += [
            "",
            "## Against the paper's Table 1",
            "",
            "| model | variant | paper (GFLOP) | ours, whole model, 2 views (GFLOP) | ours, each layer stack once, "
            "1 flow step, 3 image slots (GFLOP) | that / paper |",
            "|---|---|---|---|---|---|",
        ]
        for r in f["paper_fit"]:
            lines.append(
                f"| {r['model']} | {r['variant']} | {r['paper_gflops']:.2f} | {r['full_2views_gflops']:.1f} | "
                f"{r['once_3slots_gflops']:.2f} | {r['once_3slots_gflops'] / r['paper_gflops']:.3f} |"
            )
        fit = {(r["model"], r["variant"]): r for r in f["paper_fit"]}
        d0, g16 = fit[("pi0", "dense")], fit[("pi0", "GridS-16")]
        worst = max(
            abs(r["once_3slots_gflops"] / r["paper_gflops"] - 1)
            for r in f["paper_fit"]
            if r["model"] != "smolvla"
        )
        main = {(r["model"], r["K"], r["resample_at_layer"]): r["counted"] for r in f["main"]}
        dense, after = main[("pi0", None, None)], main[("pi0", 16, None)]
        lines += [
            "",
            f"**Why the numbers differ.** The paper's π0 column (dense {d0['paper_gflops']:.2f} G, GridS-16 "
            f"{g16['paper_gflops']:.2f} G) is about 1/{d0['full_2views_gflops'] / d0['paper_gflops']:.0f} of a whole "
            f"inference call ({d0['full_2views_gflops']:.0f} G dense here, matching LeRobot's "
            "`PI0Pytorch.sample_actions` counted on meta, 3.073 T). Every π0/π0.5 row is reproduced to within "
            f"{100 * worst:.1f} % by counting each layer stack *once* — one SigLIP block, one Gemma-2B layer, one "
            "action-expert layer, one flow step — over the three image slots openpi feeds (the third one masked "
            f"but computed) and the padded prompt (48 / 200 tokens): {d0['once_3slots_gflops']:.1f} G and "
            f"{g16['once_3slots_gflops']:.1f} G. That is what XLA's `compiled.cost_analysis()`, which the authors' "
            "`flops_test.py` calls, reports for `nn.scan`-ned layers and a `while`-loop sampler: a loop body is "
            "counted once. The *ratio* does not survive: the rule shrinks the action expert, whose cost hardly "
            f"depends on the visual tokens, from {100 * dense['action_expert'] / dense['total']:.0f} % of the dense "
            f"call to {100 * d0['once_expert_gflops'] / d0['once_3slots_gflops']:.0f} % (1 of 18 layers, 1 of 10 steps), so the paper's "
            f"−{100 * (1 - g16['paper_gflops'] / d0['paper_gflops']):.0f} % becomes "
            f"−{100 * (1 - after['total'] / dense['total']):.0f} % for the whole model with 2 views. Resampling inside "
            "the vision encoder, as the abstract describes, wins it back (below). The SmolVLA row (306.78 G) fits "
            "neither this rule nor a whole-model count of LeRobot's SmolVLA shape "
            f"({fit[('smolvla', 'dense')]['full_2views_gflops']:.0f} G for 2 views); we could not tell how it was "
            "measured.",
        ]
        lines += ["", "## Resampling inside the vision encoder (π0, 2 views, 48 text tokens)", ""]
        dense = next(r for r in f["main"] if r["model"] == "pi0" and r["reducer"] == "dense")["counted"][
            "total"
        ]
        floor = f["floors"]["pi0"]["48"]
        lines += [
            f"Dense {_t(dense)} TFLOP; floor {_t(floor)} TFLOP ({_pct(floor, dense)}). `L` = blocks run on all",
            "256 patches before the reducer (L = 27: after the encoder, before the projector).",
            "Cells: total TFLOP, reduction vs dense, and points above the floor's reduction.",
            "",
            "| K \\ L | after projector (paper) | "
            + " | ".join(f"L={layer}" for layer in f["layers"])
            + " |",
            "|---|---|" + "---|" * len(f["layers"]),
        ]
        floor_red = 100 * (1 - floor / dense)
        for k in TOKENS:
            after = next(
                r for r in f["main"] if r["model"] == "pi0" and r["K"] == k and r["resample_at_layer"] is None
            )
            cells = []
            for r in [after] + [
                next(
                    x
                    for x in f["main"]
                    if x["model"] == "pi0" and x["K"] == k and x["resample_at_layer"] == layer
                )
                for layer in f["layers"]
            ]:
                total = r["counted"]["total"]
                red = 100 * (1 - total / dense)
                cells.append(f"{_t(total)} (−{red:.1f}%, {floor_red - red:.1f} pt)")
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        lines += ["", "## Sweep by formula (equal to the meta count wherever both were run)", ""]
        lines += [
            "Reduction of the total vs dense of the same views / prompt; in-encoder = resampled at L=0.",
            "",
            "| model | views | text | dense TFLOP | floor | "
            + " | ".join(f"K={k}" for k in TOKENS)
            + " | "
            + " | ".join(f"K={k} L=0" for k in TOKENS)
            + " |",
            "|---|---|---|---|---|" + "---|" * (2 * len(TOKENS)),
        ]
        for model in SHAPES:
            for views in (2, 3):
                for text in (32, 48, 200):
                    group = [
                        r
                        for r in f["sweep"]
                        if (r["model"], r["views"], r["text_tokens"]) == (model, views, text)
                    ]
                    dense = group[0]["formula"]["total"]
                    floor = f["floors"][model][str(text)]
                    after = [
                        next(r for r in group if r["K"] == k and r["resample_at_layer"] is None)["formula"][
                            "total"
                        ]
                        for k in TOKENS
                    ]
                    inside = [
                        next((r for r in group if r["K"] == k and r["resample_at_layer"] == 0), None)
                        for k in TOKENS
                    ]
                    cells = [_pct(x, dense) for x in after]
                    cells += [_pct(r["formula"]["total"], dense) if r else "n/a" for r in inside]
                    lines.append(
                        f"| {model} | {views} | {text} | {_t(dense)} | {_pct(floor, dense)} | "
                        + " | ".join(cells)
                        + " |"
                    )
    if results.get("latency_from"):
        lines += ["", "## Latency at full depth (from `" + results["latency_from"] + "`)", ""]
        for group in LATENCY_GROUPS:
            path = Path(__file__).parent.parent / results["latency_from"] / group / "latency.md"
            if path.exists():  # without its title (this section's heading), one heading level down
                body = path.read_text().split("\n", 1)[1].lstrip("\n").splitlines()
                lines += [("#" + line if line.startswith("#") else line) for line in body]
    elif "latency" in results:  # the first, reduced-depth run on a loaded machine (until replaced)
        lat = results["latency"]
        d = lat["depths"]
        lines += [
            "",
            "## Latency on this CPU, dense vs reduced, timed alternately in one process",
            "",
            f"π0 shape at **full widths, reduced depth**: SigLIP-so400m {d['vision_depth']} of 27 blocks, Gemma-2B "
            f"prefix {d['llm_depth']} of 18 layers, action expert {d['expert_depth']} of 18 layers; 2 views at 224, "
            f"{lat['text_tokens']} text tokens, {lat['num_steps']} flow steps over 50 actions; random fp32 weights, "
            f"SDPA attention, {lat['threads']} thread, `torch.no_grad()`, `nice -n 10`. Machine: {results['machine']}, "
            "shared with other jobs (1-minute load average before/after each run in the last column). "
            "Each round times every variant once, order reversed every other round; median and IQR.",
            "",
            "| batch | mode | variant | GFLOP (this depth) | median ms | IQR ms | min ms | repeats "
            "| dense / variant (median) | dense / variant (min) | dense / variant (FLOPs) | load before / after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in lat["runs"]:
            fastest_dense = run["rows"][0]["min_ms"]
            for r in run["rows"]:
                mode = "torch.compile" if run["compiled"] else "eager"
                lines.append(
                    f"| {run['batch']} | {mode} | {r['label']} | {r['gflops']:.1f} | {r['median_ms']:.0f} | "
                    f"{r['iqr_ms']:.0f} | {r['min_ms']:.0f} | {r['repeats']} | {r['speedup']:.2f}× | "
                    f"{fastest_dense / r['min_ms']:.2f}× | {r['flops_ratio']:.2f}× | "
                    f"{run['load_average_before'][0]:.1f} / {run['load_average_after'][0]:.1f} |"
                )
    notes = Path(__file__).with_name("efficiency_notes.md")
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    return "\n".join(lines) + "\n"


def latency(args) -> None:
    """Time the full plan group by group; each group resumes from DIR/<group>/latency.json."""
    device = report.resolve_device(args.device)
    gpu = device.type == "cuda"
    depth = None if args.depth == "full" else tuple(int(v) for v in args.depth.split(","))
    for group in args.groups.split(","):
        if group not in LATENCY_GROUPS:
            raise SystemExit(f"--groups: unknown group {group!r}; known: {', '.join(LATENCY_GROUPS)}")
        training = group == "training"
        settings = report.Settings(
            models=tuple(args.models.split(",")),
            depth=depth,
            dtype=(args.training_dtype or ("fp32" if gpu else "bf16")) if training else args.dtype,
            device=str(device),
            checkpointing=training and not args.no_checkpointing,
            warmup=args.warmup,
            repeats=args.repeats,
            threads=args.threads,
        )
        plan = dict(LATENCY_GROUPS[group])
        if args.no_compile:
            plan["compile_modes"] = (False,)
        if args.batches:
            plan["batches"] = tuple(int(v) for v in args.batches.split(","))
        if args.train_batches:
            plan["train_batches"] = tuple(int(v) for v in args.train_batches.split(","))
        runs = report.plan_runs(settings, **plan)
        report.run_plan(settings, runs, out=args.out / group, log=lambda line: print(line, flush=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "flops", "latency", "render"), default="all",
                        help="all = flops + render; latency is long and only runs when asked")  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS / "latency_full", help="latency: results folder")
    parser.add_argument("--latency-from", default=None, help="render: a latency --out folder to include")
    parser.add_argument("--groups", default="inference,training", help="latency: inference, training")
    parser.add_argument("--models", default="pi0,pi05")
    parser.add_argument("--depth", default="full", help="'full' or V,L,E blocks (reduced-depth smoke runs)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="inference weights")
    parser.add_argument("--training-dtype", choices=("fp32", "bf16"), default=None,
                        help="training weights (default: bf16 on CPU, fp32 on a GPU)")  # fmt: skip
    parser.add_argument("--no-checkpointing", action="store_true", help="training without recomputation")
    parser.add_argument("--no-compile", action="store_true", help="inference: eager only")
    parser.add_argument("--batches", default=None, help="inference batch sizes (default: 1,8)")
    parser.add_argument(
        "--train-batches", default=None, help="training batch sizes (default: 8 CPU, 32,128 GPU)"
    )
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.part == "latency":
        latency(args)
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "efficiency.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if args.part in ("all", "flops"):  # the versions and machine are the FLOP count's (latency runs name their own)
        import transformers

        results.update(torch=torch.__version__, transformers=transformers.__version__)
        results["machine"] = f"{platform.machine()} CPU, {os.cpu_count()} cores"
        results["flops"] = json.loads(json.dumps(flops_part()))  # str keys, as when re-read
    if args.latency_from:
        folder = Path(args.latency_from).resolve().relative_to(Path(__file__).resolve().parent.parent)
        results["latency_from"] = str(folder)
    path.write_text(json.dumps(results, indent=1))
    (RESULTS / "efficiency.md").write_text(render(results))
    print(f"wrote {RESULTS / 'efficiency.md'}")


if __name__ == "__main__":
    main()
