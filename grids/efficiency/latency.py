"""Wall-clock latency of dense and reduced variants, timed alternately in one process.

Every variant is built with the same seed (identical backbone weights), warmed up, then timed in
rounds: each round calls every variant once, in alternating order, so drift in machine load (other
jobs, thermal state) hits all variants alike. We report the median and the inter-quartile range.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from grids.efficiency.flops import build_policy, count_stages
from grids.efficiency.shapes import VLAShape, get_shape


@dataclass(frozen=True)
class Variant:
    label: str
    reducer: str = "dense"
    num_tokens: int = 16
    resample_at_layer: int | None = None


def summarize(seconds: list[float]) -> dict[str, float]:
    q1, median, q3 = (
        statistics.quantiles(seconds, n=4, method="inclusive") if len(seconds) > 1 else seconds * 3
    )
    return {
        "median_ms": 1e3 * median,
        "q1_ms": 1e3 * q1,
        "q3_ms": 1e3 * q3,
        "iqr_ms": 1e3 * (q3 - q1),
        "min_ms": 1e3 * min(seconds),
        "repeats": len(seconds),
    }


def time_alternating(
    fns: dict[str, Callable[[], object]], *, warmup: int = 2, repeats: int = 10
) -> dict[str, list[float]]:
    """Seconds per call of each function, measured round-robin (order reversed every other round)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names = list(fns)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            fns[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def measure_latency(
    shape: str | VLAShape,
    variants: list[Variant],
    *,
    views: int = 2,
    batch: int = 1,
    compile: bool = False,
    warmup: int = 2,
    repeats: int = 10,
    threads: int | None = None,
    seed: int = 0,
    attn: str = "sdpa",
) -> list[dict]:
    """Time one inference call (vision -> prefix -> all denoising steps) of each variant on CPU.

    Returns one row per variant: label, timing summary, FLOPs of the timed configuration and the
    dense/variant ratios (against the first variant).
    """
    shape = get_shape(shape) if isinstance(shape, str) else shape
    if threads:
        torch.set_num_threads(threads)
    fns, flops = {}, {}
    for variant in variants:
        options = dict(
            num_views=views,
            reducer=variant.reducer,
            num_tokens=variant.num_tokens,
            resample_at_layer=variant.resample_at_layer,
        )
        torch.manual_seed(seed)
        policy = build_policy(shape, device="cpu", attn=attn, **options)
        flops[variant.label] = count_stages(build_policy(shape, **options), batch=batch).total
        torch.manual_seed(seed + 1)
        inputs = policy.example_inputs(batch)
        module = torch.compile(policy) if compile else policy

        def call(module=module, inputs=inputs):
            with torch.no_grad():
                return module(*inputs)

        fns[variant.label] = call
    samples = time_alternating(fns, warmup=warmup, repeats=repeats)
    rows, base = [], variants[0].label
    base_median = statistics.median(samples[base])
    for variant in variants:
        row = {
            "label": variant.label,
            "batch": batch,
            "compiled": compile,
            "gflops": flops[variant.label] / 1e9,
            **summarize(samples[variant.label]),
        }
        row["speedup"] = base_median / statistics.median(samples[variant.label])
        row["flops_ratio"] = flops[base] / flops[variant.label]
        rows.append(row)
    return rows
