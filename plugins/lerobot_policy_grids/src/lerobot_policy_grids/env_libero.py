"""Our LIBERO environment (``grids.sim.make_env("libero_goal/3")``) behind LeRobot's gym interface:
``lerobot-eval --env.type=grids_libero --env.task=libero_goal/3``.

Why not LeRobot's own ``--env.type=libero``: it renders through robosuite (shadows, upside-down frames that
its processor flips, 360² by default) and hands the policy ``observation.images.image`` / ``image2`` and a
state of its own making. A policy trained on our LIBERO demos (``grids data generate --tasks libero_goal/3``,
exported to LeRobot's format) saw our renderer's frames and our 8-d state under the cameras' own names. Here
each sub-environment is our env, so the policy sees exactly those features:

| gym observation                           | LeRobot (``preprocess_observation``)     | dataset feature    |
|-------------------------------------------|------------------------------------------|--------------------|
| ``pixels["agentview"]`` uint8 [S, S, 3]   | ``observation.images.agentview``          | the same           |
| ``pixels["robot0_eye_in_hand"]``          | ``observation.images.robot0_eye_in_hand`` | the same           |
| ``agent_pos`` float32 [8]                 | ``observation.state``                     | the same           |

and takes the 7-d action of the demos (OSC delta position + axis-angle, gripper; 20 Hz). ``task_description``
is LIBERO's instruction (the dataset's ``task`` string).

**Official initial states.** By default episode e of a task starts from LIBERO's e-th fixed initial state
(``LiberoEnv.reset(init_state=e)``; e mod 50 past the 50 that ship), as LeRobot's and openpi's evaluations do:
sub-env i of ``--eval.batch_size`` n starts at state i and moves n states on at every new rollout, so
lerobot-eval's episodes 0, 1, 2, ... get states 0, 1, 2, ... whatever the batch size. Gymnasium's autoreset
of a finished sub-env is absorbed by LeRobot's ``FreezeAfterEpisodeEnd`` and uses up no state. A state holds
every object and the arm but not the fixtures (cabinet, stove, rack: model constants), which LIBERO places from
the episode's seed, lerobot-eval's ``--seed`` + e; ``--seed=100000`` gives the episodes of ``grids bench eval``.
``--env.init_states=false`` draws fresh placements from the episode seeds instead (what the demos come from).
An episode ends at the first success (LIBERO's ``check_success()``) or after ``episode_length`` steps
(default: openpi's limit for the suite, Spatial 220, Object 280, Goal 300, LIBERO-10 520).
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

import gymnasium as gym
from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from grids.sim.lerobot_export import LAYOUTS
from grids.sim.lerobot_export import lerobot_features as grids_lerobot_features
from lerobot_policy_grids.gym_env import SimGymEnv

# LIBERO's, named here rather than imported: importing grids.sim.libero imports robosuite and mujoco
SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")
TASKS_PER_SUITE = 10
OFFICIAL_STATES = 50  # fixed initial states LIBERO ships per task
CAMERAS = ("agentview", "robot0_eye_in_hand")  # grids.sim.libero.CAMERA_NAMES
LAYOUT = LAYOUTS["libero"]  # what `grids data export` writes for LIBERO demos: one definition for both
STATE_NAMES, ACTION_NAMES = list(LAYOUT.state_names), list(LAYOUT.action_names)
LIBERO_FPS = LAYOUT.fps  # robosuite's control rate in LIBERO
ALLOWED = (
    f"a LIBERO task is '<suite>/<index>' with a suite of {list(SUITES)} and an index 0-{TASKS_PER_SUITE - 1} "
    "(e.g. 'libero_goal/3'), or a whole suite ('libero_goal': its 10 tasks); several are comma-separated"
)


def parse_tasks(spec: str | None) -> list[str]:
    """``--env.task`` -> task names: ``"libero_goal/3,libero_object"`` -> libero_goal/3, libero_object/0..9."""
    names = [name.strip() for name in (spec or "").split(",") if name.strip()]
    if not names:
        raise ValueError(f"--env.task names no LIBERO task: {spec!r}; {ALLOWED}")
    tasks = []
    for name in names:
        if name in SUITES:
            tasks += [f"{name}/{index}" for index in range(TASKS_PER_SUITE)]
            continue
        suite, _, index = name.partition("/")
        if suite not in SUITES or index not in [str(i) for i in range(TASKS_PER_SUITE)]:
            close = difflib.get_close_matches(suite, SUITES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close and suite not in SUITES else ""
            metaworld = " (MetaWorld: --env.type=grids_metaworld)" if name.endswith("-v3") else ""
            raise ValueError(
                f"unknown LIBERO task {name!r} in --env.task={spec!r}{hint}{metaworld}; {ALLOWED}"
            )
        tasks.append(name)
    repeated = sorted({task for task in tasks if tasks.count(task) > 1})
    if repeated:
        raise ValueError(f"--env.task={spec!r} names {repeated} twice")
    return tasks


def lerobot_features(*, image_size: int) -> dict[str, dict]:
    """The LeRobotDataset features of our exported LIBERO demos: what a policy evaluated here was trained on."""
    return grids_lerobot_features(image_size=image_size, camera_names=list(CAMERAS), layout=LAYOUT)


class GridsLiberoGymEnv(SimGymEnv):
    """One LIBERO task of ours as a ``gym.Env`` with LeRobot's observation layout.

    ``first_state`` / ``state_stride``: the official state of the first reset and how far each later reset
    moves on (a vector env of n gives sub-env i ``first_state=i, state_stride=n``); ``reset(options=
    {"init_state": j})`` loads state j without moving the sequence on.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": LIBERO_FPS}

    def __init__(
        self,
        task: str,
        *,
        image_size: int = 128,
        max_steps: int | None = None,
        init_states: bool = True,
        first_state: int = 0,
        state_stride: int = 1,
        perturbation: str = "none",
    ):
        super().__init__()
        from grids.sim import make_env

        (task,) = parse_tasks(task)
        env = make_env(task, image_size=image_size, max_steps=max_steps, perturbation=perturbation)
        self._wrap(env, image_size=image_size, state_dim=len(STATE_NAMES), action_dim=len(ACTION_NAMES))
        self.task = task  # cameras: (agentview, robot0_eye_in_hand)
        self.init_states, self.next_state, self.state_stride = init_states, first_state, state_stride

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        state = None
        if self.init_states or "init_state" in (options or {}):
            state = (options or {}).get("init_state")
            if state is None:
                state, self.next_state = (
                    self.next_state % OFFICIAL_STATES,
                    self.next_state + self.state_stride,
                )
        obs, info = self._env.reset(seed=seed, init_state=state)
        return self._observation(obs), {
            "is_success": False,
            "seed": info["seed"],
            "init_state": -1 if state is None else state,
        }


@EnvConfig.register_subclass("grids_libero")
@dataclass
class GridsLiberoEnvConfig(EnvConfig):
    """``--env.type=grids_libero``: ``--env.task`` is one LIBERO task (``libero_goal/3``), several
    (comma-separated) or a suite (``libero_goal``), one vector env each, reported as its own group by
    lerobot-eval; the other fields are our env's."""

    task: str = "libero_object/0"
    fps: int = LIBERO_FPS
    episode_length: int | None = (
        None  # None: openpi's limit for the task's suite (grids.sim.libero.MAX_STEPS)
    )
    image_size: int = 128
    init_states: bool = True  # episode e starts from LIBERO's official state e; false: a fresh placement
    perturbation: str = "none"  # grids.sim.perturbations (camera shift, robot-init, layout, ...)
    features: dict[str, PolicyFeature] = field(default_factory=dict)
    features_map: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        parse_tasks(self.task)  # a bad name fails when the command line is parsed, naming what is allowed
        image = PolicyFeature(type=FeatureType.VISUAL, shape=(self.image_size, self.image_size, 3))
        self.features = {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(len(ACTION_NAMES),)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(len(STATE_NAMES),)),
        }
        self.features_map = {ACTION: ACTION, "agent_pos": OBS_STATE}
        for camera in CAMERAS:
            self.features[f"pixels/{camera}"] = image
            self.features_map[f"pixels/{camera}"] = f"{OBS_IMAGES}.{camera}"

    @property
    def tasks(self) -> list[str]:
        return parse_tasks(self.task)

    @property
    def gym_kwargs(self) -> dict:
        return {
            "image_size": self.image_size,
            "max_steps": self.episode_length,
            "init_states": self.init_states,
            "perturbation": self.perturbation,
        }

    def create_envs(
        self, n_envs: int, use_async_envs: bool = False
    ) -> dict[str, dict[int, gym.vector.VectorEnv]]:
        """``{task: {0: SyncVectorEnv of n_envs}}``, one group per task; sub-env i starts at official state i."""
        from lerobot.envs.utils import FreezeAfterEpisodeEnd

        if use_async_envs and n_envs > 1:
            logging.warning("grids_libero runs its %d env(s) per task in one process (SyncVectorEnv)", n_envs)

        def factory(task: str, i: int):
            def make() -> gym.Env:
                env = GridsLiberoGymEnv(task, first_state=i, state_stride=n_envs, **self.gym_kwargs)
                return FreezeAfterEpisodeEnd(env)  # autoreset: no simulation, no official state used up

            return make

        envs = {}
        for task in self.tasks:
            factories = [factory(task, i) for i in range(n_envs)]
            envs[task] = {
                0: gym.vector.SyncVectorEnv(factories, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
            }
        return envs
