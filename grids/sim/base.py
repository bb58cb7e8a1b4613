"""What every simulator shares: ``SimEnv``, the base that MetaWorld, LIBERO and ALOHA subclass.

One observation (``obs``), in every suite::

    images       uint8   [V, S, S, 3]   one view per name in ``env.camera_names`` (None: not rendered)
    state        float32 [D]            the robot's proprioception (the suite's module says what)
    instruction  str                    the task's instruction (as shown: LIBERO's "language" perturbation rewords it)
    task         str

``step`` returns ``terminated=True`` at the first success (``info["success"]``) and ``truncated=True`` after
``max_steps`` steps without one; ``max_steps`` defaults to the suite's own limit (``default_max_steps``).

Seeding: ``reset(seed=s)`` draws the episode from ``s`` alone, so equal seeds give equal episodes; ``reset()``
without a seed uses the constructor's ``seed`` the first time, then the previous episode's seed + 1. A seed is
an int in ``[0, 2**32)``: a float or a bool is refused (``1.5`` would otherwise run and report seed 1).

Rendering: ``render=False`` at construction opens no renderer (physics only: ``images`` is always None), and
``step(action, render=False)`` skips one frame's images. ``close()`` (also on leaving a ``with`` block, and at
interpreter exit, before EGL goes) frees the renderer and the simulator; ``reset``/``step`` after it raise
``EnvClosedError``.

A suite subclasses ``SimEnv``: it checks its task and builds its simulator in ``__init__`` (after
``super().__init__``), and fills in ``_reset``, ``_step``, ``state``, ``_render_view`` and the class-level
``instructions``, ``views``, ``default_max_steps``; see ``grids/sim/aloha.py``.
"""

from __future__ import annotations

import atexit
import weakref
from typing import Any, ClassVar

import numpy as np

from grids.core.validation import is_int
from grids.errors import UserError
from grids.sim.perturbations import Perturbation, get_perturbation
from grids.sim.rendering import open_renderer

MAX_STEPS_LIMIT = 1000  # any suite; each has its own default (MetaWorld 200, LIBERO openpi's, ALOHA 300)
# The default third-person camera: MetaWorld's own "workspace" pose (grids.sim.metaworld.CAMERAS). The other
# suites take the name for their own default view (a policy's config may name it whatever its suite).
DEFAULT_CAMERA = "workspace"

# Renderers still open at interpreter exit would be freed after EGL is torn down (a noisy EGLError); close them first.
_OPEN_ENVS: weakref.WeakSet = weakref.WeakSet()


class EnvClosedError(RuntimeError, UserError):
    """``reset`` or ``step`` on an environment after its ``close()``."""


def check_image_size(image_size) -> None:
    if not is_int(image_size) or not 16 <= image_size <= 1024:
        raise ValueError(f"image_size must be an int in [16, 1024], got {image_size!r}")


def check_seed(seed, name: str = "seed") -> int:
    """An episode seed: an int in ``[0, 2**32)`` (numpy ints too), not a float or a bool; returns it as an int."""
    if not is_int(seed) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32), got {seed!r}")
    return int(seed)


def check_max_steps(max_steps) -> int:
    if not is_int(max_steps) or not 1 <= max_steps <= MAX_STEPS_LIMIT:
        raise ValueError(f"max_steps must be an int in [1, {MAX_STEPS_LIMIT}], got {max_steps!r}")
    return int(max_steps)


def check_action(action, size: int, dtype=np.float32) -> np.ndarray:
    """``action`` as a finite ``dtype`` array of shape ``(size,)``; anything else is named in one line."""
    try:
        array = np.asarray(action, dtype=dtype)
    except (TypeError, ValueError):
        array = None
    if array is None or array.shape != (size,) or not np.all(np.isfinite(array)):
        raise ValueError(f"action must be a finite array of shape ({size},), got {action!r}")
    return array


class SimEnv:
    """A gymnasium-style environment of one task; see the module docstring."""

    action_dim: ClassVar[int]
    action_dtype: ClassVar[type] = np.float32  # what ``check_action`` casts the action to

    def __init__(
        self,
        task: str,
        *,
        instruction: str,
        image_size: int,
        seed: int,
        max_steps: int | None,
        perturbation: str | Perturbation,
        camera_names: tuple[str, ...],
        render: bool,
    ):
        check_image_size(image_size)
        self.max_steps = check_max_steps(self.default_max_steps(task) if max_steps is None else max_steps)
        self._next_seed = check_seed(seed)
        self.perturbation = self.check_perturbation(task, perturbation)
        self.task, self.instruction, self.instruction_shown = task, instruction, instruction
        self.image_size, self.camera_names, self.render = image_size, tuple(camera_names), bool(render)
        self.episode_seed: int | None = None
        self._rng = np.random.default_rng(0)  # the perturbation's stream, drawn anew at every reset
        self._renderer = None
        self._steps, self._started, self._closed = 0, False, False

    # --- what a suite says about itself, before any env is built ---------------------------------------------
    @classmethod
    def instructions(cls) -> dict[str, str]:
        """Every task of the suite -> its instruction."""
        raise NotImplementedError

    @classmethod
    def views(cls, camera: str | None = None) -> tuple[str, ...]:
        """The cameras an env renders, in observation order, given the third-person ``camera`` asked for (None or
        ``DEFAULT_CAMERA``: the suite's default); a camera the suite does not have is named."""
        raise NotImplementedError

    @classmethod
    def default_max_steps(cls, task: str) -> int:
        raise NotImplementedError

    @classmethod
    def check_perturbation(cls, task: str, perturbation: str | Perturbation) -> Perturbation:
        """The perturbation, if this suite can apply it to ``task`` (``make_env`` checks it without building)."""
        return get_perturbation(perturbation)

    @classmethod
    def dataset_config(cls) -> dict[str, Any]:
        """What a demonstration dataset of this suite records beside the common config (``generate_demos``)."""
        return {}

    # --- what a suite fills in ------------------------------------------------------------------------------
    def _reset(self, seed: int, **options) -> dict[str, Any]:
        """Start the episode drawn from ``seed``; returns the suite's own entries of the reset's ``info``."""
        raise NotImplementedError

    def _step(self, action: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """Apply a checked action: ``(reward, success, the suite's own entries of info)``."""
        raise NotImplementedError

    def state(self) -> np.ndarray:
        """``obs["state"]``: float32 [D]."""
        raise NotImplementedError

    def _render_view(self, index: int) -> np.ndarray:
        """The image [S, S, 3] uint8 of camera ``camera_names[index]``."""
        raise NotImplementedError

    def _close_simulator(self) -> None:
        """Free the suite's simulator (called once, by ``close``)."""

    # --- shared ---------------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None, **options) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new episode drawn from ``seed`` (default: the previous one's + 1); ``options``: the suite's own (LIBERO:
        ``init_state``)."""
        self._check_open()
        seed = self._next_seed if seed is None else check_seed(seed)
        self.episode_seed, self._next_seed = seed, seed + 1
        extra = self._reset(seed, **options)
        self._steps, self._started = 0, True
        return self._observation(), {"success": False, "seed": seed, **extra}

    def step(
        self, action: np.ndarray, *, render: bool = True
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        self._check_open()
        if not self._started:
            raise RuntimeError("call reset() before step()")
        reward, success, extra = self._step(check_action(action, self.action_dim, self.action_dtype))
        self._steps += 1
        info = {"success": success, "step": self._steps, **extra}
        truncated = self._steps >= self.max_steps and not success
        return self._observation(render), reward, success, truncated, info

    def render_views(self) -> np.ndarray:
        """``[V, S, S, 3]`` uint8, one image per camera in ``camera_names``, through the perturbation's pixels."""
        if self._renderer is None:
            raise RuntimeError(f"this {type(self).__name__} was made with render=False")
        views = np.stack([self._render_view(index) for index in range(len(self.camera_names))])
        return self.perturbation.corrupt(views, self._rng)

    def _observation(self, render: bool = True) -> dict[str, Any]:
        return {
            "images": self.render_views() if render and self.render else None,
            "state": self.state(),
            "instruction": self.instruction_shown,
            "task": self.task,
        }

    def _open_renderer(self, model) -> None:
        """(Re)open the renderer on ``model`` (MuJoCo's ``MjModel``), if this env renders; it is closed at exit."""
        if not self.render:
            return
        if self._renderer is not None:
            self._renderer.close()
        self._renderer = open_renderer(model, self.image_size)
        if not _OPEN_ENVS:  # registered after mujoco's own EGL exit handlers, so it runs before them
            atexit.register(_close_open_envs)
        _OPEN_ENVS.add(self)

    def _check_open(self) -> None:
        if self._closed:
            raise EnvClosedError(
                f"this {type(self).__name__} ({self.task}) was closed; make a new one with make_env"
            )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._close_simulator()
        _OPEN_ENVS.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _close_open_envs() -> None:
    for env in list(_OPEN_ENVS):
        env.close()
