"""Training loop: CPU here and unchanged on one or many GPUs through HF ``accelerate``.

``train`` reads as setup (``_setup``: data, policy, optimizer, resume), then per step ``_train_step``,
``_Log.step`` and ``_save``. Batches come from one ``DataLoader`` over the frames (``DemoDataset`` images,
or a ``FeatureDataset`` of cached encoder features) with ``_BatchPlan`` as its batch sampler.

Reproducible and resumable by construction: the frames of step ``s`` are a slice of a permutation drawn
from ``(seed, epoch)``, and torch's RNG is re-seeded from ``(seed, s)`` at every step (flow-matching noise,
the ``random`` reducer), so a run killed after checkpoint ``s`` and resumed gives the same weights as
an uninterrupted one. Checkpoints (safetensors: model, optimizer, RNG states for the record, the EMA weights
when ``ema`` > 0; JSON: step, config and the dataset's fingerprint) are written to a temporary directory and
renamed into place; ``checkpoints/latest`` names the newest one. ``load_policy`` gives the EMA weights where a
run kept them.

Resuming is refused, naming what differs, when the run directory holds a run of other settings (a changed
flag would otherwise be ignored: the saved config wins) or of another dataset. A damaged checkpoint (a file cut
short, say) is set aside as ``checkpoints/damaged_step_*`` and the run resumes from the previous intact one,
saying so; ``load_policy`` names the damaged file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from grids.bench.features import CorruptedCopies, FeatureDataset
from grids.bench.language import embed_instructions, hash_embedding
from grids.bench.policy import Policy, PolicyConfig
from grids.core.validation import check_int, check_number
from grids.errors import UserError, check_output_dir

LANGUAGE_MODELS = ("minilm", "hash")
# Fields that may change between the sessions of one run: where things are, and how it is shown or loaded.
RESUME_FREE_FIELDS = ("data", "out", "progress", "num_workers", "language_cache", "log_every")


class CheckpointError(UserError):
    """A checkpoint file is missing, cut short or unreadable; the message names it."""


@dataclass
class TrainConfig:
    data: str  # a DemoDataset directory
    out: str  # run directory
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    steps: int = 2000
    batch_size: int = 32  # global batch (split over processes)
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup: int = 100
    grad_clip: float = 1.0
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: none); evaluation uses it
    encoder_lr_scale: float = 0.1  # a pretrained encoder's trainable top (policy.encoder_top) learns at lr x this
    seed: int = 0
    save_every: int = 500
    keep_every: int | None = (
        None  # checkpoints at multiples of this are kept (a learning curve), others rotate
    )
    log_every: int = 10
    # Frozen-encoder protocols: train on cached dense features (``features``), either of a pretrained
    # encoder (``policy.encoder="mobilenetv2"``: frozen by construction) or of this dense run's ViT
    # (``frozen_encoder``: copied and frozen; cache default ``<frozen_encoder>/features``).
    frozen_encoder: str | None = None
    features: str | None = None
    # Augmentation: the same frames cached through a pixel corruption (``cache-features --perturbation noise``);
    # each frame of a batch is read from it with probability ``corrupted_p``.
    corrupted_features: str | None = None
    corrupted_p: float = 0.5
    language_cache: str | None = None
    language_model: str = "minilm"  # "hash": a fixed random vector per instruction (tests)
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self):
        """Every config error surfaces here (the policy's in PolicyConfig), before data loading or training."""
        minimums = {
            "steps": 1,
            "batch_size": 1,
            "save_every": 1,
            "log_every": 1,
            "warmup": 0,
            "num_workers": 0,
            "seed": 0,
        }
        for name, minimum in minimums.items():
            check_int(getattr(self, name), name, minimum=minimum)
        check_int(self.keep_every, "keep_every", minimum=1, optional=True)
        for name in ("encoder_lr_scale", "lr", "grad_clip"):
            check_number(getattr(self, name), name, low=0, ends="()")
        check_number(self.weight_decay, "weight_decay", low=0, ends="[)")
        check_number(self.ema, "ema", low=0, high=1, ends="[)", meaning="a decay")
        if self.language_model not in LANGUAGE_MODELS:
            raise ValueError(f"language_model must be one of {LANGUAGE_MODELS}, got {self.language_model!r}")
        if self.corrupted_features and not (self.features or self.frozen_encoder):
            raise ValueError("corrupted_features is a copy of a feature cache: it needs features or frozen_encoder")
        check_number(self.corrupted_p, "corrupted_p", low=0, high=1, ends="(]", meaning="a probability")
        if self.frozen_encoder and self.policy.reduces_inside:
            raise ValueError(
                f"frozen_encoder trains on cached final-layer features; resample_at_layer="
                f"{self.policy.resample_at_layer} needs images (train without --frozen-encoder)"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        unknown_policy = set(data.get("policy", {})) - {f.name for f in fields(PolicyConfig)}
        if unknown or unknown_policy:
            raise ValueError(
                f"unknown TrainConfig field(s) {sorted(unknown)}, policy field(s) {sorted(unknown_policy)}"
            )
        data = dict(data)
        data["policy"] = PolicyConfig(**data.get("policy", {}))
        return cls(**data)


# --- checkpoints --------------------------------------------------------------------------------------
def _save_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    state = optimizer.state_dict()
    tensors = {f"{i}.{k}": v.contiguous() for i, s in state["state"].items() for k, v in s.items()}
    save_file(tensors, str(path), metadata={"param_groups": json.dumps(state["param_groups"])})


def _load_optimizer(optimizer: torch.optim.Optimizer, path: Path) -> None:
    with safe_open(str(path), "pt") as f:
        groups = json.loads(f.metadata()["param_groups"])
    state: dict[int, dict] = {}
    for name, value in load_file(str(path)).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(
    run_dir: Path,
    step: int,
    policy: Policy,
    optimizer,
    config: TrainConfig,
    keep: int = 2,
    ema=None,
    dataset: str | None = None,
) -> Path:
    """Write checkpoint ``step`` atomically; keep the newest ``keep`` and those at multiples of ``config.keep_every``.

    ``dataset``: the fingerprint of the training data (:func:`dataset_fingerprint`), checked on resume."""
    root = run_dir / "checkpoints"
    final = root / f"step_{step:07d}"
    tmp = root / f".tmp_step_{step:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in policy.state_dict().items()}, str(tmp / "model.safetensors"))
    _save_optimizer(optimizer, tmp / "optimizer.safetensors")
    if ema is not None:
        save_file(
            {k: v.contiguous() for k, v in ema.state_dict(policy).items()}, str(tmp / "ema.safetensors")
        )
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(tmp / "rng.safetensors"))
    state = {"step": step, "train_config": config.to_dict(), "dataset": dataset}
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    for file in tmp.iterdir():  # durable before the rename makes it visible
        with open(file, "rb") as f:
            os.fsync(f.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    point_latest(root, final.name)
    for old in sorted(root.glob("step_*"))[:-keep]:
        if not (config.keep_every and int(old.name.removeprefix("step_")) % config.keep_every == 0):
            shutil.rmtree(old, ignore_errors=True)
    return final


def point_latest(root: Path, name: str) -> None:
    """Make ``root/latest`` name checkpoint ``name``, atomically."""
    pointer = root / "latest.tmp"
    pointer.write_text(name)
    os.replace(pointer, root / "latest")


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    pointer = Path(run_dir) / "checkpoints" / "latest"
    if not pointer.is_file():
        return None
    path = pointer.parent / pointer.read_text().strip()
    return path if (path / "state.json").is_file() else None


def checkpoints_newest_first(run_dir: str | Path) -> list[Path]:
    """The run's checkpoint directories, the one ``latest`` names first, then the others by step, newest first."""
    root = Path(run_dir) / "checkpoints"
    found = sorted(root.glob("step_*"), reverse=True) if root.is_dir() else []
    latest = latest_checkpoint(run_dir)
    return ([latest] if latest is not None else []) + [path for path in found if path != latest]


def read_state(path: Path) -> dict:
    """A checkpoint's ``state.json`` (step, config, dataset fingerprint); :class:`CheckpointError` names it if damaged."""
    file = path / "state.json"
    try:
        state = json.loads(file.read_text())
        state["step"], state["train_config"]  # noqa: B018  (both must be there)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint file {file} is damaged or missing ({type(err).__name__}: {err})") from None
    return state


def read_tensors(file: Path, device: str = "cpu") -> dict[str, Tensor]:
    """A checkpoint's safetensors file; :class:`CheckpointError` names it if it is cut short or unreadable."""
    try:
        return load_file(str(file), device=device)
    except Exception as err:  # safetensors raises SafetensorError (header), OSError (missing) ...
        reason = str(err).strip() or type(err).__name__
        raise CheckpointError(f"checkpoint file {file} is damaged or missing ({reason})") from None


def weights_file(checkpoint: Path, *, ema: bool = True) -> Path:
    """The weights a checkpoint's policy is evaluated with: the EMA's where the run kept an average
    (``ema=False``: the raw weights)."""
    average = checkpoint / "ema.safetensors"
    return average if ema and average.is_file() else checkpoint / "model.safetensors"


def load_policy(path: str | Path, map_location: str = "cpu", *, ema: bool = True) -> Policy:
    """A trained policy from a run directory (its latest checkpoint) or a checkpoint directory: its EMA
    weights where the run kept an average (``ema=False``: the raw weights). A damaged file is named
    (:class:`CheckpointError`), with the run's other checkpoints to load instead."""
    path = Path(path)
    if not (path / "state.json").is_file():  # a run directory, not one of its checkpoints
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"no checkpoint under {path}")
        path = found
    try:
        config = TrainConfig.from_dict(read_state(path)["train_config"])
        policy = Policy(config.policy)
        policy.load_state_dict(read_tensors(weights_file(path, ema=ema), map_location))
    except CheckpointError as err:
        others = [str(p) for p in checkpoints_newest_first(path.parent.parent) if p != path]
        hint = f"; the run's other checkpoints: {', '.join(others)} (pass one as the run to load it)" if others else ""
        raise CheckpointError(f"{err}{hint}") from None
    return policy.eval()


def dataset_fingerprint(dataset) -> str | None:
    """A hash of what a dataset holds (its episodes' shard hashes), to tell another dataset from a moved one;
    None for a dataset without a manifest."""
    episodes = getattr(dataset, "meta", {}).get("episodes") if isinstance(getattr(dataset, "meta", None), dict) else None
    if not episodes:
        return None
    listing = json.dumps([[e["task"], e["episode_in_task"], e["sha256"]] for e in episodes])
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


def config_differences(saved: TrainConfig, asked: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """``{field: (saved, asked)}`` for every field that differs, but those free to change on resume."""
    old, new = saved.to_dict(), asked.to_dict()
    differences = {}
    for name in old:
        if name in RESUME_FREE_FIELDS:
            continue
        if name == "policy":
            differences.update(
                {f"policy.{k}": (v, new["policy"][k]) for k, v in old["policy"].items() if v != new["policy"][k]}
            )
        elif old[name] != new[name]:
            differences[name] = (old[name], new[name])
    return differences


class EMA:
    """Exponential moving average of a policy's trainable weights; the decay ramps up as (1 + t) / (10 + t)
    over the first steps (the early weights are far from the final ones)."""

    def __init__(self, policy: Policy, decay: float):
        self.decay = decay
        self.names = [name for name, p in policy.named_parameters() if p.requires_grad]
        self.average = [p.detach().clone() for p in self._params(policy)]

    def _params(self, policy: Policy) -> list[Tensor]:
        params = dict(policy.named_parameters())
        return [params[name].detach() for name in self.names]

    @torch.no_grad()
    def update(self, policy: Policy, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(self.average, self._params(policy), 1 - decay)

    def state_dict(self, policy: Policy) -> dict[str, Tensor]:
        """The policy's state dict with the averaged weights in place of its trainable ones."""
        return {**policy.state_dict(), **dict(zip(self.names, self.average, strict=True))}

    def load(self, path: Path) -> None:
        saved = load_file(str(path))
        self.average = [saved[name].clone() for name in self.names]


# --- data ---------------------------------------------------------------------------------------------
def batch_indices(step: int, num_frames: int, batch_size: int, seed: int) -> np.ndarray:
    """The global batch of ``step``: a slice of the permutation of epoch ``step // steps_per_epoch``."""
    per_epoch = max(num_frames // batch_size, 1)
    epoch, i = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(num_frames)
    return order[i * batch_size : (i + 1) * batch_size]


def with_copies(indices: np.ndarray, step: int, num_frames: int, seed: int, *, copies: int, p: float) -> np.ndarray:
    """Each frame of ``step``'s batch read from a corrupted copy with probability ``p`` (``CorruptedCopies``:
    index + k·num_frames, k uniform in 1..copies-1), drawn from ``(seed, step)`` so that a resumed run reads the
    same copies."""
    if copies == 1:
        return indices
    rng = np.random.default_rng([seed, step, 1])
    corrupted = rng.random(len(indices)) < p
    return indices + num_frames * rng.integers(1, copies, size=len(indices)) * corrupted


class _BatchPlan:
    """Per-process batches from ``start`` on, for a DataLoader's ``batch_sampler``."""

    def __init__(self, start, steps, num_frames, batch_size, seed, rank, world, *, copies=1, corrupted_p=0.0):
        self.args = start, steps, num_frames, batch_size, seed, rank, world
        self.copies, self.corrupted_p = copies, corrupted_p

    def __len__(self):
        return self.args[1] - self.args[0]

    def __iter__(self):
        start, steps, num_frames, batch_size, seed, rank, world = self.args
        for step in range(start, steps):
            indices = batch_indices(step, num_frames, batch_size, seed)
            indices = with_copies(indices, step, num_frames, seed, copies=self.copies, p=self.corrupted_p)
            yield indices[rank::world].tolist()


def _step_seed(seed: int, step: int) -> int:
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


def parameter_groups(policy: Policy, trainable: list[Tensor], config: TrainConfig) -> list[dict]:
    """The optimizer's groups of the ``trainable`` weights: the policy's, and a pretrained encoder's trainable top
    (if any) at ``encoder_lr_scale`` times the learning rate (fine-tuning pretrained weights gently)."""
    encoder = {id(p) for p in policy.encoder.parameters()} if config.policy.encoder_top else set()
    groups = [{"params": [p for p in trainable if id(p) not in encoder]}]
    if encoder:
        top = [p for p in trainable if id(p) in encoder]
        groups.append({"params": top, "lr_scale": config.encoder_lr_scale})
    return groups


def learning_rate(step: int, config: TrainConfig) -> float:
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return config.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def fill_from_dataset(cfg: PolicyConfig, dataset) -> None:
    """Set what the policy's config takes from the dataset: tasks, state and action widths, action statistics, camera."""
    cfg.tasks = list(dataset.tasks)
    if cfg.image_size != dataset.image_size:
        raise ValueError(f"policy image_size={cfg.image_size} but the dataset has {dataset.image_size}")
    low_dim = dataset.low_dim()
    cfg.state_dim, cfg.action_dim = (
        low_dim["state"].shape[1],
        low_dim["actions"].shape[1],
    )  # 4, 4 / LIBERO 8, 7 / ALOHA 14, 14
    # Joint-position targets (ALOHA's, in radians) are not the [-1, 1] commands of MetaWorld and LIBERO.
    cfg.action_stats = bool(np.abs(low_dim["actions"]).max() > 1.0)
    if dataset.camera_names[0] in ("agentview", "top"):  # LIBERO's and ALOHA's own first camera
        cfg.camera = dataset.camera_names[0]
    check_camera(cfg, dataset)


def build_policy(config: TrainConfig, dataset) -> Policy:
    """A fresh policy for ``dataset``: its tasks' instruction embeddings, state (and where the actions leave
    [-1, 1], action) statistics, camera, frozen encoder."""
    cfg = config.policy
    fill_from_dataset(cfg, dataset)
    low_dim = dataset.low_dim()
    torch.manual_seed(config.seed)
    policy = Policy(cfg)
    policy.instruction_embeddings.copy_(
        embed_instructions(
            list(dataset.instructions),
            config.language_cache,
            encode=hash_embedding if config.language_model == "hash" else None,
        )
    )
    states = low_dim["state"].astype(np.float32)  # [N, state_dim], every frame
    policy.state_mean.copy_(torch.from_numpy(states.mean(0)))
    policy.state_std.copy_(torch.from_numpy(states.std(0)).clamp(min=1e-2))
    if cfg.action_stats:
        actions = low_dim["actions"].astype(np.float32)  # [N, action_dim]
        policy.action_mean.copy_(torch.from_numpy(actions.mean(0)))
        policy.action_std.copy_(torch.from_numpy(actions.std(0)).clamp(min=1e-2))
    if config.frozen_encoder:
        source = load_policy(config.frozen_encoder)
        policy.encoder.load_state_dict(source.encoder.state_dict())
        policy.encoder.requires_grad_(False)
    return policy


def check_camera(cfg: PolicyConfig, dataset) -> None:
    """Refuse data recorded with another third-person camera than the policy's (evaluation renders ``cfg.camera``)."""
    if dataset.camera_names[0] != cfg.camera:
        raise ValueError(
            f"{dataset.root} was recorded with the {dataset.camera_names[0]!r} camera but the policy uses "
            f"{cfg.camera!r}: regenerate it (grids data generate --camera {cfg.camera} ...) or set the policy's camera"
        )


def open_dataset(path: str, chunk_size: int):
    from grids.sim import DemoDataset

    return DemoDataset(path, chunk_size=chunk_size)


def open_training_data(config: TrainConfig):
    """``(dataset, frames)``: the demos (for the policy's statistics) and what batches are read from.

    ``frames`` is the dataset itself (images, end to end), or its feature cache (frozen-encoder protocols):
    both map a frame index to the same keys (``features`` instead of ``images``).
    """
    dataset = open_dataset(config.data, config.policy.chunk_size)
    if not (config.frozen_encoder or config.features):
        return dataset, dataset
    features = FeatureDataset(config.features or Path(config.frozen_encoder) / "features")
    if len(features) != len(dataset):
        raise ValueError(f"feature cache {features.root} does not match dataset {config.data}")
    cached_top, top = features.meta.get("encoder_top") or 0, config.policy.encoder_top
    if cached_top != top:
        raise ValueError(f"feature cache {features.root} stops before the encoder's last {cached_top} blocks, "
                         f"the policy trains its last {top} (encoder_top): cache the features with encoder_top={top}")  # fmt: skip
    if config.corrupted_features:
        features = CorruptedCopies(features, [FeatureDataset(config.corrupted_features)])
    if features.chunk_size != config.policy.chunk_size:  # the cache's action chunks are another length
        features.rechunk(dataset)
    return dataset, features


# --- the loop -----------------------------------------------------------------------------------------
@dataclass
class _Run:
    """What every step needs: the run's config, the prepared model and optimizer, the batch iterator."""

    config: TrainConfig
    run_dir: Path
    accelerator: Any
    model: nn.Module  # the policy as prepared by accelerate (wrapped in DDP with several processes)
    policy: Policy  # the same policy, unwrapped (what checkpoints hold)
    optimizer: Any
    trainable: list[nn.Parameter]
    batches: Iterator[dict[str, Tensor]]
    start: int
    ema: EMA | None = None
    dataset: str | None = None  # the training data's fingerprint, saved with every checkpoint


def train(config: TrainConfig, *, stop_after: int | None = None, on_save: Callable[[], None] | None = None) -> Path:
    """Train (or resume) the run in ``config.out``; returns the run directory.

    ``stop_after`` ends the process-local loop after that many steps (tests use it to simulate a kill); ``on_save``
    is called by the main process after every checkpoint (the spec runner keeps the run).
    """
    run = _setup(config)
    config = run.config
    if run.start >= config.steps and run.accelerator.is_main_process:
        print(f"{run.run_dir} is already trained ({config.steps} steps): nothing to do", flush=True)
    log = _Log(run)
    end = config.steps if stop_after is None else min(config.steps, run.start + stop_after)
    for step in range(run.start, end):
        loss, grad_norm = _train_step(run, step)
        log.step(step, loss, grad_norm)
        done = step + 1
        if done % config.save_every == 0 or done == config.steps:
            _save(run, done)
            if on_save is not None and run.accelerator.is_main_process:
                on_save()
    log.close()
    return run.run_dir


def _setup(config: TrainConfig) -> _Run:
    """Data, policy and optimizer (from the latest checkpoint if there is one), prepared by accelerate."""
    from accelerate import Accelerator
    from accelerate.utils import DistributedDataParallelKwargs

    run_dir = check_output_dir(config.out, "out")
    # Some reducers leave parameters unused on some batches (e.g. a context projection without context).
    ddp = DistributedDataParallelKwargs(find_unused_parameters=True)
    accelerator = Accelerator(cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp])
    dataset, frames = open_training_data(config)
    fill_from_dataset(config.policy, dataset)  # before comparing with a saved config, which has them filled
    fingerprint = dataset_fingerprint(dataset)
    resume = _resume_point(run_dir, config, fingerprint)
    policy = build_policy(config, dataset)
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameter_groups(policy, trainable, config), lr=config.lr, weight_decay=config.weight_decay)
    ema = EMA(policy, config.ema) if config.ema else None
    start = 0
    if resume is not None:
        start = _load_checkpoint(resume, policy, optimizer, ema, accelerator)
    model, optimizer = accelerator.prepare(policy, optimizer)
    model.train()
    if frames is not dataset:  # the frozen encoder is not trained (it does not even run: features are cached)
        policy.encoder.eval()
    rank, world = accelerator.process_index, accelerator.num_processes
    copies = len(frames.copies) if isinstance(frames, CorruptedCopies) else 1
    plan = _BatchPlan(start, config.steps, len(dataset), config.batch_size, config.seed, rank, world,
                      copies=copies, corrupted_p=config.corrupted_p)  # fmt: skip
    batches = iter(DataLoader(frames, batch_sampler=plan, num_workers=config.num_workers))
    if accelerator.is_main_process:
        print(
            f"training {run_dir} from step {start}: rank 0 of world {world} ({accelerator.device})",
            flush=True,
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    return _Run(config, run_dir, accelerator, model, policy, optimizer, trainable, batches, start, ema, fingerprint)


def _resume_point(run_dir: Path, config: TrainConfig, fingerprint: str | None) -> Path | None:
    """The checkpoint to resume from, or None for a new run; refuses a run of other settings or another dataset.

    A resumed run is the same run: a flag that differs from the saved config would be ignored, so it is an
    error naming the fields (those of ``RESUME_FREE_FIELDS`` may differ).
    """
    candidates = checkpoints_newest_first(run_dir)
    states = []
    for candidate in candidates:  # a damaged one is set aside by _load_checkpoint, which says so
        try:
            states.append(read_state(candidate))
            break
        except CheckpointError:
            continue
    if not states:
        return candidates[0] if candidates else None  # nothing readable: _load_checkpoint names every file
    state = states[0]
    saved = TrainConfig.from_dict(state["train_config"])
    differences = config_differences(saved, config)
    if differences:
        listed = "; ".join(f"{name} {old!r} (asked {new!r})" for name, (old, new) in differences.items())
        from_data = {f"policy.{f}" for f in ("tasks", "state_dim", "action_dim", "action_stats", "camera")}
        if from_data & set(differences):
            listed += f" (these come from the dataset: {config.data} is not the run's {saved.data})"
        raise UserError(
            f"{run_dir} holds a run trained with other settings, which a resume would ignore: {listed}. "
            f"Give another --out for a new run, or the run's own settings ({run_dir / 'config.json'}) to resume it"
        )
    if state.get("dataset") and fingerprint and state["dataset"] != fingerprint:
        raise UserError(
            f"{run_dir} was trained on another dataset ({saved.data}, fingerprint {state['dataset']}) than "
            f"{config.data} (fingerprint {fingerprint}): give another --out for a new run, or --data {saved.data}"
        )
    return candidates[0]


def _load_checkpoint(path: Path, policy: Policy, optimizer: torch.optim.Optimizer, ema, accelerator) -> int:
    """Load weights, optimizer state (and the EMA); returns the step to resume from.

    A damaged checkpoint is set aside (``damaged_step_*``, the main process renames it) and the previous intact
    one is loaded instead, saying which; none intact is an error. The saved RNG states are not restored: every
    step re-seeds torch from ``(seed, step)``.
    """
    damaged = []
    for candidate in [path] + [p for p in checkpoints_newest_first(path.parent.parent) if p != path]:
        try:
            step = read_state(candidate)["step"]
            weights = read_tensors(candidate / "model.safetensors")
            optimizer_file = candidate / "optimizer.safetensors"
            read_tensors(optimizer_file)  # the whole file is readable before any of it is loaded
            average = read_tensors(candidate / "ema.safetensors") if ema is not None else None
        except CheckpointError as err:
            damaged.append((candidate, str(err)))
            continue
        policy.load_state_dict(weights)
        _load_optimizer(optimizer, optimizer_file)
        if ema is not None:
            ema.average = [average[name].clone() for name in ema.names]
        break
    else:
        listed = "; ".join(reason for _, reason in damaged)
        raise CheckpointError(
            f"no intact checkpoint in {path.parent}: {listed}. Delete {path.parent} to train this run from scratch"
        )
    accelerator.wait_for_everyone()  # every process has read its checkpoint before one is renamed
    if damaged and accelerator.is_main_process:
        for bad, reason in damaged:
            aside = bad.with_name(f"damaged_{bad.name}")
            shutil.rmtree(aside, ignore_errors=True)
            os.replace(bad, aside)
            print(f"{reason}; set it aside as {aside}", flush=True)
        point_latest(path.parent, candidate.name)
        print(f"resuming from the previous intact checkpoint {candidate} (step {step})", flush=True)
    return step


def _train_step(run: _Run, step: int) -> tuple[Tensor, Tensor]:
    """One AdamW step on the global batch of ``step``; returns this process's loss and the gradient norm."""
    accelerator, config = run.accelerator, run.config
    torch.manual_seed(_step_seed(config.seed, step))  # flow-matching noise, random shifts, random reducers
    batch = {k: v.to(accelerator.device) for k, v in next(run.batches).items()}
    for group in run.optimizer.param_groups:
        group["lr"] = learning_rate(step, config) * group.get("lr_scale", 1.0)
    # Normalise by the global count of valid steps (one process: this batch's): N processes = one process.
    valid = (~batch["action_is_pad"]).sum().float()
    normalizer = accelerator.reduce(valid, "sum").clamp(min=1) / accelerator.num_processes
    loss = run.model(batch, normalizer=normalizer)
    run.optimizer.zero_grad(set_to_none=True)
    accelerator.backward(loss)
    grad_norm = accelerator.clip_grad_norm_(run.trainable, config.grad_clip)
    run.optimizer.step()
    if run.ema is not None:
        run.ema.update(run.policy, step)
    return loss, grad_norm


def _save(run: _Run, step: int) -> None:
    run.accelerator.wait_for_everyone()
    if run.accelerator.is_main_process:
        optimizer = getattr(run.optimizer, "optimizer", run.optimizer)  # accelerate's wrapper -> AdamW
        save_checkpoint(run.run_dir, step, run.policy, optimizer, run.config, ema=run.ema, dataset=run.dataset)


class _Log:
    """Progress bar, ``metrics.csv`` and TensorBoard, every ``log_every`` steps (written by the main process)."""

    def __init__(self, run: _Run):
        self.run, self.main = run, run.accelerator.is_main_process
        self.path = run.run_dir / "metrics.csv"
        self.writer = None
        if self.main:
            _truncate_log(self.path, run.start)
            self.writer = _tensorboard(run.run_dir)
        self.bar = tqdm(
            total=run.config.steps,
            initial=run.start,
            desc=f"train {run.run_dir.name}",
            disable=not (run.config.progress and self.main),
        )
        self.tic = time.perf_counter()

    def step(self, step: int, loss: Tensor, grad_norm: Tensor) -> None:
        config, done = self.run.config, step + 1
        self.bar.update(1)
        if not (done % config.log_every == 0 or done == config.steps):
            return
        # The loss of the whole global batch: a collective, every process takes part.
        batch_loss = self.run.accelerator.reduce(loss.detach(), "mean").item()
        if not self.main:
            return
        row = {
            "step": done,
            "loss": batch_loss,
            "lr": learning_rate(step, config),
            "grad_norm": float(grad_norm),
            "seconds": time.perf_counter() - self.tic,
        }
        self.bar.set_postfix(loss=f"{row['loss']:.4f}")
        _append_log(self.path, row)
        if self.writer is not None:
            for key in ("loss", "lr", "grad_norm"):
                self.writer.add_scalar(f"train/{key}", row[key], done)

    def close(self) -> None:
        self.bar.close()
        if self.writer is not None:
            self.writer.close()


def _tensorboard(run_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def _truncate_log(path: Path, step: int) -> None:
    """On resume, drop rows logged after the checkpoint: they are about to be redone."""
    if not path.is_file():
        return
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    path.unlink()
    for row in rows:
        _append_log(path, row)


def _append_log(path: Path, row: dict) -> None:
    new = not path.is_file()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)
