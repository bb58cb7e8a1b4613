"""Simulation substrate: MetaWorld tasks with two camera views, scripted-expert demos, a dataset on disk.

    from grids.sim import DemoDataset, expert_action, generate_demos, make_env

    env = make_env("reach-v3", image_size=128, seed=0, perturbation="none")
    obs, info = env.reset()                 # obs["images"]: uint8 [2, 128, 128, 3], obs["state"]: float32 [4]
    obs, reward, terminated, truncated, info = env.step(expert_action(env))
    env.close()

    generate_demos(["reach-v3"], 2, "data/demo", workers=1)   # or: grids data generate --tasks quick ...
    item = DemoDataset("data/demo", chunk_size=4)[0]         # dict of torch tensors

Modules: ``tasks`` (task sets, instructions), ``env`` (wrapper), ``perturbations`` (OOD registry), ``experts``
(scripted experts), ``dataset`` (HDF5 shards + manifest, see FORMAT.md), ``generate`` (multi-process writer).
metaworld loads when an env is made, h5py when a dataset is opened. ALOHA (bimanual, the ``aloha`` extra)
is imported on its own: ``grids.sim.aloha`` (env) and ``grids.sim.aloha_experts`` (scripted experts).
"""

import os

# Offscreen rendering without a display; must be set before mujoco is first imported. "osmesa" also works.
os.environ.setdefault("MUJOCO_GL", "egl")

from grids.sim.dataset import DemoDataset, ShardError  # noqa: E402
from grids.sim.env import CAMERA_NAMES, MetaWorldEnv, make_env  # noqa: E402
from grids.sim.experts import expert_action  # noqa: E402
from grids.sim.generate import generate_demos  # noqa: E402
from grids.sim.perturbations import PERTURBATIONS, Perturbation  # noqa: E402
from grids.sim.tasks import INSTRUCTIONS, TASK_SETS, resolve_tasks  # noqa: E402

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
