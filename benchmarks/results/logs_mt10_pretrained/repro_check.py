"""Stage 14's retrained runs against the rows of the same name and seed that they replaced.

BEFORE: metaworld_mt10_ema.json at commit a688cac (its runs were deleted later). AFTER: metaworld_mt10_ep50.json
(default), written by stage14.sh from the retrained runs, whose first 20 episodes per task are the same episodes
(same task and episode seed); or the runs' own 20-episode evaluations with --runs. Same training command and seed,
so the 200 in-distribution episodes should agree one for one (success and length).
Run from the repository root:
    python benchmarks/results/logs_mt10_pretrained/repro_check.py [--after REPORT.json | --runs runs/mt10w]
Stage 15's retrained seed-0 rows (against the EMA report as committed before this session's runs replaced them):
    python benchmarks/results/logs_mt10_pretrained/repro_check.py --runs runs/mt10w --before \
      d2a3713:benchmarks/results/metaworld_mt10_ema.json --rows grids-1-ema:0,grids-heatmap-1-ema:0,topk-1-ema:0,random-1-ema:0
"""
import argparse
import json
import subprocess
from pathlib import Path

BEFORE = "a688cac:benchmarks/results/metaworld_mt10_ema.json"
K_TOKEN = ("grids-16-ema", "grids-4-ema", "topk-16-ema", "random-16-ema")
RETRAINED = [(name, seed) for seed in (0, 1) for name in K_TOKEN] + [("dense-ema", 0)]


def outcomes(episodes: list[dict]) -> dict:
    """(task, episode seed) → (success, length), in distribution."""
    return {(e["task"], e["seed"]): (e["success"], e["length"]) for e in episodes if e["perturbation"] == "none"}


def success(runs: dict) -> float:
    return 100 * sum(ok for ok, _ in runs.values()) / len(runs)


def rows(results: list[dict], name: str, seed: int) -> list[dict]:
    label = name if seed == 0 else f"{name} (seed {seed})"
    return [r["episodes"] for r in results if r["name"] == label and r["seed"] == seed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", type=Path, default=Path("benchmarks/results/metaworld_mt10_ep50.json"))
    parser.add_argument("--runs", type=Path, help="read the retrained runs' evaluations instead of a report")
    parser.add_argument("--before", default=BEFORE, help="COMMIT:REPORT.json holding the rows that were replaced")
    parser.add_argument("--rows", help="name:seed,... (default: stage 14's retrained rows)")
    args = parser.parse_args()
    retrained = RETRAINED
    if args.rows:
        retrained = [(name, int(seed)) for name, seed in (row.rsplit(":", 1) for row in args.rows.split(","))]
    earlier = json.loads(subprocess.run(["git", "show", args.before], capture_output=True, check=True).stdout)["results"]
    later = [] if args.runs else json.loads(args.after.read_text())["results"]
    for name, seed in retrained:
        old = rows(earlier, name, seed)
        if args.runs:
            path = args.runs / f"{name}-s{seed}/eval_step10000_20ep_none_150.json"
            new = [json.loads(path.read_text())["episodes"]] if path.exists() else []
        else:
            new = rows(later, name, seed)
        if not old or not new:
            continue
        before, after = outcomes(old[0]), outcomes(new[0])
        after = {k: after[k] for k in before if k in after}
        same = sum(before[k] == after.get(k) for k in before)
        print(f"{name} seed {seed}: {same}/{len(before)} episodes identical (success and length); "
              f"success {success(before):.1f} % before, {success(after):.1f} % retrained (same episodes)")


if __name__ == "__main__":
    main()
