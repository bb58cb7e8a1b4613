"""Simulation substrate: MetaWorld tasks with two camera views, scripted-expert demos, a dataset on disk.

metaworld loads when an env is made, h5py when a dataset is opened.
"""

import os

# Offscreen rendering without a display; must be set before mujoco is first imported. OSMesa also works.
os.environ.setdefault("MUJOCO_GL", "egl")

from grids.sim.dataset import DemoDataset  # noqa: E402
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
    "expert_action",
    "generate_demos",
    "make_env",
    "resolve_tasks",
]
