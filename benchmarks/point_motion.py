"""How the trained reducers' points move over LIBERO-Object's demonstrations (issue 42: why learned points lose).

Every 10th demonstration (50 episodes, every task), each frame's cached features through the run's policy (EMA
weights): per view, ``grids.diagnostics.point_motion`` over the episode (frame-to-frame move, spread over the
episode), averaged over the episodes, and how far the points' mean position lies from the uniform 4 x 4 layout
GridS starts from. Success is the screen's (``libero_object_regularisation.md``, seed 0, 20 states per task).

    python benchmarks/point_motion.py     # writes benchmarks/results/libero_object_point_motion.{json,md}
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

from grids.bench.runner import machine
from grids.core.sampling import spread_layout
from grids.diagnostics import point_motion, point_shift

RESULTS = Path(__file__).parent / "results"
SPEC = "benchmarks/specs/libero_object_point_motion.toml"
DATA, CACHE, ROOT = (
    Path("data/libero_object"),
    Path("runs/libero_object/features"),
    Path("runs/libero_object"),
)
RUNS = ("grids-16-ema-c50-s0", "grids-nocoord-16-ema-c50-s0", "grids-anchored-16-ema-c50-s0",
        "grids-static-16-ema-c50-s0", "uniform-16-ema-c50-s0", "random-16-fixed-ema-c50-s0")  # fmt: skip
VIEWS = ("agentview", "wrist")
EVERY = 10  # every 10th demonstration


def episode_frames() -> list[range]:
    """The cache's frame range of every EVERY-th demonstration (the cache holds the manifest's episodes in order)."""
    lengths = [e["num_frames"] for e in json.loads((DATA / "manifest.json").read_text())["episodes"]]
    cached = json.loads((CACHE / "meta.json").read_text())["num_frames"]
    if sum(lengths) != cached:
        raise ValueError(
            f"{CACHE} holds {cached} frames, {DATA}'s manifest {sum(lengths)}: not this dataset's cache"
        )
    starts = np.concatenate([[0], np.cumsum(lengths)])
    return [range(int(starts[i]), int(starts[i + 1])) for i in range(0, len(lengths), EVERY)]


def run_motion(run: str, episodes: list[range], features: np.ndarray) -> dict:
    from grids.bench.train import load_policy

    policy = load_policy(ROOT / run)
    per_view = {view: [] for view in VIEWS}
    for frames in episodes:
        x = torch.from_numpy(np.ascontiguousarray(features[frames.start : frames.stop])).float()
        with torch.no_grad():
            coords = policy.visual_tokens(None, None, features=x).coords  # [T, V, K, 2]
        for v, view in enumerate(VIEWS):
            per_view[view].append(point_motion(coords[:, v], policy.cfg.grid_hw))
    layout = spread_layout(policy.cfg.num_tokens)
    return {view: _summary(stats, layout, policy.cfg.grid_hw) for view, stats in per_view.items()}


def _summary(stats: list[dict], layout: torch.Tensor, grid_hw: tuple[int, int]) -> dict:
    off = [point_shift(torch.tensor(s["mean_position"]), layout, grid_hw)["matched"] for s in stats]  # cells
    return {key: statistics.mean(s[key] for s in stats) for key in ("median_step", "p95_step", "std")} | {
        "from_uniform": statistics.mean(off)
    }


def screen_success() -> dict[str, float]:
    """Success % of every run in the screen's committed report (``libero_object_regularisation.json``), by run."""
    results = json.loads((RESULTS / "libero_object_regularisation.json").read_text())["results"]
    return {Path(r["policy"]).name: 100 * r["summary"]["none"]["success_rate"] for r in results}


def markdown(report: dict) -> str:
    lines = ["# libero_object_point_motion", "", f"Spec: `{SPEC}`; command: `{report['command']}`; "
             f"{report['machine']['cpu']} ({report['machine']['cores']} cores), torch {report['machine']['torch']}.", "",
             f"The points of each run (EMA weights, seed 0) on every {EVERY}th LIBERO-Object demonstration "
             f"({report['episodes']} episodes, {report['frames']} frames), in cells of the 16 x 16 grid, averaged over "
             "the episodes: the median and 95th percentile of a point's move from one frame to the next, the spread of "
             "a point over an episode (std), and the distance of its mean position from GridS's uniform 4 x 4 starting "
             "layout. Success: `libero_object_regularisation.md` (seed 0, 20 official states per task).", "",
             "| run | success % | agentview: median step / p95 / std / from uniform | wrist: median step / p95 / std / from uniform |",
             "|---|---:|---|---|"]  # fmt: skip
    for run, row in report["rows"].items():
        views = [
            " / ".join(f"{row[v][k]:.2f}" for k in ("median_step", "p95_step", "std", "from_uniform"))
            for v in VIEWS
        ]
        rate = "—" if row["success"] is None else f"{row['success']:.1f}"
        lines.append(f"| {run} | {rate} | {views[0]} | {views[1]} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    torch.set_num_threads(2)
    episodes = episode_frames()
    features = np.load(CACHE / "features.npy", mmap_mode="r")
    success, rows = screen_success(), {}
    for run in RUNS:
        rows[run] = run_motion(run, episodes, features) | {"success": success.get(run)}
        print(run, json.dumps({v: rows[run][v] for v in VIEWS}), flush=True)
    report = {"spec": SPEC, "command": "python benchmarks/point_motion.py", "machine": machine(),
              "episodes": len(episodes), "frames": sum(len(e) for e in episodes), "rows": rows}  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "libero_object_point_motion.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / "libero_object_point_motion.md").write_text(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
