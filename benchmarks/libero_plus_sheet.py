"""What each LIBERO-Plus level looks like: one agentview frame per dimension x level, one task per suite.

For libero_spatial/0, libero_object/0, libero_goal/0 and libero_10/0: LIBERO's first official initial state
(``init_state=0``, seed 0) at 128 px, rendered as the env renders it (no shadows, reflections or
multisampling), after the settle steps: what the policy sees first. Rows are the seven dimensions, columns
level 0 (none) to 5; every frame comes from ``make_env(task, perturbation=dimension, level=level)``. The
language row shows the frame with what the policy is told, the noise row names the corruption drawn; a
separate sheet shows all five corruptions at every level on the first task's clean frame.

    python benchmarks/libero_plus_sheet.py  # -> docs/libero_plus_sheet_<suite>.png, docs/libero_plus_sheet_noise.png
    python benchmarks/libero_plus_sheet.py --tasks libero_goal/3 --noise '' --out /tmp
"""

from __future__ import annotations

import argparse
import textwrap
import zlib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from grids.sim import make_env  # noqa: E402
from grids.sim.perturbations import CORRUPTIONS, DIMENSIONS, LEVELS, corrupt_image, get_perturbation  # noqa: E402

TASKS = ("libero_spatial/0", "libero_object/0", "libero_goal/0", "libero_10/0")
SEED, INIT_STATE, SIZE = 0, 0, 128


def first_frame(task: str, dimension: str, level: int) -> tuple[np.ndarray, str]:
    """The agentview frame and the instruction the policy gets at the start of the episode."""
    with make_env(task, image_size=SIZE, perturbation=dimension, level=level) as env:
        obs, _ = env.reset(seed=SEED, init_state=INIT_STATE)
    return obs["images"][0], obs["instruction"]


def caption(dimension: str, level: int, instruction: str) -> str:
    if dimension == "language":
        return textwrap.fill(instruction, 24)
    if dimension == "noise" and level:
        name = f"noise@{level}"
        stream = np.random.default_rng([SEED, zlib.crc32(name.encode())])  # the env's (LiberoEnv.reset)
        return get_perturbation(name).kind(stream).replace("_", " ")
    return ""


def sheet(task: str, out: Path) -> Path:
    """One png: a row per dimension, a column per level, each frame at its own 128 px (1 inch at 128 dpi)."""
    clean, instruction = first_frame(task, "camera", 0)
    rows, columns = list(DIMENSIONS), (0, *LEVELS)
    below = {d: (0.8 if d == "language" else 0.16) for d in rows}  # caption space under a row, inches
    left, top, gap = 0.3, 0.5, 0.06
    width = left + len(columns) * (1 + gap)
    height = top + sum(1 + below[d] for d in rows) + 0.05
    fig = plt.figure(figsize=(width, height), dpi=128)
    fig.text(
        0.5, 1 - 0.15 / height, f"{task}: LIBERO-Plus dimensions x levels", ha="center", va="top", fontsize=9
    )
    y = height - top
    for dimension in rows:
        y -= 1
        for col, level in enumerate(columns):
            frame, said = (clean, instruction) if level == 0 else first_frame(task, dimension, level)
            ax = fig.add_axes([(left + col * (1 + gap)) / width, y / height, 1 / width, 1 / height])
            ax.imshow(frame, interpolation="nearest")
            ax.set_axis_off()
            text = caption(dimension, level, said)
            ax.text(0.5, -0.02, text, transform=ax.transAxes, ha="center", va="top", fontsize=4.5)
            if dimension == rows[0]:
                ax.set_title("none" if level == 0 else f"level {level}", fontsize=7, pad=2)
            if level == 0:
                ax.text(
                    -0.04,
                    0.5,
                    dimension,
                    transform=ax.transAxes,
                    ha="right",
                    va="center",
                    rotation=90,
                    fontsize=7,
                )
        y -= below[dimension]
        print(f"{task}: {dimension} done", flush=True)
    path = out / f"libero_plus_sheet_{task.split('/')[0]}.png"
    fig.savefig(path, dpi=128)
    plt.close(fig)
    return path


def noise_sheet(task: str, out: Path) -> Path:
    """Each of the five corruptions at each level on ``task``'s clean first frame (the noise row of a task's
    sheet shows only the corruption each of its episodes drew)."""
    clean, _ = first_frame(task, "camera", 0)
    left, top, step = 0.9, 0.4, 1.06
    width, height = left + 6 * step, top + 5 * step
    fig = plt.figure(figsize=(width, height), dpi=128)
    for row, kind in enumerate(CORRUPTIONS):
        for level in (0, *LEVELS):
            frame = clean if level == 0 else corrupt_image(clean, kind, level, np.random.default_rng(SEED))
            ax = fig.add_axes(
                [
                    (left + level * step) / width,
                    (height - top - (row + 1) * step) / height,
                    1 / width,
                    1 / height,
                ]
            )
            ax.imshow(frame, interpolation="nearest")
            ax.set_axis_off()
            if row == 0:
                ax.set_title("none" if level == 0 else f"level {level}", fontsize=7, pad=2)
            if level == 0:
                ax.text(
                    -0.04,
                    0.5,
                    kind.replace("_", " "),
                    transform=ax.transAxes,
                    ha="right",
                    va="center",
                    fontsize=7,
                )
    path = out / "libero_plus_sheet_noise.png"
    fig.savefig(path, dpi=128)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", default=",".join(TASKS), help="comma-separated LIBERO tasks, one sheet each"
    )
    parser.add_argument("--noise", default=TASKS[0], help="the task of the five-corruptions sheet ('': none)")
    parser.add_argument("--out", default="docs", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for task in filter(None, args.tasks.split(",")):
        print(sheet(task, args.out))
    if args.noise:
        print(noise_sheet(args.noise, args.out))


if __name__ == "__main__":
    main()
