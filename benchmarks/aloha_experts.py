"""How often do the scripted ALOHA experts succeed? Per task, over seeds 0 .. N-1.

An episode is what ``grids data generate --suite aloha`` keeps as a demonstration: the waypoint expert's
joint trajectory (planned in the end-effector task, corrected once for tracking), replayed in the
joint-position task within its 300 steps; success = the top reward stage (4). Rendering is off (the
images do not change what the arms do). Also reported: the mean of the per-episode maximum reward (the
paper's "env reward") and the best stage per seed.

    python benchmarks/aloha_experts.py --episodes 20    # -> benchmarks/results/aloha_experts.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from grids.sim.aloha import ALOHA_TASKS, MAX_REWARD, make_aloha_env
from grids.sim.aloha_experts import expert_actions

OUT = Path("benchmarks/results/aloha_experts.json")


def replay_max_reward(env, seed: int, actions: np.ndarray) -> float:
    """The best reward stage reached when ``actions`` [T, 14] are replayed from ``env.reset(seed)``."""
    env.reset(seed=seed)
    for action in actions:
        _, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    return info["max_reward"]


def measure(task: str, episodes: int) -> dict:
    env = make_aloha_env(task, cameras=())
    start = time.perf_counter()
    best = [
        replay_max_reward(env, seed, expert_actions(task, seed, num_steps=env.max_steps))
        for seed in range(episodes)
    ]
    seconds = time.perf_counter() - start
    env.close()
    return {
        "episodes": episodes,
        "success_rate": float(np.mean(np.asarray(best) >= MAX_REWARD)),
        "mean_max_reward": float(np.mean(best)),
        "max_reward_per_seed": [int(b) for b in best],
        "seconds_per_episode": round(seconds / episodes, 2),
    }


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
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
