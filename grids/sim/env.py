"""``make_env``: any registered suite's task as a ``SimEnv`` (``grids.sim.base``), found through the registry.

    env = make_env("reach-v3", image_size=128, seed=0)      # MetaWorld (grids.sim.metaworld)
    env = make_env("libero_object/0")                       # LIBERO (grids.sim.libero)
    env = make_env("transfer-cube")                         # ALOHA (grids.sim.aloha)

Nothing here is suite-specific: the task's name finds its suite (``grids.sim.tasks``, ``grids.sim.suites``), and
the suite's env class checks the camera and the perturbation and builds the env. An unknown task is named with
the names of every suite.
"""

from __future__ import annotations

from grids.sim.base import SimEnv
from grids.sim.perturbations import Perturbation, with_level
from grids.sim.suites import SUITES
from grids.sim.tasks import check_task


def make_env(
    task: str,
    *,
    image_size: int = 128,
    seed: int = 0,
    perturbation: str | Perturbation = "none",
    max_steps: int | None = None,
    camera: str | None = None,
    level: int | None = None,
    render: bool = True,
) -> SimEnv:
    """A MetaWorld task with two camera views (``camera`` + the gripper's), a LIBERO task
    (``"libero_object/0"``: agentview + eye-in-hand) or an ALOHA task (``"transfer-cube"``, ``"insertion"``: top
    + angle); ``camera``: MetaWorld's third-person camera (None: each suite's default), ``max_steps``: None for
    the suite's own limit, ``render=False``: physics only (see ``grids.sim.base``).

    ``level``: with one of LIBERO-Plus's seven dimensions as ``perturbation`` (``"camera"``, ``"background"``,
    ...; ``grids.sim.perturbations.DIMENSIONS``), its level 1-5 (0: none); the same as
    ``perturbation="background@3"``."""
    perturbation = with_level(perturbation, level)
    env_class = SUITES[check_task(task)].env_class()
    return env_class(
        task, image_size=image_size, seed=seed, perturbation=perturbation, max_steps=max_steps, camera=camera,
        render=render,
    )  # fmt: skip


def check_perturbation(task: str, perturbation: str | Perturbation) -> Perturbation:
    """The perturbation, if ``task``'s suite can apply it (what ``make_env`` checks, without building)."""
    return SUITES[check_task(task)].env_class().check_perturbation(task, perturbation)
