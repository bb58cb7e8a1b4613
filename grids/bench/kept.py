"""A finished run kept in the repository, so that a fresh checkout evaluates it without its data or a retraining.

A run directory (``runs/...``) holds gigabytes of cache beside it and goes with the machine; what its report needs
again is small: the weights it is evaluated with, its config and its training log. ``keep_run`` writes those to
``<results>/runs/<root name>/<row>-s<seed>/`` — the weights less every tensor that building the policy afresh gives
back bit for bit (the frozen pretrained encoder), under a megabyte for a LIBERO head — and ``restore_run`` makes the
run's final checkpoint again from them, checking that the rebuilt file's sha256 is the trained one's.

Kept: ``weights.safetensors`` (the tensors that training changed), ``state.json`` (the checkpoint's step, config
and data fingerprint, with ``checkpoint``: its directory name, ``weights``: its file name, ``weights_sha256``),
``config.json`` and ``metrics.csv`` (the run's). A restored checkpoint has the evaluated weights only (no optimizer):
it is evaluated, not trained on.
"""

from __future__ import annotations

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
    read_state,
    read_tensors,
    weights_file,
)
from grids.sim.dataset import sha256_file

RUN_FILES = ("config.json", "metrics.csv")
RECORD_ONLY = ("checkpoint", "weights", "weights_sha256")  # in the kept state.json, not the checkpoint's


def is_kept(kept: Path) -> bool:
    return (kept / "state.json").is_file() and (kept / "weights.safetensors").is_file()


def keep_run(run: Path, kept: Path) -> Path:
    """Write run ``run``'s latest checkpoint's evaluated weights, state and the run's files to ``kept``."""
    checkpoint = latest_checkpoint(run)
    if checkpoint is None:
        raise CheckpointError(f"{run} has no checkpoint to keep")
    state, weights = read_state(checkpoint), weights_file(checkpoint)
    trained, rebuilt = read_tensors(weights), _rebuilt(state)
    changed = {k: v for k, v in trained.items() if not (k in rebuilt and _same(rebuilt[k], v))}
    tmp = kept.with_name(kept.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(changed, str(tmp / "weights.safetensors"))
    record = {**state, "checkpoint": checkpoint.name, "weights": weights.name, "weights_sha256": sha256_file(weights)}
    (tmp / "state.json").write_text(json.dumps(record, indent=1))
    for name in RUN_FILES:
        if (run / name).is_file():
            shutil.copy2(run / name, tmp / name)
    shutil.rmtree(kept, ignore_errors=True)
    os.replace(tmp, kept)
    return kept


def restore_run(kept: Path, run: Path) -> Path:
    """Make run ``run``'s final checkpoint (and its files) again from ``kept``; the checkpoint's directory."""
    record = json.loads((kept / "state.json").read_text())
    root = run / "checkpoints"
    tmp = root / f".tmp_{record['checkpoint']}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    tensors = {**_rebuilt(record), **read_tensors(kept / "weights.safetensors")}
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / record["weights"]))
    if (digest := sha256_file(tmp / record["weights"])) != record["weights_sha256"]:
        shutil.rmtree(tmp)
        raise CheckpointError(
            f"restoring {run} from {kept}: the rebuilt weights differ from the trained ones (sha256 {digest[:12]}, "
            f"kept {record['weights_sha256'][:12]}): building the policy no longer gives the frozen weights it was "
            "trained with (another pretrained encoder?); train the row again"
        )
    state = {k: v for k, v in record.items() if k not in RECORD_ONLY}
    (tmp / "state.json").write_text(json.dumps(state, indent=1))
    final = root / record["checkpoint"]
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    for name in RUN_FILES:
        if (kept / name).is_file():
            shutil.copy2(kept / name, run / name)
    (root / "latest.tmp").write_text(final.name)
    os.replace(root / "latest.tmp", root / "latest")
    return final


def _rebuilt(state: dict) -> dict[str, Tensor]:
    """The state dict of the run's policy built afresh (the pretrained encoder's weights, the rest at seed 0's
    initialisation): what a kept run need not store."""
    from grids.bench.policy import Policy

    config = TrainConfig.from_dict(state["train_config"])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return Policy(config.policy).state_dict()


def _same(a: Tensor, b: Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
