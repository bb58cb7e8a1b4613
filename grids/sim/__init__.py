"""Simulation substrate: MetaWorld, LIBERO and ALOHA behind one base, scripted-expert demos, a dataset on disk.

    from grids.sim import DemoDataset, expert_action, generate_demos, make_env

    env = make_env("reach-v3", image_size=128, seed=0, perturbation="none")
    obs, info = env.reset()                 # obs["images"]: uint8 [2, 128, 128, 3], obs["state"]: float32 [4]
    obs, reward, terminated, truncated, info = env.step(expert_action(env))
    obs, *_ = env.step(expert_action(env), render=False)  # obs["images"] is None: physics only (fast)
    env.close()

    generate_demos(["reach-v3"], 2, "data/demo", workers=1)   # or: grids data generate --tasks quick ...
    item = DemoDataset("data/demo", chunk_size=4)[0]         # dict of torch tensors

Modules: ``base`` (``SimEnv``, what every simulator shares), ``metaworld`` / ``libero`` / ``aloha`` (the suites,
LIBERO's and ALOHA's behind their extras), ``suites`` (the registry that ``env.make_env`` finds them in; ``tasks``
registers them beside their task names), ``rendering`` (MuJoCo's offscreen renderer), ``perturbations`` (OOD
registry), ``experts`` / ``libero_experts`` / ``aloha_experts`` (scripted experts), ``rollout`` (the episode loop
of demonstrations, expert reports and evaluation), ``dataset`` (HDF5 shards + manifest, see FORMAT.md),
``generate`` (multi-process writer). Importing ``grids.sim`` loads neither a simulator nor mujoco: metaworld loads
when an env is made, h5py when a dataset is opened, mujoco on first use of a name from ``env``, ``base``,
``generate`` or ``perturbations`` (then ``grids.sim.rendering`` picks offscreen EGL unless ``MUJOCO_GL`` is set):
the dataset alone (``grids data info``, ``grids data export`` in LeRobot's venv) needs neither.
"""

import importlib

from grids.sim.dataset import DemoDataset, ShardError
from grids.sim.tasks import INSTRUCTIONS, TASK_SETS, resolve_tasks

_LAZY = {  # name -> module that defines it, imported on first access (most import mujoco)
    "CAMERA_NAMES": "grids.sim.metaworld",
    "MetaWorldEnv": "grids.sim.metaworld",
    "SimEnv": "grids.sim.base",
    "make_env": "grids.sim.env",
    "play_episode": "grids.sim.rollout",
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
    "SimEnv",
    "expert_action",
    "generate_demos",
    "make_env",
    "play_episode",
    "resolve_tasks",
]
