"""``grids flops`` and ``grids latency``: whole-model FLOPs per stage, and dense-vs-reduced CPU latency.

grids flops --model pi0 --views 2 --reducer grids --tokens 16 [--resample-at-layer 0]
grids latency --model pi0 --reducer grids --tokens 16 --resample-at-layer 0 --batch 1 [--compile]
"""

from __future__ import annotations

import argparse
import json

MODELS = ("pi0", "pi05", "smolvla")


def _add_variant_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="pi0", help="VLA shape (default: pi0)")
    parser.add_argument("--views", type=int, default=2, help="camera views per sample (default: 2)")
    parser.add_argument("--reducer", default="grids", help="registered reducer name (default: grids)")
    parser.add_argument("--tokens", type=int, default=16, help="K, tokens kept per view (default: 16)")
    parser.add_argument("--text-tokens", type=int, default=None, help="prompt length (default: the model's)")
    parser.add_argument(
        "--resample-at-layer",
        type=int,
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

    latency = subparsers.add_parser("latency", help="CPU latency of dense vs reduced, timed alternately")
    _add_variant_args(latency)
    latency.add_argument("--vision-depth", type=int, default=2, help="SigLIP blocks kept (full: 27 / 12)")
    latency.add_argument("--llm-depth", type=int, default=1, help="LLM layers kept (full: 18 / 16)")
    latency.add_argument(
        "--expert-depth", type=int, default=1, help="action-expert layers kept (full: 18 / 16)"
    )
    latency.add_argument("--compile", action="store_true", help="time torch.compile'd modules")
    latency.add_argument("--warmup", type=int, default=1)
    latency.add_argument("--repeats", type=int, default=5)
    latency.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    latency.set_defaults(func=run_latency)


def _check_variant(args) -> None:
    """Bad flags fail here: before a wrong table is printed, or a full-width model is built (seconds)."""
    from grids.core import list_reducers

    if args.reducer not in list_reducers():
        raise ValueError(f"unknown reducer {args.reducer!r}; registered: {', '.join(list_reducers())}")
    for flag, value in (("--tokens", args.tokens), ("--views", args.views), ("--batch", args.batch)):
        if value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")


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


def run_latency(args) -> int:
    _check_variant(args)
    from grids.efficiency.latency import Variant, measure_latency
    from grids.efficiency.shapes import get_shape

    shape = get_shape(args.model).scaled(
        vision_depth=args.vision_depth, llm_depth=args.llm_depth, expert_depth=args.expert_depth
    )
    if args.text_tokens:
        from dataclasses import replace

        shape = replace(shape, text_tokens=args.text_tokens)
    where = "" if args.resample_at_layer is None else f" L={args.resample_at_layer}"
    variants = [
        Variant("dense"),
        Variant(f"{args.reducer}-{args.tokens}{where}", args.reducer, args.tokens, args.resample_at_layer),
    ]
    rows = measure_latency(
        shape,
        variants,
        views=args.views,
        batch=args.batch,
        compile=args.compile,
        warmup=args.warmup,
        repeats=args.repeats,
        threads=args.threads,
    )
    if args.json:
        print(json.dumps(rows))
        return 0
    mode = "torch.compile" if args.compile else "eager"
    print(f"{shape.name}: full widths, {args.views} views, batch {args.batch}, {mode}, fp32, CPU")
    print(f"{'variant':<28}{'GFLOP':>9}{'median ms':>11}{'IQR ms':>9}{'speed-up':>10}{'FLOPs ratio':>13}")
    for r in rows:
        print(
            f"{r['label']:<28}{r['gflops']:>9.1f}{r['median_ms']:>11.1f}{r['iqr_ms']:>9.1f}"
            f"{r['speedup']:>9.2f}x{r['flops_ratio']:>12.2f}x"
        )
    return 0
