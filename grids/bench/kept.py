"""A run kept in the repository, so that a fresh checkout evaluates it, or goes on training it, without the
machine that made it.

A run directory (``runs/...``) holds gigabytes of cache beside it and goes with the machine; what is needed again is
small. ``keep_run`` writes the run's latest checkpoint to ``<results>/runs/<root name>/<row>-s<seed>/`` — its weights
files less every tensor that building the policy afresh gives back bit for bit (the frozen pretrained encoder) —
with the run's ``config.json`` and ``metrics.csv``. A finished run keeps only the weights it is evaluated with
(0.9 MB for a LIBERO GridS-16 head); an unfinished one keeps all of its checkpoint (weights, EMA, optimizer), so
that another machine resumes it to the weights of an uninterrupted run. ``restore_run`` makes the checkpoint
again, checking every file's sha256 against the kept one's.

``state.json`` is the checkpoint's (step, config, data fingerprint) with ``checkpoint`` (its directory name) and
``files`` (each kept file's name and the sha256 of the checkpoint's own file).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import Tensor

from grids.bench.train import (
    CheckpointError,
    TrainConfig,
    latest_checkpoint,
    point_latest,
    read_state,
    read_tensors,
    weights_file,
)
from grids.sim.dataset import sha256_file

RUN_FILES = ("config.json", "metrics.csv")
WEIGHTS = ("model.safetensors", "ema.safetensors")  # kept less what the policy's build gives back
RECORD_ONLY = ("checkpoint", "files")  # in the kept state.json, not the checkpoint's


def _record(kept: Path) -> dict | None:
    """The kept ``state.json`` where every file it lists is there (None: nothing kept, or a file missing)."""
    if not (kept / "state.json").is_file():
        return None
    record = json.loads((kept / "state.json").read_text())
    return record if all((kept / name).is_file() for name in record["files"]) else None


def kept_step(kept: Path) -> int | None:
    """The step of the checkpoint kept in ``kept`` (None: nothing kept, or a file missing)."""
    record = _record(kept)
    return None if record is None else record["step"]


def keeps(kept: Path, checkpoint: Path) -> bool:
    """``kept`` holds ``checkpoint`` (the same step and, file for file, the same sha256)."""
    record = _record(kept)
    return record is not None and record["checkpoint"] == checkpoint.name and all(
        (checkpoint / name).is_file() and sha256_file(checkpoint / name) == digest for name, digest in record["files"].items()
    )


def keep_run(run: Path, kept: Path) -> Path:
    """Write run ``run``'s latest checkpoint (a finished run's: its evaluated weights only) and files to ``kept``."""
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise CheckpointError(f"{run} has no checkpoint to keep")
    state = read_state(checkpoint)
    finished = state["step"] >= state["train_config"]["steps"]
    names = [weights_file(checkpoint).name] if finished else sorted(f.name for f in checkpoint.glob("*.safetensors"))
    tmp = kept.with_name(kept.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = json.dumps(state["train_config"])
    for name in names:
        if name in WEIGHTS:
            fixed = _rebuilt(config)
            trained = read_tensors(checkpoint / name)
            save_file({k: v for k, v in trained.items() if not (k in fixed and _same(fixed[k], v))}, str(tmp / name))
        else:
            shutil.copy2(checkpoint / name, tmp / name)
    files = {name: sha256_file(checkpoint / name) for name in names}
    (tmp / "state.json").write_text(json.dumps({**state, "checkpoint": checkpoint.name, "files": files}, indent=1))
    for name in RUN_FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, tmp / name)
    shutil.rmtree(restore_run(tmp, tmp / "check").parent.parent)  # it restores now, while the run is here to compare
    old = kept.with_name(kept.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if kept.exists():
        os.replace(kept, old)
    os.replace(tmp, kept)
    shutil.rmtree(old, ignore_errors=True)
    return kept


def restore_run(kept: Path, run: Path) -> Path:
    """Make run ``run``'s kept checkpoint (and its files) again from ``kept``; the checkpoint's directory."""
    record = json.loads((kept / "state.json").read_text())
    root = run / "checkpoints"
    tmp = root / f".tmp_{record['checkpoint']}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, digest in record["files"].items():
        if name in WEIGHTS:
            tensors = {**_rebuilt(json.dumps(record["train_config"])), **read_tensors(kept / name)}
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / name))
        else:
            shutil.copy2(kept / name, tmp / name)
        if (made := sha256_file(tmp / name)) != digest:
            shutil.rmtree(tmp)
            raise CheckpointError(
                f"restoring {run} from {kept}: the rebuilt {name} differs from the trained one (sha256 {made[:12]}, "
                f"kept {digest[:12]}): building the policy no longer gives the frozen weights it was trained with "
                f"(another pretrained encoder, another safetensors?); delete {kept} and train the row again"
            )
    state = {k: v for k, v in record.items() if k not in RECORD_ONLY}
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    final = root / record["checkpoint"]
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for name in RUN_FILES:
        if (kept / name).is_file():
            shutil.copy2(kept / name, run / name)
    point_latest(root, final.name)
    return final


@functools.lru_cache(maxsize=4)  # a run kept every few hundred steps builds its policy once
def _rebuilt(train_config: str) -> dict[str, Tensor]:
    """The tensors that building the policy of ``train_config`` (JSON) gives the same whatever the random seed (the
    pretrained encoder's weights, constant buffers): what a kept run need not store. A weight left at its random
    initialisation is not among them, so a kept run does not depend on how torch initialises."""
    from grids.bench.policy import Policy

    config = TrainConfig.from_dict(json.loads(train_config))
    builds = []
    for seed in (0, 1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            builds.append(Policy(config.policy).state_dict())
    return {k: v for k, v in builds[0].items() if _same(v, builds[1][k])}


def _same(a: Tensor, b: Tensor) -> bool:
    """Bit for bit (``torch.equal`` holds -0.0 equal to 0.0)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.contiguous().reshape(-1).view(torch.uint8), b.contiguous().reshape(-1).view(torch.uint8))
