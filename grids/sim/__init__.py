"""Simulation substrate: MetaWorld tasks with two camera views, scripted-expert demos, a dataset on disk.

    from grids.sim import DemoDataset, expert_action, generate_demos, make_env

    env = make_env("reach-v3", image_size=128, seed=0, perturbation="none")
    obs, info = env.reset()                 # obs["images"]: uint8 [2, 128, 128, 3], obs["state"]: float32 [4]
    obs, reward, terminated, truncated, info = env.step(expert_action(env))
    obs, *_ = env.step(expert_action(env), render=False)  # obs["images"] is None: physics only (fast)
    env.close()

    generate_demos(["reach-v3"], 2, "data/demo", workers=1)   # or: grids data generate --tasks quick ...
    item = DemoDataset("data/demo", chunk_size=4)[0]         # dict of torch tensors

Modules: ``tasks`` (task sets, instructions), ``env`` (wrapper), ``perturbations`` (OOD registry), ``experts``
(scripted experts), ``dataset`` (HDF5 shards + manifest, see FORMAT.md), ``generate`` (multi-process writer).
metaworld loads when an env is made, h5py when a dataset is opened. mujoco loads on first use of a name
from ``env``, ``experts``, ``generate`` or ``perturbations``: the dataset alone (``grids data info``,
``grids data export`` in LeRobot's venv) needs neither.
ALOHA (bimanual, the ``aloha`` extra) and LIBERO (the ``libero`` extra) have their own modules:
``aloha`` / ``aloha_experts`` and ``libero`` / ``libero_experts``; ``make_env`` dispatches LIBERO task names.
"""

import importlib
import os

# Offscreen rendering without a display; must be set before mujoco is first imported. "osmesa" also works.
os.environ.setdefault("MUJOCO_GL", "egl")

from grids.sim.dataset import DemoDataset, ShardError  # noqa: E402
from grids.sim.tasks import INSTRUCTIONS, TASK_SETS, resolve_tasks  # noqa: E402

_LAZY = {  # name -> module that defines it, imported on first access (they import mujoco)
    "CAMERA_NAMES": "grids.sim.env",
    "MetaWorldEnv": "grids.sim.env",
    "make_env": "grids.sim.env",
    "expert_action": "grids.sim.experts",
    "generate_demos": "grids.sim.generate",
    "PERTURBATIONS": "grids.sim.perturbations",
    "Perturbation": "grids.sim.perturbations",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'grids.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "CAMERA_NAMES",
    "INSTRUCTIONS",
    "PERTURBATIONS",
    "TASK_SETS",
    "DemoDataset",
    "MetaWorldEnv",
    "Perturbation",
    "ShardError",
    "expert_action",
    "generate_demos",
    "make_env",
    "resolve_tasks",
]
