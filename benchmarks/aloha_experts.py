"""How often do the scripted ALOHA experts succeed? Per task, over seeds 0 .. N-1.

An episode is what ``grids data generate --suite aloha`` keeps as a demonstration: the waypoint expert's
joint trajectory (planned in the end-effector task, corrected once for tracking), replayed in the
joint-position task within its 300 steps; success = the top reward stage (4) with one of the task's plans,
tried in turn as ``rollout_expert`` does. Rendering is off (the images do not change what the arms do).
Also reported: the mean of the per-episode maximum reward (the paper's "env reward"), and per seed the best
stage and the number of plans tried.

    python benchmarks/aloha_experts.py --episodes 20    # -> benchmarks/results/aloha_experts.{json,md}
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from grids.sim.aloha import ALOHA_TASKS, DEFAULT_MAX_STEPS, MAX_REWARD
from grids.sim.aloha_experts import successful_actions

OUT = Path("benchmarks/results/aloha_experts.json")


def measure(task: str, episodes: int) -> dict:
    start = time.perf_counter()
    tried = [successful_actions(task, seed, num_steps=DEFAULT_MAX_STEPS)[1] for seed in range(episodes)]
    seconds = time.perf_counter() - start
    best = [max(rewards) for rewards in tried]
    return {
        "episodes": episodes,
        "success_rate": float(np.mean(np.asarray(best) >= MAX_REWARD)),
        "mean_max_reward": float(np.mean(best)),
        "max_reward_per_seed": [int(b) for b in best],
        "plans_tried_per_seed": [len(rewards) for rewards in tried],
        "seconds_per_episode": round(seconds / episodes, 2),
    }


def markdown(results: dict) -> str:
    """The results as a table, with the command that produced them."""
    lines = [
        "# Scripted ALOHA experts: success of the replayed joint trajectory (seeds 0 .. N-1)",
        "",
        f"`{results['command']}`",
        "",
        "| task | episodes | success | mean max reward | s / episode | seeds that failed (best stage) |",
        "|---|---|---|---|---|---|",
    ]
    for task, row in results.items():
        if task == "command":
            continue
        failed = [f"{s} ({b})" for s, b in enumerate(row["max_reward_per_seed"]) if b < MAX_REWARD]
        lines.append(
            f"| {task} | {row['episodes']} | {row['success_rate']:.0%} | {row['mean_max_reward']:.2f} "
            f"| {row['seconds_per_episode']} | {', '.join(failed) or '-'} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20, help="seeds 0 .. N-1 per task")
    parser.add_argument("--tasks", default=",".join(ALOHA_TASKS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    results = {}
    for task in args.tasks.split(","):
        results[task] = measure(task, args.episodes)
        print(f"{task}: {results[task]}", flush=True)
    results["command"] = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown(results))
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
