"""Pool the evaluations of one grid trained with several seeds: per-seed success, mean, pooled 95% interval.

Each root is the ``--out-root`` of a grid run with one training seed (``runs/mt10``, ``runs/mt10-s1``...);
evaluations are the cached ``eval_step{S}_{E}ep_{perturbation}_{M}.json`` files that ``grids bench full`` and
``grids bench eval --out`` write. Runs evaluated under only some seeds are listed with those seeds.

    python benchmarks/bench_seeds.py --roots runs/mt10,runs/mt10-s1 --steps 2000 --episodes 20 \
        --max-steps 150 --perturbations none,camera-small,light --out benchmarks/results/bench_mt10_seeds
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grids.bench.report import wilson_interval


def collect(roots: list[Path], steps: int, episodes: int, max_steps: int, perturbation: str) -> dict:
    """``{run: [(seed_index, successes, n), ...]}`` for every run evaluated under ``perturbation``."""
    found: dict[str, list[tuple[int, int, int]]] = {}
    for seed_index, root in enumerate(roots):
        for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            path = run_dir / f"eval_step{steps}_{episodes}ep_{perturbation}_{max_steps}.json"
            if not path.is_file():
                continue
            summary = json.loads(path.read_text())["summary"][perturbation]
            n = summary["episodes"]
            found.setdefault(run_dir.name, []).append((seed_index, round(summary["success_rate"] * n), n))
    return found


def table(found: dict, num_seeds: int, reference: str = "dense-frozen") -> str:
    head = [
        "run",
        *[f"seed {i}" for i in range(num_seeds)],
        "mean",
        "pooled 95% CI",
        "episodes",
        f"Δ vs {reference}",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ref = {seed: s / n for seed, s, n in found.get(reference, [])}
    for run, cells in found.items():
        by_seed = {seed: (s, n) for seed, s, n in cells}
        rates = [100 * s / n for s, n in by_seed.values()]
        successes, n = sum(s for s, _ in by_seed.values()), sum(n for _, n in by_seed.values())
        low, high = wilson_interval(successes, n)
        shared = [seed for seed in by_seed if seed in ref]  # paired: same seeds, same episode seeds
        delta = (
            sum(100 * (by_seed[i][0] / by_seed[i][1] - ref[i]) for i in shared) / len(shared)
            if shared
            else None
        )
        row = [
            run,
            *[
                f"{100 * by_seed[i][0] / by_seed[i][1]:.1f}" if i in by_seed else "—"
                for i in range(num_seeds)
            ],
        ]
        row += [f"{sum(rates) / len(rates):.1f}", f"{100 * low:.0f}–{100 * high:.0f}", str(n)]
        row.append("—" if delta is None or run == reference else f"{delta:+.1f} ({len(shared)} seed(s))")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--roots", required=True, help="comma-separated grid out-roots, one per training seed"
    )
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--max-steps", type=int, default=100)
    parser.add_argument("--perturbations", default="none")
    parser.add_argument("--out", default=None, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    roots = [Path(r) for r in args.roots.split(",")]
    text, data = [], {}
    for perturbation in args.perturbations.split(","):
        found = collect(roots, args.steps, args.episodes, args.max_steps, perturbation)
        if found:
            data[perturbation] = found
            text.append(f"### {perturbation}\n\n{table(found, len(roots))}")
    markdown = "\n".join(text)
    print(markdown)
    if args.out:
        Path(f"{args.out}.md").write_text(f"Seeds = {', '.join(map(str, roots))}\n\n{markdown}")
        Path(f"{args.out}.json").write_text(
            json.dumps({"roots": list(map(str, roots)), "results": data}, indent=1)
        )


if __name__ == "__main__":
    main()
