"""The experiment grids and the frozen-encoder protocols that run them.

Pretrained protocol (``Plan.encoder="mobilenetv2"``, the VLA setting in miniature): a frozen ImageNet
encoder with local features; its feature maps of every training frame are cached once; every run,
dense included, trains the same head (projector + reducer + policy transformer + action head) on the
cache for the same number of steps; every policy is evaluated from raw images on the same seeds.

ViT protocol (``Plan.encoder="vit"``, the paper's SmolVLA setting with our own encoder):
1. ``encoder`` run: the dense policy trained end to end; its encoder becomes the frozen encoder.
2. Its dense feature maps of every training frame are cached to disk once.
3. Every other reducer trains a fresh head (reducer + policy transformer + action head) on the cache,
   for the same number of steps as step 1. ``dense-frozen`` is the same for the dense reducer, the fair
   control: the heads start from an encoder that step 1 already trained, so comparing them with the
   step-1 ``dense`` policy alone would favour them (more optimisation in total).
4. Every policy is evaluated from raw images on the same episode seeds.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from grids.bench.evaluate import evaluate
from grids.bench.features import cache_features
from grids.bench.policy import Policy, PolicyConfig
from grids.bench.report import write_gif
from grids.bench.train import TrainConfig, latest_checkpoint, load_policy, open_dataset, train

# Model sizes. "tiny" is what a shared 2-core CPU can train in minutes; "small" is the issue's
# 4-layer width-192 encoder + 4-layer policy.
PRESETS: dict[str, dict] = {
    "tiny": {"dim": 64, "encoder_depth": 3, "policy_depth": 2, "num_heads": 4},
    "small": {"dim": 128, "encoder_depth": 4, "policy_depth": 2, "num_heads": 4},
    "base": {"dim": 192, "encoder_depth": 4, "policy_depth": 4, "num_heads": 6},
}


@dataclass(frozen=True)
class Run:
    name: str
    reducer: str
    tokens: int
    label: str  # one line per label in the plot
    options: dict = field(default_factory=dict)
    task_aware: bool = False


DENSE = Run("dense", "dense", 256, "dense")
# The fair control for the frozen-encoder heads: a fresh dense head on the same frozen encoder, same steps.
DENSE_FROZEN = Run("dense-frozen", "dense", 256, "dense (frozen encoder)")
# Ordered by how much each run matters to the paper's claim: a grid cut short by the clock keeps the main rows.
FULL_GRID: list[Run] = [
    DENSE,
    DENSE_FROZEN,
    Run("grids-16", "grids", 16, "grids"),
    Run("random-16", "random", 16, "random"),
    Run("topk-16", "topk", 16, "top-K (norm)"),
    Run("pool-16", "pool", 16, "pool"),
    Run("grids-4", "grids", 4, "grids"),
    Run("grids-1", "grids", 1, "grids"),
    Run("grids-task-16", "grids", 16, "grids (task-aware)", task_aware=True),
    Run("grids-nearest-16", "grids-nearest", 16, "grids-nearest"),
    Run("grids-nocoord-16", "grids", 16, "grids w/o coord emb", {"coord_embedding": None}),
    Run("grids-heatmap-16", "grids-heatmap", 16, "grids (heatmap head)"),
    Run("grids-heatmap-4", "grids-heatmap", 4, "grids (heatmap head)"),
    Run("tome-16", "tome", 16, "ToMe"),
    Run("uniform-16", "uniform", 16, "uniform"),
    Run("perceiver-16", "perceiver", 16, "perceiver"),
]
QUICK_GRID: list[Run] = [DENSE, Run("grids-4", "grids", 4, "grids")]
RUNS = {run.name: run for run in FULL_GRID}


def policy_config(run: Run, *, preset: str = "tiny", **overrides) -> PolicyConfig:
    """The policy of ``run``: its reducer, the model size of ``preset``, then ``overrides`` (PolicyConfig fields)."""
    return PolicyConfig(
        reducer=run.reducer,
        num_tokens=run.tokens,
        reducer_options=dict(run.options),
        task_aware=run.task_aware,
        **{**PRESETS[preset], **overrides},
    )


def train_config(
    run: Run,
    *,
    data: str,
    out: str | Path,
    preset: str = "tiny",
    steps: int = 300,
    batch_size: int = 16,
    lr: float = 1e-3,
    ema: float = 0.0,
    seed: int = 0,
    save_every: int | None = None,
    keep_every: int | None = None,
    frozen_encoder: str | Path | None = None,
    features: str | Path | None = None,
    corrupted_features: str | Path | None = None,
    corrupted_p: float = 0.5,
    num_workers: int = 0,
    language_model: str = "minilm",
    progress: bool = True,
    **policy_overrides,
) -> TrainConfig:
    """The one builder of a run's ``TrainConfig``, for ``grids bench train`` and every run of a plan.

    Warm-up over the first 5% of the steps; a checkpoint every quarter of the run unless ``save_every``;
    ``policy_overrides`` are PolicyConfig fields (``encoder``, ``chunk_size``, ``resample_at_layer``, ...).
    """
    return TrainConfig(
        data=data,
        out=str(out),
        policy=policy_config(run, preset=preset, **policy_overrides),
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        warmup=max(steps // 20, 1),
        ema=ema,
        seed=seed,
        save_every=max(steps // 4, 1) if save_every is None else save_every,
        keep_every=keep_every,
        frozen_encoder=str(frozen_encoder) if frozen_encoder else None,
        features=str(features) if features else None,
        corrupted_features=str(corrupted_features) if corrupted_features else None,
        corrupted_p=corrupted_p,
        num_workers=num_workers,
        language_model=language_model,
        progress=progress,
    )


@dataclass
class Plan:
    data: str
    out_root: str
    runs: list[Run]
    tasks: list[str]
    preset: str = "tiny"
    steps: int = 300
    batch_size: int = 16
    lr: float = 1e-3
    seed: int = 0
    chunk_size: int = 8
    action_head: str = "l1"
    episodes: int = 20
    perturbations: tuple[str, ...] = ("none",)
    ood_runs: tuple[str, ...] = ()  # runs also evaluated under every perturbation (others: "none" only)
    eval_max_steps: int | None = None
    workers: int = 2
    progress: bool = True
    policy_overrides: dict = field(default_factory=dict)  # e.g. image_size / patch_size for tests
    only_cached: bool = False  # report what is already evaluated; train and evaluate nothing
    language_model: str = "minilm"
    encoder: str = "vit"  # "mobilenetv2": the pretrained protocol (no end-to-end run)
    feature_shift: float = 0.0  # random-shift augmentation of the dense maps, in cells

    @property
    def pretrained(self) -> bool:
        return self.encoder != "vit"

    def __post_init__(self):
        """Build every run's config now: a bad flag fails before data generation, not after the first run."""
        for run in self.runs:
            plan_train_config(self, run)


def plan_train_config(
    plan: Plan, run: Run, *, frozen_encoder: Path | None = None, features: Path | None = None
) -> TrainConfig:
    return train_config(
        run,
        data=plan.data,
        out=run_dir(plan, run),
        preset=plan.preset,
        steps=plan.steps,
        batch_size=plan.batch_size,
        lr=plan.lr,
        seed=plan.seed,
        frozen_encoder=frozen_encoder,
        features=features,
        language_model=plan.language_model,
        progress=plan.progress,
        chunk_size=plan.chunk_size,
        action_head=plan.action_head,
        encoder=plan.encoder,
        feature_shift=plan.feature_shift,
        **plan.policy_overrides,
    )


# --- where things go ----------------------------------------------------------------------------------
def run_dir(plan: Plan, run: Run) -> Path:
    return Path(plan.out_root) / run.name


def _encoder_dir(plan: Plan) -> Path | None:
    """ViT protocol: the end-to-end dense run is the frozen encoder of the others; pretrained: none."""
    return None if plan.pretrained else run_dir(plan, DENSE)


def _features_dir(plan: Plan) -> Path:
    return Path(plan.out_root) / "features" if plan.pretrained else run_dir(plan, DENSE) / "features"


def _is_encoder_run(plan: Plan, run: Run) -> bool:
    return not plan.pretrained and run.name == DENSE.name


def _finished(run_dir: Path, steps: int) -> bool:
    ckpt = latest_checkpoint(run_dir)
    return ckpt is not None and json.loads((ckpt / "state.json").read_text())["step"] >= steps


# --- the plan -----------------------------------------------------------------------------------------
def run_plan(plan: Plan, log=print) -> list[dict]:
    """Train (resuming whatever is done) and evaluate every run of ``plan``; returns one result per run.

    Pass 1 trains every run and evaluates it in distribution; pass 2 runs the OOD suite for ``ood_runs``.
    """
    shared = {} if plan.only_cached else _prepare_encoder(plan)  # stage -> seconds, every run depends on it
    timings: dict[str, dict[str, float]] = {}  # run name -> stage -> seconds
    results: dict[str, dict] = {}
    for run in plan.runs:
        timings[run.name] = {} if plan.only_cached else _train_head(plan, run)
        result = _evaluate_cached(plan, run, "none") if "none" in plan.perturbations else None
        if result is not None:
            result.update(name=run.name, label=run.label, steps=plan.steps, seed=plan.seed)
            result["protocol"] = _protocol(plan, _is_encoder_run(plan, run))
            results[run.name] = result
            log(f"{run.name}: none {100 * result['summary']['none']['success_rate']:.1f}%")
    for perturbation in [p for p in plan.perturbations if p != "none"]:
        for run in [run for run in plan.runs if run.name in plan.ood_runs]:
            ood = _evaluate_cached(plan, run, perturbation)
            if ood is not None:
                _add_ood(results, run, perturbation, ood)
                log(f"{run.name}: {perturbation} {100 * ood['summary'][perturbation]['success_rate']:.1f}%")
    ordered = [results[run.name] for run in plan.runs if run.name in results]
    for result in ordered:
        result["timings_s"] = {k: round(v, 1) for k, v in {**shared, **timings[result["name"]]}.items()}
    return ordered


def _prepare_encoder(plan: Plan) -> dict[str, float]:
    """Train the ViT encoder run (ViT protocol) and cache the frozen features; returns seconds per stage."""
    seconds: dict[str, float] = {}
    encoder_dir = _encoder_dir(plan)
    if encoder_dir is not None and not _finished(encoder_dir, plan.steps):
        tic = time.perf_counter()
        train(plan_train_config(plan, DENSE))
        seconds["train dense (end to end)"] = time.perf_counter() - tic
    if plan.pretrained or any(run.name != DENSE.name for run in plan.runs):
        tic = time.perf_counter()
        dataset = open_dataset(plan.data, plan.chunk_size)
        if plan.pretrained:
            source, name = Policy(plan_train_config(plan, DENSE).policy), plan.encoder
        else:
            source, name = load_policy(encoder_dir), str(latest_checkpoint(encoder_dir))
        cache_features(source, dataset, _features_dir(plan), source=name, progress=plan.progress)
        seconds["cache features"] = time.perf_counter() - tic
    return seconds


def _train_head(plan: Plan, run: Run) -> dict[str, float]:
    """Train ``run`` on the frozen features unless it is the encoder run or already done; seconds per stage."""
    if _is_encoder_run(plan, run) or _finished(run_dir(plan, run), plan.steps):
        return {}
    tic = time.perf_counter()
    train(plan_train_config(plan, run, frozen_encoder=_encoder_dir(plan), features=_features_dir(plan)))
    return {"train": time.perf_counter() - tic}


def _evaluate_cached(plan: Plan, run: Run, perturbation: str) -> dict | None:
    """One (run, perturbation) evaluation, cached in the run directory (a killed grid loses little)."""
    directory = run_dir(plan, run)
    cached = directory / f"eval_step{plan.steps}_{plan.episodes}ep_{perturbation}_{plan.eval_max_steps}.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    if plan.only_cached:
        return None
    tic = time.perf_counter()
    result = evaluate(
        directory,
        plan.tasks,
        episodes=plan.episodes,
        perturbations=(perturbation,),
        workers=plan.workers,
        max_steps=plan.eval_max_steps,
        record=perturbation == "none",
        progress=plan.progress,
    )
    recording = result.pop("recording", None)
    result["eval_seconds"] = time.perf_counter() - tic
    cached.write_text(json.dumps(result, indent=1))
    if recording is not None:
        np.savez_compressed(
            directory / "recording.npz", frames=recording["frames"], coords=recording["coords"]
        )
    return result


def _add_ood(results: dict[str, dict], run: Run, perturbation: str, ood: dict) -> None:
    """Merge one OOD evaluation into the run's result (created if the run has no in-distribution one)."""
    base = results.setdefault(
        run.name, {**ood, "name": run.name, "label": run.label, "per_task": {}, "summary": {}, "episodes": []}
    )
    base["per_task"][perturbation] = ood["per_task"][perturbation]
    base["summary"][perturbation] = ood["summary"][perturbation]
    base["episodes"] = base["episodes"] + ood["episodes"]


def _protocol(plan: Plan, end_to_end: bool) -> str:
    if plan.pretrained:
        return f"pretrained frozen {plan.encoder}" + (
            f", shift {plan.feature_shift:g}" if plan.feature_shift else ""
        )
    return "end-to-end" if end_to_end else "frozen encoder"


def gif_from_run(run_dir: str | Path, path: str | Path) -> Path | None:
    """The GIF of the run's recorded episode (points drawn at the run's own patch size), or None."""
    file = Path(run_dir) / "recording.npz"
    if not file.is_file():
        return None
    patch_size = load_policy(run_dir).cfg.patch_size
    with np.load(file) as rec:
        return write_gif({"frames": rec["frames"], "coords": rec["coords"]}, path, patch_size=patch_size)


def with_overrides(plan: Plan, **kwargs) -> Plan:
    return replace(plan, **kwargs)
