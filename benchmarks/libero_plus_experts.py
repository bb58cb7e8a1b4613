"""Can the shifted episodes still be solved? The scripted expert on the very episodes the LIBERO-Plus shift specs
give the policies, under the two dimensions that change the physical state (robot-init: the arm's start; layout:
where the objects are). The other five change only what the policy sees or reads, which the expert (privileged
state) never looks at. Physics only; episode i of a task starts from official state i with the evaluation's seed,
so the perturbation draws the same offsets as the policies' episodes.

    python benchmarks/libero_plus_experts.py --suites libero_object --states 2
        # -> benchmarks/results/libero_plus_experts.{json,md}
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from grids.bench.rollout import EVAL_SEED_BASE
from grids.sim import play_episode, resolve_tasks
from grids.sim.libero import LiberoEnv
from grids.sim.libero_experts import EXPERT_VERSION, expert

OUT = Path("benchmarks/results/libero_plus_experts")
DIMENSIONS = ("robot-init", "layout")


def measure(task: str, perturbation: str, states: int) -> list[bool]:
    """The expert's success on the task's first ``states`` official states under ``perturbation``."""
    with LiberoEnv(task, render=False, perturbation=perturbation) as env:
        return [
            play_episode(env, expert(env, EVAL_SEED_BASE + i), EVAL_SEED_BASE + i, init_state=i, render=False).success
            for i in range(states)
        ]


def table(results: dict[str, dict[str, list[bool]]]) -> list[str]:
    """One line per suite x dimension: success % at levels 0-5 (level 0: the clean episodes)."""
    lines = ["| suite | dimension | " + " | ".join(f"level {k}" for k in range(6)) + " |", "|---" * 8 + "|"]
    for suite in dict.fromkeys(task.split("/")[0] for task in results):
        tasks = [t for t in results if t.startswith(suite + "/")]
        for dimension in DIMENSIONS:
            cells = []
            for k in range(6):
                name = "none" if k == 0 else f"{dimension}@{k}"
                outcomes = [ok for t in tasks for ok in results[t].get(name, [])]
                cells.append(f"{100 * sum(outcomes) / len(outcomes):.0f} ({sum(outcomes)}/{len(outcomes)})" if outcomes else "—")
            lines.append(f"| {suite} | {dimension} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default="libero_object", help="comma-separated LIBERO suites")
    parser.add_argument("--states", type=int, default=2, help="official init states per task (the shift specs')")
    args = parser.parse_args()
    tasks = [t for suite in args.suites.split(",") for t in resolve_tasks(suite)]
    perturbations = ["none"] + [f"{d}@{k}" for d in DIMENSIONS for k in range(1, 6)]
    results: dict[str, dict[str, list[bool]]] = {}
    for task, perturbation in tqdm([(t, p) for t in tasks for p in perturbations], desc="expert under shifts"):
        results.setdefault(task, {})[perturbation] = measure(task, perturbation, args.states)
    lines = ["# The scripted expert on the shifted episodes", "",
             f"`python benchmarks/libero_plus_experts.py --suites {args.suites} --states {args.states}` (spec "
             "`benchmarks/specs/libero_plus_experts.toml`): the expert on the first "
             f"{args.states} official states per task with the evaluation's seeds, so under the same draws as the "
             "policies' episodes of `libero_plus_<suite>.md`. Success % (successes / episodes); level 0: clean.",
             "", *table(results)]  # fmt: skip
    OUT.with_suffix(".md").write_text("\n".join(lines) + "\n")
    OUT.with_suffix(".json").write_text(json.dumps({"states": args.states, "expert_version": EXPERT_VERSION,
                                                    "results": results}, indent=1))  # fmt: skip
    print("\n".join(lines))


if __name__ == "__main__":
    main()
