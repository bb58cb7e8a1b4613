"""Latency of dense and reduced variants of a VLA shape, per stage, inference and training.

    inference  one action chunk: vision (tower + projector + reducer), prefix (LLM prefill, K/V cached),
               expert (``num_steps`` Euler steps of the action expert over the cached prefix)
    training   one flow-matching step, forward + backward (no optimizer): vision, prefix, expert (one
               pass at a random time + MSE loss), backward

Fairness. Every variant is a :meth:`VLAShapedPolicy.with_reducer` copy of one dense policy, so all
variants run on the same backbone tensors (held in memory once). Each round calls every variant once,
in an order reversed every other round, so drift in machine load hits all variants alike; we report
the median, the inter-quartile range and min/max over rounds.

Timers. On CPU, ``time.perf_counter`` around each stage (CPU kernels are synchronous). On CUDA,
events recorded on the current stream around each stage and read after one synchronize at the end of
the call, so stages are not separated by syncs. :func:`make_timer` picks one from the device.

FLOPs and memory of the very same step functions are counted on the meta device (no weight memory):
:func:`step_flops` per stage with ``FlopCounterMode``, :func:`step_memory` by tracing the bytes of
live tensors.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

from grids.core import set_value_checks
from grids.core.validation import value_checks_enabled
from grids.efficiency.flops import build_shaped_policy
from grids.efficiency.shapes import VLAShape, get_shape
from grids.efficiency.vla import VLAShapedPolicy

STAGES = {"inference": ("vision", "prefix", "expert"), "training": ("vision", "prefix", "expert", "backward")}
TARGET = 0.8  # latency ratio wanted >= TARGET x FLOP ratio, at batch 1 (issue 14)


# ---------------------------------------------------------------------------------------------------
# Variants


@dataclass(frozen=True)
class Variant:
    label: str
    reducer: str = "dense"
    num_tokens: int = 16
    resample_at_layer: int | None = None

    @classmethod
    def parse(cls, spec: str) -> Variant:
        """``"dense"``, ``"REDUCER-K"`` (after the encoder) or ``"REDUCER-K@L"`` (before vision block L)."""
        from grids.core import list_reducers

        spec = spec.strip()
        if spec == "dense":
            return cls("dense")
        name, at, layer = spec.partition("@")
        reducer, _, tokens = name.rpartition("-")
        if not reducer or not tokens.isdigit() or (at and not layer.isdigit()):
            raise ValueError(
                f"variant {spec!r}: expected 'dense', 'REDUCER-K' or 'REDUCER-K@L' (e.g. grids-16@0)"
            )
        if reducer not in list_reducers():
            raise ValueError(
                f"variant {spec!r}: unknown reducer {reducer!r}; registered: {', '.join(list_reducers())}"
            )
        if int(tokens) < 1:
            raise ValueError(f"variant {spec!r}: K must be >= 1, got {tokens}")
        return cls(spec, reducer, int(tokens), int(layer) if at else None)

    def options(self) -> dict:
        return dict(
            reducer=self.reducer, num_tokens=self.num_tokens, resample_at_layer=self.resample_at_layer
        )


def build_variants(
    base: VLAShapedPolicy, variants: list[Variant], *, seed: int = 0, compiled: bool = False
) -> dict[str, VLAShapedPolicy]:
    """One weight-sharing copy of ``base`` (built dense) per variant; reducers seeded alike."""
    policies = {}
    for variant in variants:
        torch.manual_seed(seed)
        policy = base.with_reducer(**variant.options())
        if compiled:
            compile_blocks(policy)
        policies[variant.label] = policy
    return policies


def compile_blocks(policy: VLAShapedPolicy) -> None:
    """Regional compilation: ``torch.compile`` each repeated block (SigLIP, LLM, expert), as PyTorch
    recommends for stacks of identical layers: a block is compiled once per input shape and the code is
    reused by every block of its stack. Glue (projector, reducer outside the encoder, time MLP) stays eager."""
    import torch._dynamo.config as dynamo

    blocks = policy.blocks()
    # One graph per block type, token count and batch, and, for HF decoder layers, per layer too: a layer's
    # index (for the K/V cache) is an int attribute that dynamo specialises on. The LLM's and the expert's layers
    # share one code object, so full-depth π0 needs (18 + 18) layers × 3 prefix lengths × 2 batches = 216 graphs
    # of it (a limit of 64 failed there). Each re-trace hits Inductor's cache: about a second on the CPU.
    dynamo.recompile_limit = max(dynamo.recompile_limit, 16 * len(blocks))
    dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, 4096, 32 * len(blocks))
    dynamo.fail_on_recompile_limit_hit = True  # never time a block that silently fell back to eager
    for block in blocks:
        block.compile(dynamic=False)


# ---------------------------------------------------------------------------------------------------
# Timers


class WallClock:
    """Stage times on CPU: ``perf_counter`` (CPU ops run synchronously)."""

    def begin(self) -> None:
        self._spans: dict[str, tuple[float, float]] = {}
        self._start = time.perf_counter()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self._spans[name] = (start, time.perf_counter())

    def end(self) -> dict[str, float]:
        total = time.perf_counter() - self._start
        return {**{name: b - a for name, (a, b) in self._spans.items()}, "total": total}


class CudaEvents:
    """Stage times on a GPU: CUDA events on the current stream, read after one synchronize at the end."""

    def __init__(self, device: torch.device):
        self.device = device

    def _event(self):
        event = torch.cuda.Event(enable_timing=True)
        event.record()
        return event

    def begin(self) -> None:
        self._spans: dict[str, tuple] = {}
        self._start = self._event()

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = self._event()
        yield
        self._spans[name] = (start, self._event())

    def end(self) -> dict[str, float]:
        stop = self._event()
        torch.cuda.synchronize(self.device)
        times = {name: a.elapsed_time(b) / 1e3 for name, (a, b) in self._spans.items()}  # ms -> s
        return {**times, "total": self._start.elapsed_time(stop) / 1e3}


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"``: the GPU if one is visible, else the CPU; ``"cuda"`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda[:N], got {name!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA device is available here")
    return device


def make_timer(device: torch.device) -> WallClock | CudaEvents:
    return CudaEvents(device) if device.type == "cuda" else WallClock()


# ---------------------------------------------------------------------------------------------------
# The two steps; ``stage(name)`` is a context manager wrapped around each stage (a timer, a FLOP counter)


def make_inputs(policy: VLAShapedPolicy, mode: str, batch: int, *, device=None, dtype=None) -> tuple:
    """Random inputs: ``(images, text, state, noise)``; training adds ``(actions, t)``."""
    inputs = policy.example_inputs(batch, device=device, dtype=dtype)
    if mode == "training":
        actions = torch.randn_like(inputs[3])
        t = torch.rand(batch, device=device, dtype=dtype) * 0.999 + 0.001  # openpi: t in (0.001, 1]
        inputs = (*inputs, actions, t)
    return inputs


def inference_step(policy: VLAShapedPolicy, inputs: tuple, stage) -> torch.Tensor:
    images, text, state, noise = inputs
    with torch.no_grad():
        with stage("vision"):
            tokens = policy.reduce(policy.project(policy.encode_images(images)))
        with stage("prefix"):
            cache = policy.prefill(policy.build_prefix(tokens, text, state))
        with stage("expert"):
            return policy.expert(cache, state, noise)


def training_step(policy: VLAShapedPolicy, inputs: tuple, stage) -> torch.Tensor:
    images, text, state, noise, actions, t = inputs
    with stage("vision"):
        tokens = policy.reduce(policy.project(policy.encode_images(images)))
    with stage("prefix"):
        cache = policy.prefill(policy.build_prefix(tokens, text, state))
    with stage("expert"):
        loss = policy.expert.loss(cache, state, actions, noise, t)
    with stage("backward"):
        loss.backward()
    return loss.detach()


STEPS = {"inference": inference_step, "training": training_step}


def prepare(policy: VLAShapedPolicy, mode: str, *, checkpointing: bool = False) -> VLAShapedPolicy:
    """Put a policy in the mode's state: eval for inference; train (+ checkpointing) for training."""
    if mode not in STEPS:
        raise ValueError(f"mode must be one of {', '.join(STEPS)}, got {mode!r}")
    if mode == "training":
        policy.train()
        if checkpointing:
            policy.enable_gradient_checkpointing()
    else:
        policy.eval()
    return policy


def timed_call(policy: VLAShapedPolicy, mode: str, inputs: tuple, timer) -> dict[str, float]:
    """One step under ``timer``: seconds per stage and in total (gradients are freed first, untimed)."""
    if mode == "training":
        policy.zero_grad(set_to_none=True)
    timer.begin()
    STEPS[mode](policy, inputs, timer.stage)
    return timer.end()


# ---------------------------------------------------------------------------------------------------
# FLOPs and memory of one step, on the meta device


@contextlib.contextmanager
def _no_value_checks() -> Iterator[None]:
    checks = value_checks_enabled()
    set_value_checks(False)  # value checks read tensor values; meta tensors have none
    try:
        yield
    finally:
        set_value_checks(checks)


def _meta_policy(shape, variant: Variant, mode: str, views: int, checkpointing: bool) -> VLAShapedPolicy:
    policy = build_shaped_policy(shape, device="meta", num_views=views, attn="eager", **variant.options())
    return prepare(policy, mode, checkpointing=checkpointing)


def step_flops(
    shape: VLAShape,
    variant: Variant,
    *,
    mode: str = "inference",
    batch: int = 1,
    views: int = 2,
    checkpointing: bool = False,
) -> dict[str, float]:
    """FLOPs per stage (and total) of one step, counted on meta with the step function that is timed.
    Training counts the backward pass, and the recomputation when ``checkpointing``."""
    policy = _meta_policy(shape, variant, mode, views, checkpointing)
    inputs = make_inputs(policy, mode, batch, device="meta")
    flops: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        with FlopCounterMode(display=False) as counter:
            yield
        flops[name] = float(counter.get_total_flops())

    with _no_value_checks():
        STEPS[mode](policy, inputs, stage)
    return {**flops, "total": sum(flops.values())}


class _LiveBytes(TorchDispatchMode):
    """Peak bytes of the tensors created inside the mode and still referenced (weights not included)."""

    def __init__(self, existing: list[torch.Tensor] = ()):
        super().__init__()
        self.live: dict[int, int] = {}
        self.now = self.peak = 0
        # views of weights (``weight.t()`` inside a linear layer) share the weights' storage: not new bytes
        self.existing = {t.untyped_storage()._cdata for t in existing}

    def _free(self, key: int) -> None:
        self.now -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                key = storage._cdata
                if key not in self.live and key not in self.existing:
                    self.live[key] = storage.nbytes()
                    self.now += self.live[key]
                    self.peak = max(self.peak, self.now)
                    weakref.finalize(storage, self._free, key)  # storage objects are unique: fires when freed
        return out


def step_memory(
    shape: VLAShape,
    variant: Variant,
    *,
    mode: str = "inference",
    batch: int = 1,
    views: int = 2,
    dtype: torch.dtype = torch.float32,
    checkpointing: bool = False,
) -> dict[str, float]:
    """Bytes of one step, traced on meta: ``weights`` (every parameter and buffer), ``peak_tensors``
    (activations, K/V cache, and in training the gradients, at their peak). Traced with eager
    attention (SDPA reads mask values, which meta tensors lack), so the score matrices count: a little
    more than the SDPA runs hold. Not counted: the allocator's slack, library workspaces and the
    Python process (~1 GB)."""
    with default_dtype(dtype):
        policy = _meta_policy(shape, variant, mode, views, checkpointing)
    tensors = [*policy.parameters(), *policy.buffers()]
    weights = sum(t.numel() * t.element_size() for t in tensors)
    tracer = _LiveBytes(existing=tensors)
    with _no_value_checks(), tracer:
        inputs = make_inputs(policy, mode, batch, device="meta", dtype=dtype)
        out = STEPS[mode](policy, inputs, lambda name: contextlib.nullcontext())
    del out
    return {"weights": float(weights), "peak_tensors": float(tracer.peak)}


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


# ---------------------------------------------------------------------------------------------------
# Rounds, summaries and ratios


def time_alternating(
    fns: dict[str, Callable[[], object]],
    *,
    warmup: int = 2,
    repeats: int = 10,
    on_round: Callable[[int], None] | None = None,
) -> dict[str, list[dict[str, float]]]:
    """Per call of each function, its ``{stage: seconds, "total": seconds}``, measured round-robin
    (order reversed every other round), garbage collection off during a call. A function that returns
    no dict is timed as a whole."""

    def call(fn) -> dict[str, float]:
        gc.collect()  # as timeit does: no garbage collection inside a timed call
        gc.disable()
        try:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
        finally:
            gc.enable()
        return result if isinstance(result, dict) else {"total": elapsed}

    for fn in fns.values():
        for _ in range(warmup):
            call(fn)
    names = list(fns)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_index in range(repeats):
        for name in names if round_index % 2 == 0 else names[::-1]:
            samples[name].append(call(fns[name]))
        if on_round is not None:
            on_round(round_index)
    return samples


def summarize(seconds: list[float]) -> dict[str, float]:
    """Median, quartiles (inclusive method), IQR, min and max in milliseconds."""
    if not seconds:
        raise ValueError("summarize needs at least one sample")
    q1, median, q3 = (
        statistics.quantiles(seconds, n=4, method="inclusive") if len(seconds) > 1 else seconds * 3
    )
    return {
        "median_ms": 1e3 * median,
        "q1_ms": 1e3 * q1,
        "q3_ms": 1e3 * q3,
        "iqr_ms": 1e3 * (q3 - q1),
        "min_ms": 1e3 * min(seconds),
        "max_ms": 1e3 * max(seconds),
        "repeats": len(seconds),
    }


def ratios(
    times: dict[str, dict[str, float]],
    flops: dict[str, dict[str, float]],
    *,
    base: str = "dense",
    target: float = TARGET,
) -> dict[str, dict]:
    """Speed-ups against ``base`` next to FLOP ratios, per stage and in total.

    ``times[label][stage]`` (e.g. medians) and ``flops[label][stage]``, with a ``"total"`` entry each.
    For every label: ``latency_ratio = time(base) / time(label)``, ``flop_ratio = flops(base) /
    flops(label)``, ``efficiency = latency_ratio / flop_ratio`` (1: time fell as much as FLOPs did) and
    ``meets_target = efficiency >= target``; ``stages`` holds the per-stage latency and FLOP ratios.
    """
    if base not in times or base not in flops:
        raise ValueError(
            f"base variant {base!r} missing: have {sorted(times)} timed, {sorted(flops)} counted"
        )
    out = {}
    for label, stage_times in times.items():
        stages = {
            stage: {
                "latency_ratio": times[base][stage] / seconds if seconds > 0 else float("inf"),
                "flop_ratio": flops[base][stage] / flops[label][stage] if flops[label].get(stage) else None,
            }
            for stage, seconds in stage_times.items()
            if stage != "total"
        }
        latency_ratio = times[base]["total"] / stage_times["total"]
        flop_ratio = flops[base]["total"] / flops[label]["total"]
        out[label] = {
            "latency_ratio": latency_ratio,
            "flop_ratio": flop_ratio,
            "efficiency": latency_ratio / flop_ratio,
            "meets_target": latency_ratio >= target * flop_ratio,
            "stages": stages,
        }
    return out


# ---------------------------------------------------------------------------------------------------
# One run: every variant, one mode / batch / compile setting, interleaved


def measure_run(
    base: VLAShapedPolicy,
    variants: list[Variant],
    *,
    mode: str = "inference",
    batch: int = 1,
    compiled: bool = False,
    checkpointing: bool = False,
    device: torch.device | str = "cpu",
    warmup: int = 1,
    repeats: int = 5,
    seed: int = 0,
    on_round: Callable[[int], None] | None = None,
) -> dict:
    """Time every variant of ``base`` (a dense policy on ``device``), interleaved, per stage.

    Returns ``{"variants": {label: {"stages": {stage: summary}, "flops": {...}, ...}}, "ratios": ...,
    "warmup_seconds": ...}``; ratios are of medians, against the first variant.
    """
    device = torch.device(device)
    dtype = base.projector.weight.dtype
    policies = build_variants(base, variants, seed=seed, compiled=compiled)
    for policy in policies.values():
        prepare(policy, mode, checkpointing=checkpointing)
    torch.manual_seed(seed + 1)
    inputs = make_inputs(base, mode, batch, device=device, dtype=dtype)
    timer = make_timer(device)
    fns = {label: (lambda p=p: timed_call(p, mode, inputs, timer)) for label, p in policies.items()}
    start = time.perf_counter()
    for fn in fns.values():  # warm-up apart, so its time (compilation) is known
        for _ in range(warmup):
            fn()
    warmup_seconds = time.perf_counter() - start
    samples = time_alternating(fns, warmup=0, repeats=repeats, on_round=on_round)
    rows, medians, flops = _variant_rows(base, variants, samples, mode, batch=batch, checkpointing=checkpointing)
    del policies
    if mode == "training":
        base.zero_grad(set_to_none=True)
    out = {
        "variants": rows,
        "ratios": ratios(medians, flops, base=variants[0].label),
        "warmup_seconds": warmup_seconds,
    }
    if compiled:  # graphs compiled so far in this process
        from torch._dynamo.utils import counters

        out["dynamo_unique_graphs"] = counters["stats"]["unique_graphs"]
    return out


def _variant_rows(base, variants: list[Variant], samples: dict, mode: str, *, batch: int, checkpointing: bool):
    """Per variant: its timing summary per stage, median seconds per stage and FLOPs of the same step."""
    rows, medians, flops = {}, {}, {}
    for variant in variants:
        label = variant.label
        stages = [*STAGES[mode], "total"]
        rows[label] = {
            "variant": variant.options(),
            "stages": {s: summarize([sample[s] for sample in samples[label]]) for s in stages},
        }
        medians[label] = {s: rows[label]["stages"][s]["median_ms"] / 1e3 for s in stages}
        flops[label] = step_flops(
            base.shape, variant, mode=mode, batch=batch, views=base.num_views, checkpointing=checkpointing
        )
        rows[label]["flops"] = flops[label]
        rows[label]["stage_sum_ms"] = sum(rows[label]["stages"][s]["median_ms"] for s in STAGES[mode])
    return rows, medians, flops


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
    """Inference, CPU, fp32, one batch size: one row per variant (total time, FLOPs, ratios to the first).
    The full harness (stages, training, GPU, bf16, several runs) is :func:`grids.efficiency.report.run_plan`."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    base = build_shaped_policy(shape, device="cpu", num_views=views, attn=attn)
    run = measure_run(
        base, variants, batch=batch, compiled=compile, warmup=warmup, repeats=repeats, seed=seed
    )
    rows = []
    for variant in variants:
        row, ratio = run["variants"][variant.label], run["ratios"][variant.label]
        rows.append(
            {
                "label": variant.label,
                "batch": batch,
                "compiled": compile,
                "gflops": row["flops"]["total"] / 1e9,
                **row["stages"]["total"],
                "speedup": ratio["latency_ratio"],
                "flops_ratio": ratio["flop_ratio"],
            }
        )
    return rows


__all__ = [
    "STAGES",
    "TARGET",
    "CudaEvents",
    "Variant",
    "WallClock",
    "build_variants",
    "compile_blocks",
    "default_dtype",
    "inference_step",
    "make_inputs",
    "make_timer",
    "measure_latency",
    "measure_run",
    "prepare",
    "ratios",
    "resolve_device",
    "step_flops",
    "step_memory",
    "summarize",
    "time_alternating",
    "training_step",
]
