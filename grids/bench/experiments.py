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

from grids.bench.policy import PolicyConfig
from grids.bench.train import TrainConfig, latest_checkpoint

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
    return PolicyConfig(
        reducer=run.reducer, num_tokens=run.tokens, reducer_options=dict(run.options), task_aware=run.task_aware,
        **{**PRESETS[preset], **overrides},
    )  # fmt: skip


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
            _train_config(self, run, Path(self.out_root) / run.name, None, None)


def _policy_config(plan: Plan, run: Run) -> PolicyConfig:
    return policy_config(
        run, preset=plan.preset, chunk_size=plan.chunk_size, action_head=plan.action_head, encoder=plan.encoder,
        feature_shift=plan.feature_shift, **plan.policy_overrides,
    )  # fmt: skip


def _train_config(
    plan: Plan, run: Run, out: Path, frozen_encoder: Path | None, features: Path | None
) -> TrainConfig:
    return TrainConfig(
        data=plan.data, out=str(out), policy=_policy_config(plan, run), steps=plan.steps, batch_size=plan.batch_size,
        lr=plan.lr, warmup=max(plan.steps // 20, 1), seed=plan.seed, save_every=max(plan.steps // 4, 1),
        frozen_encoder=str(frozen_encoder) if frozen_encoder else None, features=str(features) if features else None,
        progress=plan.progress, language_model=plan.language_model,
    )  # fmt: skip


def _finished(run_dir: Path, steps: int) -> bool:
    ckpt = latest_checkpoint(run_dir)
    return ckpt is not None and json.loads((ckpt / "state.json").read_text())["step"] >= steps


def run_plan(plan: Plan, log=print) -> list[dict]:
    """Train (resuming whatever is done) and evaluate every run of ``plan``; returns one result per run."""
    from grids.bench.evaluate import evaluate
    from grids.bench.features import cache_features
    from grids.bench.policy import Policy
    from grids.bench.train import load_policy, open_dataset, train

    root = Path(plan.out_root)
    timings: dict[str, dict[str, float]] = {run.name: {} for run in plan.runs}  # run name -> stage -> s
    shared: dict[str, float] = {}  # stages every run depends on
    # ViT protocol: the end-to-end dense run is the encoder; pretrained: no encoder run at all.
    encoder_dir = None if plan.pretrained else root / "dense"
    features_dir = root / "features" if plan.pretrained else root / "dense" / "features"
    if encoder_dir is not None and not _finished(encoder_dir, plan.steps) and not plan.only_cached:
        tic = time.perf_counter()
        train(_train_config(plan, DENSE, encoder_dir, None, None))
        shared["train dense (end to end)"] = time.perf_counter() - tic
    needs_cache = plan.pretrained or any(run.name != "dense" for run in plan.runs)
    if needs_cache and not plan.only_cached:
        tic = time.perf_counter()
        dataset = open_dataset(plan.data, plan.chunk_size)
        source = Policy(_policy_config(plan, DENSE)) if plan.pretrained else load_policy(encoder_dir)
        cache_features(source, dataset, features_dir, source=plan.encoder if plan.pretrained
                       else str(latest_checkpoint(encoder_dir)), progress=plan.progress)  # fmt: skip
        shared["cache features"] = time.perf_counter() - tic

    def run_dir_of(run: Run) -> Path:
        return encoder_dir if run.name == "dense" and encoder_dir is not None else root / run.name

    def evaluate_cached(run: Run, perturbation: str) -> dict | None:
        """One (run, perturbation) evaluation, cached in the run directory (a killed grid loses little)."""
        run_dir = run_dir_of(run)
        cached = (
            run_dir / f"eval_step{plan.steps}_{plan.episodes}ep_{perturbation}_{plan.eval_max_steps}.json"
        )
        if cached.is_file():
            return json.loads(cached.read_text())
        if plan.only_cached:
            return None
        tic = time.perf_counter()
        result = evaluate(run_dir, plan.tasks, episodes=plan.episodes, perturbations=(perturbation,),
                          workers=plan.workers, max_steps=plan.eval_max_steps, record=perturbation == "none",
                          progress=plan.progress)  # fmt: skip
        recording = result.pop("recording", None)
        result["eval_seconds"] = time.perf_counter() - tic
        cached.write_text(json.dumps(result, indent=1))
        if recording is not None:
            import numpy as np

            np.savez_compressed(
                run_dir / "recording.npz", frames=recording["frames"], coords=recording["coords"]
            )
        return result

    # Pass 1: train every head and evaluate it in distribution; pass 2: the OOD suite for ``ood_runs``.
    results: dict[str, dict] = {}
    for run in plan.runs:
        run_dir = run_dir_of(run)
        if run_dir != encoder_dir and not plan.only_cached and not _finished(run_dir, plan.steps):
            tic = time.perf_counter()
            train(_train_config(plan, run, run_dir, encoder_dir, features_dir))
            timings[run.name]["train"] = time.perf_counter() - tic
        result = evaluate_cached(run, "none") if "none" in plan.perturbations else None
        if result is None:
            continue
        result.update(name=run.name, label=run.label, steps=plan.steps, seed=plan.seed, protocol=_protocol(plan, run_dir == encoder_dir))  # fmt: skip
        results[run.name] = result
        log(f"{run.name}: none {100 * result['summary']['none']['success_rate']:.1f}%")
    for perturbation in [p for p in plan.perturbations if p != "none"]:
        for run in plan.runs:
            if run.name not in plan.ood_runs:
                continue
            ood = evaluate_cached(run, perturbation)
            if ood is None:
                continue
            base = results.setdefault(
                run.name,
                {**ood, "name": run.name, "label": run.label, "per_task": {}, "summary": {}, "episodes": []},
            )
            base["per_task"][perturbation] = ood["per_task"][perturbation]
            base["summary"][perturbation] = ood["summary"][perturbation]
            base["episodes"] = base["episodes"] + ood["episodes"]
            log(f"{run.name}: {perturbation} {100 * ood['summary'][perturbation]['success_rate']:.1f}%")
    results = [results[run.name] for run in plan.runs if run.name in results]
    for r in results:
        r["timings_s"] = {k: round(v, 1) for k, v in {**shared, **timings[r["name"]]}.items()}
    return results


def _protocol(plan: Plan, end_to_end: bool) -> str:
    if plan.pretrained:
        return f"pretrained frozen {plan.encoder}" + (
            f", shift {plan.feature_shift:g}" if plan.feature_shift else ""
        )
    return "end-to-end" if end_to_end else "frozen encoder"


def gif_from_run(run_dir: str | Path, path: str | Path) -> Path | None:
    """The GIF of the run's recorded episode (points drawn at the run's own patch size), or None."""
    import numpy as np

    from grids.bench.report import write_gif
    from grids.bench.train import load_policy

    file = Path(run_dir) / "recording.npz"
    if not file.is_file():
        return None
    patch_size = load_policy(run_dir).cfg.patch_size
    with np.load(file) as rec:
        return write_gif({"frames": rec["frames"], "coords": rec["coords"]}, path, patch_size=patch_size)


def with_overrides(plan: Plan, **kwargs) -> Plan:
    return replace(plan, **kwargs)
