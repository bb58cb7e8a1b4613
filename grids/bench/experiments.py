"""A row of an experiment and the one builder of its training config (``grids bench run`` and ``bench train``).

Two protocols (``encoder``): ``mobilenetv2`` — a frozen ImageNet encoder whose feature maps of every training
frame are cached once, every row (dense included) a head (projector + reducer + policy transformer + action
head) trained on the cache for the same steps; ``vit`` — our ViT trained end to end with the dense reducer, the
other rows heads on its frozen, cached features (``frozen_encoder``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grids.bench.policy import PolicyConfig
from grids.bench.report import write_gif
from grids.bench.train import TrainConfig, load_policy

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


def gif_from_run(run_dir: str | Path, path: str | Path) -> Path | None:
    """The GIF of the run's recorded episode (points drawn at the run's own patch size), or None."""
    file = Path(run_dir) / "recording.npz"
    if not file.is_file():
        return None
    patch_size = load_policy(run_dir).cfg.patch_size
    with np.load(file) as rec:
        return write_gif({"frames": rec["frames"], "coords": rec["coords"]}, path, patch_size=patch_size)
