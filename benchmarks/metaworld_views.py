"""How legible are the benchmark's views? Size of each task's object and goal, in 8-pixel patches.

For every task (MT10 by default) and third-person camera (``workspace``, the benchmark's, and
``corner3``, the first benchmark's), renders the first frame of evaluation seed 0 with MuJoCo's
segmentation and measures, on the 128-pixel image:
* the goal marker (the task's ``goal`` site) and the object the task manipulates (every geom of the
  body nearest to the object position in MetaWorld's privileged observation);
* as the side of the square with the same pixel area, in patches (1 patch = 8 px = one token of the
  16 x 16 grid), and whether it is visible at all.

    python benchmarks/metaworld_views.py            # -> benchmarks/results/metaworld_views.{md,json,png}
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import mujoco
import numpy as np

from grids.bench.evaluate import EVAL_SEED_BASE
from grids.sim import make_env, resolve_tasks

OUT = Path("benchmarks/results/metaworld_views")
PATCH = 8


def _object_body(env, visible: np.ndarray) -> int:
    """The body of the visible geom nearest to the object position of MetaWorld's observation (obs[4:7])."""
    data, model = env.unwrapped.data, env.unwrapped.model
    robot = model.body_rootid[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "hand")]
    geoms = [
        g
        for g in np.unique(visible)
        if model.body_rootid[model.geom_bodyid[g]] != robot and model.geom_bodyid[g] != 0
    ]
    nearest = min(geoms, key=lambda g: np.linalg.norm(data.geom_xpos[g] - env.privileged_obs[4:7]))
    return int(model.geom_bodyid[nearest])


def measure(task: str, camera: str, size: int) -> tuple[dict, np.ndarray]:
    env = make_env(task, image_size=size, camera=camera)
    try:
        obs, _ = env.reset(seed=EVAL_SEED_BASE)
        model, data = env.unwrapped.model, env.unwrapped.data
        renderer = env._renderer
        renderer.enable_segmentation_rendering()
        renderer.update_scene(data, camera=env._camera_ids[0])
        seg = renderer.render()  # [S, S, 2]: object id, object type
        renderer.disable_segmentation_rendering()
        if camera == "corner3":
            seg = seg[::-1, ::-1]
        goal = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, "goal")
        is_geom = seg[..., 1] == mujoco.mjtObj.mjOBJ_GEOM
        body = _object_body(env, seg[..., 0][is_geom])
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] == body]
        masks = {
            "goal": (seg[..., 0] == goal) & (seg[..., 1] == mujoco.mjtObj.mjOBJ_SITE) if goal >= 0 else None,
            "object": is_geom & np.isin(seg[..., 0], geoms),
        }
        out = {"object_body": mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body)}
        for name, mask in masks.items():
            pixels = int(mask.sum()) if mask is not None else 0
            out[f"{name}_pixels"] = pixels
            out[f"{name}_side_patches"] = round(math.sqrt(pixels) / PATCH * size / 128, 2)
        return out, obs["images"]
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="mt10")
    parser.add_argument("--cameras", default="workspace,corner3")
    args = parser.parse_args()
    tasks, cameras = resolve_tasks(args.tasks), args.cameras.split(",")
    rows, images = {}, {}
    for camera in cameras:
        for task in tasks:
            rows.setdefault(camera, {})[task], images[(camera, task)] = measure(task, camera, 128)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.with_suffix(".json").write_text(
        json.dumps({"patch_pixels": PATCH, "image_size": 128, "per_camera": rows}, indent=1)
    )
    lines = [
        "# Legibility of the MetaWorld views (`python benchmarks/metaworld_views.py`)",
        "",
        "Side of the square with the same pixel area as the goal marker / the manipulated object, in 8-px patches",
        "(one token of the 16 x 16 grid) at 128 px, first frame of evaluation seed 0; 0 = not visible.",
        "",
        "| task | " + " | ".join(f"{c}: goal | {c}: object" for c in cameras) + " |",
        "|---|" + "---:|---:|" * len(cameras),
    ]
    for task in tasks:
        cells = [
            f"{rows[c][task]['goal_side_patches']} | {rows[c][task]['object_side_patches']}" for c in cameras
        ]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    _figure(images, tasks, cameras)
    print("\n".join(lines))


def _figure(images, tasks, cameras) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(c, v) for c in cameras for v in (0, 1) if not (c != cameras[0] and v == 1)]
    fig, axes = plt.subplots(len(rows), len(tasks), figsize=(1.6 * len(tasks), 1.7 * len(rows)))
    for r, (camera, view) in enumerate(rows):
        for t, task in enumerate(tasks):
            ax = axes[r, t]
            ax.imshow(images[(camera, task)][view])
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(task.removesuffix("-v3"), fontsize=7)
            if t == 0:
                ax.set_ylabel(camera if view == 0 else "gripper", fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    main()
