"""MuJoCo's offscreen rendering, shared by every suite: the GL backend, a lean renderer, camera projection.

MuJoCo (and dm_control) choose their GL backend once, when first imported, from ``MUJOCO_GL``. This module
sets it to ``egl`` (offscreen, no display) if the user has not chosen one, *then* imports mujoco, so the
modules of ``grids.sim`` take ``mujoco`` from here: ``from grids.sim.rendering import mujoco``. Importing
``grids.sim`` alone (the dataset, the task lists) sets nothing.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # "osmesa" also works; a value already set is kept

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from grids.errors import UserError  # noqa: E402


class RendererError(RuntimeError, UserError):
    """MuJoCo's offscreen renderer cannot start (no GL libraries, a bad MUJOCO_GL)."""


def open_renderer(model: mujoco.MjModel, image_size: int) -> mujoco.Renderer:
    """A ``image_size``² offscreen renderer without shadows, MSAA or reflections; one clear line if GL fails.

    MetaWorld, LIBERO and ALOHA scenes ask for 4096² shadow maps and 4x MSAA (LIBERO also for floor
    reflections): on a software GL that is ~5-10x slower.
    """
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, image_size)  # offscreen buffer >= image
    model.vis.global_.offheight = max(model.vis.global_.offheight, image_size)
    try:
        renderer = mujoco.Renderer(model, image_size, image_size)
    # mujoco raises FatalError / RuntimeError / ImportError depending on the GL backend
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RendererError(
            f"cannot start MuJoCo's offscreen renderer (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): {reason}; "
            "install the GL libraries (bash scripts/setup.sh) or try MUJOCO_GL=osmesa"
        ) from None
    renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
    return renderer


def project_points(model: mujoco.MjModel, data: mujoco.MjData, cam_id: int, points: np.ndarray) -> np.ndarray:
    """World points ``[M, 3]`` -> where camera ``cam_id`` renders them ``[M, 2]`` ((x, y) image fractions, y down)."""
    rotation = data.cam_xmat[cam_id].reshape(3, 3)  # columns: the camera's right, up, backward axes
    local = (np.asarray(points, float) - data.cam_xpos[cam_id]) @ rotation  # [M, 3]
    scale = 1.0 / (np.tan(np.deg2rad(model.cam_fovy[cam_id]) / 2) * -local[:, 2])
    return np.stack([(1 + local[:, 0] * scale) / 2, (1 - local[:, 1] * scale) / 2], axis=-1)
