"""A latency plan: several runs (model x mode x batch x eager/compiled), resumable, JSON + markdown.

    settings = Settings(models=("pi0",), depth=None, dtype="fp32", device="cpu")
    runs = plan_runs(settings, modes=("inference", "training"), batches=(1, 8), train_batches=(8,),
                     compile_modes=(False, True))
    run_plan(settings, runs, out=Path("latency-out"))     # out/latency.json + out/latency.md

One *run* times every variant of one model, interleaved, for one (mode, batch, eager/compiled). It is
the unit that is saved and resumed: a run found in ``out/latency.json`` is skipped, so a killed job
restarts where it stopped; an ``out`` holding results of other settings is refused. Each run records
the 1-minute load average before, after and at every round, and the peak memory of the process.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import platform
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from grids.efficiency.flops import build_shaped_policy
from grids.efficiency.latency import (
    STAGES,
    TARGET,
    Variant,
    default_dtype,
    measure_run,
    resolve_device,
    step_memory,
)
from grids.efficiency.shapes import VLAShape, get_shape

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
DEFAULT_VARIANTS = ("dense", "grids-16", "grids-16@0", "grids-4@0")
PAPER_TRAINING_GAIN = {"pi0": 3.4, "pi05": 2.9}  # the paper's training-throughput gains (issue 14)
GiB = 2**30


@dataclass(frozen=True)
class Settings:
    """What every run of a plan shares; a resumed ``out`` must hold results of the same settings."""

    models: tuple[str, ...] = ("pi0",)
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    depth: tuple[int, int, int] | None = None  # (vision, llm, expert) blocks; None = full depth
    dtype: str = "fp32"
    device: str = "cpu"
    checkpointing: bool = False
    views: int = 2
    warmup: int = 1
    repeats: int = 5
    threads: int | None = None
    attn: str = "sdpa"
    seed: int = 0

    def shape(self, model: str) -> VLAShape:
        shape = get_shape(model)
        if self.depth is None:
            return shape
        vision, llm, expert = self.depth
        return shape.scaled(vision_depth=vision, llm_depth=llm, expert_depth=expert)

    def parsed_variants(self) -> list[Variant]:
        variants = [Variant.parse(v) for v in self.variants]
        if variants[0].label != "dense":
            raise ValueError(
                f"the first variant is the reference and must be 'dense', got {variants[0].label!r}"
            )
        return variants

    def comparable(self) -> dict:
        """The settings a resumed run must share (threads and repeats included: they change the numbers)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()} | {
            "models": None  # more models may be added to an out directory
        }


@dataclass(frozen=True)
class LatencyRun:
    """One run of a latency plan: every variant of ``model``, timed interleaved, for one mode / batch / compile."""

    model: str
    mode: str
    batch: int
    compiled: bool

    @property
    def key(self) -> str:
        return f"{self.model}/{self.mode}/batch{self.batch}/{'compiled' if self.compiled else 'eager'}"


def plan_runs(
    settings: Settings,
    *,
    modes: tuple[str, ...] = ("inference",),
    batches: tuple[int, ...] = (1, 8),
    train_batches: tuple[int, ...] | None = None,
    compile_modes: tuple[bool, ...] = (False,),
    train_compile_modes: tuple[bool, ...] | None = None,
) -> list[LatencyRun]:
    """Every (model, mode, batch, compiled) run; training batches default to 8 on CPU, 32 and 128 on GPU."""
    if train_batches is None:
        train_batches = (32, 128) if resolve_device(settings.device).type == "cuda" else (8,)
    runs = []
    for model in settings.models:
        for mode in modes:
            for compiled in compile_modes if mode == "inference" else (train_compile_modes or compile_modes):
                for batch in batches if mode == "inference" else train_batches:
                    runs.append(LatencyRun(model, mode, batch, compiled))
    for run in runs:
        if run.batch < 1:
            raise ValueError(f"batch sizes must be >= 1, got {run.batch}")
    return runs


# ---------------------------------------------------------------------------------------------------
# Estimates (meta device: seconds, no weight memory)


def estimate(settings: Settings, runs: list[LatencyRun]) -> dict[str, dict]:
    """Per model: FLOPs of each run's variants and the memory the model's heaviest run needs.
    Memory = weights (held once: variants share them) + the largest traced tensor peak of any variant."""
    from grids.efficiency.latency import step_flops

    dtype = DTYPES[settings.dtype]
    out: dict[str, dict] = {}
    for model in dict.fromkeys(r.model for r in runs):
        shape, entry = settings.shape(model), {"runs": {}}
        weights, peak = 0.0, 0.0
        seen: dict[tuple[str, int], dict] = {}  # compiling changes neither FLOPs nor tensors
        for run in (r for r in runs if r.model == model):
            if (run.mode, run.batch) in seen:
                entry["runs"][run.key] = seen[run.mode, run.batch]
                continue
            ckpt = settings.checkpointing and run.mode == "training"
            flops = {}
            for variant in settings.parsed_variants():
                options = dict(mode=run.mode, batch=run.batch, views=settings.views, checkpointing=ckpt)
                flops[variant.label] = step_flops(shape, variant, **options)["total"]
                memory = step_memory(shape, variant, dtype=dtype, **options)
                weights, peak = max(weights, memory["weights"]), max(peak, memory["peak_tensors"])
            entry["runs"][run.key] = seen[run.mode, run.batch] = {
                "tflops": {k: v / 1e12 for k, v in flops.items()}
            }
        entry.update(
            weights_gib=weights / GiB, peak_tensors_gib=peak / GiB, need_gib=(weights + peak) / GiB + 1
        )
        out[model] = entry
    return out


def calibrate_gflops(dtype: str = "fp32", seconds: float = 2.0, device: str = "cpu") -> float:
    """GFLOP/s of a Gemma-sized matrix product ``[560, 2048] x [2048, 8192]`` on this machine now."""
    device = resolve_device(device)
    a = torch.randn(560, 2048, dtype=DTYPES[dtype], device=device)
    b = torch.randn(2048, 8192, dtype=DTYPES[dtype], device=device)
    a @ b
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        calls += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return 2 * 560 * 2048 * 8192 * calls / (time.perf_counter() - start) / 1e9


def estimated_hours(settings: Settings, estimates: dict, gflops: float, efficiency: float = 0.6) -> dict:
    """Hours per run if the whole model ran at ``efficiency`` x the calibrated GFLOP/s (eager; compiling
    adds minutes per variant). On a 2-core CPU the action expert's small matrices and attention run
    below that, so read it as the order of magnitude."""
    rounds = settings.warmup + settings.repeats
    return {
        key: rounds * sum(run["tflops"].values()) * 1e3 / (gflops * efficiency) / 3600
        for model in estimates.values()
        for key, run in model["runs"].items()
    }


def available_memory_gib(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0] / GiB
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 / GiB
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------------------------------
# Running


def _environment(settings: Settings, device: torch.device) -> dict:
    import transformers

    env = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def _peak_memory_gib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / GiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GiB  # Linux: KiB


def load_results(out: Path, settings: Settings) -> dict:
    path = out / "latency.json"
    if not path.exists():
        return {"settings": settings.comparable(), "runs": []}
    results = json.loads(path.read_text())
    if results.get("settings") != settings.comparable():
        raise ValueError(
            f"{path} holds results of other settings ({results.get('settings')}); "
            f"pick a new --out for these ({settings.comparable()})"
        )
    return results


def save_results(out: Path, results: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "latency.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(out / "latency.json")  # atomic: a killed job leaves the previous file whole
    (out / "latency.md").write_text(render(results))


def run_plan(
    settings: Settings, runs: list[LatencyRun], *, out: Path, check_memory: bool = True, log=print
) -> dict:
    """Run every run not yet in ``out/latency.json``, saving after each; returns the results."""
    device = resolve_device(settings.device)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    results = load_results(out, settings)
    done = {r["key"] for r in results["runs"]}
    todo = [r for r in runs if r.key not in done]
    if len(todo) < len(runs):
        log(
            f"{out}: {len(runs) - len(todo)} run(s) already done, skipped (use a new --out for fresh numbers)"
        )
    environment = _environment(settings, device)
    for finished in results[
        "runs"
    ]:  # runs of earlier invocations keep the environment their file was saved with
        finished.setdefault("environment", results.get("environment", environment))
    results["environment"] = environment
    for model in dict.fromkeys(r.model for r in todo):
        model_runs = [r for r in todo if r.model == model]
        base = _build_base(settings, model, model_runs, device, check_memory=check_memory, log=log)
        for run in model_runs:
            results["runs"].append(_measure(settings, run, base, device, environment))
            save_results(out, results)
            measured = results["runs"][-1]
            totals = {k: round(v["stages"]["total"]["median_ms"]) for k, v in measured["variants"].items()}
            load_before = measured["load_before"]
            log(f"{run.key}: median ms {totals}, load {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}")
        del base
        gc.collect()
    save_results(out, results)
    return results


def _build_base(settings: Settings, model: str, runs: list[LatencyRun], device, *, check_memory: bool, log):
    """The dense policy every variant of ``model`` shares, once its heaviest run is known to fit in memory."""
    need = estimate(settings, runs)[model]["need_gib"]
    free = available_memory_gib(device)
    log(f"{model}: needs about {need:.1f} GiB (estimate), {free or float('nan'):.1f} GiB available")
    if check_memory and free is not None and need > free:
        raise ValueError(
            f"{model} needs about {need:.1f} GiB but {free:.1f} GiB is available on {device}: use "
            "--dtype bf16 and/or --checkpointing, fewer/smaller batches, or a GPU (--no-memory-check to try anyway)"
        )
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    with default_dtype(DTYPES[settings.dtype]):
        base = build_shaped_policy(
            settings.shape(model), device=device, num_views=settings.views, attn=settings.attn
        )
    log(f"{model}: built in {time.perf_counter() - start:.0f} s")
    return base


def _measure(settings: Settings, run: LatencyRun, base, device, environment: dict) -> dict:
    """One run's record: its timings (:func:`measure_run`) with the load average, peak memory and environment."""
    loads = []
    load_before = list(os.getloadavg())
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    measured = measure_run(
        base,
        settings.parsed_variants(),
        mode=run.mode,
        batch=run.batch,
        compiled=run.compiled,
        checkpointing=settings.checkpointing and run.mode == "training",
        device=device,
        warmup=settings.warmup,
        repeats=settings.repeats,
        seed=settings.seed,
        on_round=lambda i, loads=loads: loads.append(os.getloadavg()[0]),
    )
    return {
        "key": run.key,
        **dataclasses.asdict(run),
        "shape": settings.shape(run.model).name,
        **measured,
        "seconds": time.perf_counter() - start,
        "load_before": load_before,
        "load_after": list(os.getloadavg()),
        "load_max_1min": max(loads, default=load_before[0]),
        "peak_memory_gib": _peak_memory_gib(device),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
        "environment": environment,
    }


# ---------------------------------------------------------------------------------------------------
# Markdown


def _ms(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def render(results: dict) -> str:
    lines = _preamble(results["settings"], results.get("environment", {}))
    for run in results["runs"]:
        stages = STAGES[run["mode"]]
        lines += ["", *_run_heading(run), "", *_timing_table(run, stages), "", *_ratio_table(run, stages)]
    return "\n".join(lines) + "\n"


def _preamble(s: dict, env: dict) -> list[str]:
    """The title and what every run shares: depth, dtype, device, timer, protocol, the ratios' meaning."""
    full = s["depth"] is None
    depth = (
        "full depth"
        if full
        else f"REDUCED depth (vision/LLM/expert blocks = {'/'.join(map(str, s['depth']))})"
    )
    device = env.get("gpu") or f"CPU ({env.get('machine', '?')}, {env.get('cpu_count', '?')} cores)"
    timer = "CUDA events" if str(env.get("device", "")).startswith("cuda") else "wall clock (perf_counter)"
    lines = [
        "# Latency, dense vs reduced, per stage",
        "",
        f"{depth}, random weights, {s['dtype']} weights, {s['views']} views, attention `{s['attn']}`; device: "
        f"{device}, {env.get('threads', '?')} torch threads; timer: {timer}; torch {env.get('torch', '?')}, "
        f"transformers {env.get('transformers', '?')} (the last invocation's; each run names its own below).",
        f"Variants share one copy of the backbone weights and run interleaved (order reversed every other "
        f"round): {s['warmup']} warm-up + {s['repeats']} timed rounds per run; cells are medians. "
        "`@L`: resampled inside the vision encoder before block L; no `@`: after the projector (the paper's "
        "placement).",
        "Inference = vision tower (+ projector, reducer), LLM prefill of the prefix (K/V cached), 10 Euler "
        "steps of the action expert. Training = the same forward with one expert pass at a random time "
        "(flow-matching MSE), then backward (all weights; no optimizer step)"
        + (", gradient checkpointing of SigLIP and LLM blocks" if s["checkpointing"] else "")
        + ".",
        f"Ratios are dense / variant. `lat/FLOP` = latency ratio / FLOP ratio; target (issue 14): ≥ {TARGET} "
        "at batch 1. FLOPs: the same step counted on the meta device (training: backward"
        + (" and recomputation" if s["checkpointing"] else "")
        + " included).",
    ]
    if not full:
        lines += [
            "",
            "**Reduced depth: stage shares and ratios are not the full model's.** Smoke numbers only.",
        ]
    return lines


def _run_heading(run: dict) -> list[str]:
    load = f"{run['load_before'][0]:.1f} / {run['load_max_1min']:.1f} / {run['load_after'][0]:.1f}"
    mode = "torch.compile (regional)" if run["compiled"] else "eager"
    return [
        f"## {run['model']} {run['mode']}, batch {run['batch']}, {mode}",
        "",
        f"Shape {run['shape']}; 1-min load average before / max / after: {load}; peak memory "
        f"{run['peak_memory_gib']:.1f} GiB; warm-up {run['warmup_seconds']:.0f} s; run {run['seconds']:.0f} s; "
        f"finished {run['finished']}"
        + (
            f" (torch {env_run['torch']}, transformers {env_run['transformers']})"
            if (env_run := run.get("environment"))
            else ""
        )  # fmt: skip
        + "."
        + (f" Dynamo graphs so far: {run['dynamo_unique_graphs']}." if "dynamo_unique_graphs" in run else ""),
    ]


def _timing_table(run: dict, stages: tuple[str, ...]) -> list[str]:
    """Median milliseconds per stage (and its share of the total), spread and FLOPs, per variant."""
    lines = [
        "| variant | "
        + " | ".join(f"{st} ms (share)" for st in stages)
        + " | total ms | IQR ms | min–max ms | TFLOP |",
        "|---|" + "---:|" * (len(stages) + 4),
    ]
    for label, row in run["variants"].items():
        total = row["stages"]["total"]
        cells = [
            f"{_ms(row['stages'][st]['median_ms'])} ({100 * row['stages'][st]['median_ms'] / total['median_ms']:.0f}%)"
            for st in stages
        ]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {_ms(total['median_ms'])} | {_ms(total['iqr_ms'])} | {_ms(total['min_ms'])}–"
            f"{_ms(total['max_ms'])} | {row['flops']['total'] / 1e12:.2f} |"
        )
    return lines


def _ratio_table(run: dict, stages: tuple[str, ...]) -> list[str]:
    """Dense / variant latency and FLOP ratios per stage and in total, against the target and the paper."""
    paper = PAPER_TRAINING_GAIN.get(run["model"]) if run["mode"] == "training" else None
    lines = [
        "| variant | "
        + " | ".join(f"{st} lat× / FLOP×" for st in stages)
        + " | **total lat×** | total FLOP× | lat/FLOP | "
        + ("≥ 0.8? |" if run["batch"] == 1 else "")
        + (" paper (training) |" if paper else ""),
        "|---|"
        + "---:|" * (len(stages) + 3)
        + ("---|" if run["batch"] == 1 else "")
        + ("---:|" if paper else ""),
    ]
    for label, r in run["ratios"].items():
        if label == next(iter(run["ratios"])):
            continue
        cells = []
        for st in stages:
            ratio = r["stages"][st]
            flop = f"{ratio['flop_ratio']:.2f}" if ratio["flop_ratio"] else "–"
            cells.append(f"{ratio['latency_ratio']:.2f} / {flop}")
        flag = (" yes |" if r["meets_target"] else " **no** |") if run["batch"] == 1 else ""
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | **{r['latency_ratio']:.2f}** | {r['flop_ratio']:.2f} | {r['efficiency']:.2f} |"
            + flag
            + (f" {paper}× |" if paper else "")
        )
    return lines


__all__ = [
    "DEFAULT_VARIANTS",
    "DTYPES",
    "PAPER_TRAINING_GAIN",
    "LatencyRun",
    "Settings",
    "calibrate_gflops",
    "estimate",
    "estimated_hours",
    "load_results",
    "plan_runs",
    "render",
    "run_plan",
    "save_results",
]
