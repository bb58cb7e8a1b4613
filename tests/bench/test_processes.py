"""Training as real processes: SIGKILL mid-run then resume, and two processes through ``accelerate launch``.

Both compare weights with an uninterrupted single-process run of the same config on real expert data.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from grids.bench.policy import PolicyConfig
from grids.bench.train import TrainConfig, latest_checkpoint, train

MICRO = {"image_size": 32, "patch_size": 2, "dim": 32, "encoder_depth": 2, "policy_depth": 1, "num_heads": 2}


def _config(tmp_path, demos, name: str, **kwargs) -> TrainConfig:
    defaults = dict(
        data=str(demos), out=str(tmp_path / name), policy=PolicyConfig(reducer="grids", num_tokens=4, chunk_size=4, **MICRO),
        batch_size=4, warmup=3, save_every=5, log_every=5, language_model="hash",
        language_cache=str(tmp_path / "lang"), progress=False,
    )  # fmt: skip
    return TrainConfig(**{**defaults, **kwargs})


def _cli(config: TrainConfig, tmp_path, *, launcher: list[str] | None = None) -> list[str]:
    path = tmp_path / f"{os.path.basename(config.out)}.json"
    path.write_text(json.dumps(config.to_dict()))
    return [
        *(launcher or [sys.executable, "-m"]),
        "grids.cli.main",
        "bench",
        "train",
        "--config",
        str(path),
        "--threads",
        "1",
    ]


def _weights(run) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(run) / "model.safetensors"))


def _step(run) -> int:
    ckpt = latest_checkpoint(run)
    return -1 if ckpt is None else json.loads((ckpt / "state.json").read_text())["step"]


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path, demos):
    torch.set_num_threads(1)
    steps = 150
    config = _config(tmp_path, demos, "killed", steps=steps)
    proc = subprocess.Popen(_cli(config, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while _step(config.out) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # no handler, no clean-up: whatever was being written stays half-written
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"training ended before the kill: {err.decode()[-2000:]}"
    killed_at = _step(config.out)
    assert 10 <= killed_at < steps
    subprocess.run(_cli(config, tmp_path), check=True, capture_output=True)  # resumes from killed_at
    assert _step(config.out) == steps
    straight = train(_config(tmp_path, demos, "straight", steps=steps))
    a, b = _weights(straight), _weights(config.out)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    rows = (tmp_path / "killed" / "metrics.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(5, steps + 1, 5))  # each step logged once


def test_two_processes_through_accelerate_equal_one(tmp_path, demos):
    pytest.importorskip("accelerate")
    torch.set_num_threads(1)
    config = _config(tmp_path, demos, "two", steps=6, save_every=6, log_every=2)
    # The GPU command, unchanged: on a machine without CUDA, accelerate's torchrun path gives gloo CPU processes
    # (its --cpu flag would start a single process).
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(_cli(config, tmp_path, launcher=launcher), capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _step(config.out) == 6
    assert "world 2" in done.stdout  # two processes trained, not one launched twice
    one = train(_config(tmp_path, demos, "one", steps=6, save_every=6, log_every=2))
    a, b = _weights(one), _weights(config.out)
    # Same global batches, gradients averaged by DDP: equal up to float summation order, which Adam turns
    # into ~1e-5 on parameters whose gradient is ~0 (the key bias of attention); lr is 3e-4.
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-4, msg=key)
    losses = [float(r.split(",")[1]) for r in (tmp_path / "two" / "metrics.csv").read_text().splitlines()[1:]]
    reference = [
        float(r.split(",")[1]) for r in (tmp_path / "one" / "metrics.csv").read_text().splitlines()[1:]
    ]
    assert losses == pytest.approx(reference, rel=1e-4)  # the logged loss is the global batch's
