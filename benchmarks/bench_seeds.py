"""Pool the evaluations of one grid trained with several seeds: per-seed success, mean, pooled 95% interval.

Each root is the ``--out-root`` of a grid run with one training seed (``runs/mt10``, ``runs/mt10-s1``...);
evaluations are the cached ``eval_step{S}_{E}ep_{perturbation}_{M}.json`` files that ``grids bench full`` and
``grids bench eval --out`` write. Runs evaluated under only some seeds are listed with those seeds.

Every run is evaluated on the same episode seeds, so the comparison with the reference run is paired:
the McNemar test counts the episodes only one of the two solved. It measures evaluation noise for these
trained policies, not the spread between training seeds (that is what the per-seed columns show).

    python benchmarks/bench_seeds.py --roots runs/mt10,runs/mt10-s1 --steps 2000 --episodes 20 \
        --max-steps 150 --perturbations none,camera-small,light --out benchmarks/results/bench_mt10_seeds
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grids.bench.report import mcnemar_p, wilson_interval


def collect(roots: list[Path], steps: int, episodes: int, max_steps: int, perturbation: str) -> dict:
    """``{run: [(seed_index, successes, n, {(seed_index, task, episode_seed): success}), ...]}``."""
    found: dict[str, list[tuple]] = {}
    seen: set[Path] = set()  # a run shared between roots (e.g. a linked frozen encoder) counts once
    for seed_index, root in enumerate(roots):
        for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            if run_dir.resolve() in seen:
                continue
            seen.add(run_dir.resolve())
            path = run_dir / f"eval_step{steps}_{episodes}ep_{perturbation}_{max_steps}.json"
            if not path.is_file():
                continue
            result = json.loads(path.read_text())
            summary = result["summary"][perturbation]
            n = summary["episodes"]
            paired = {(seed_index, e["task"], e["seed"]): bool(e["success"]) for e in result["episodes"]}
            found.setdefault(run_dir.name, []).append(
                (seed_index, round(summary["success_rate"] * n), n, paired)
            )
    return found


def table(found: dict, num_seeds: int, reference: str = "dense-frozen") -> str:
    head = [
        "run",
        *[f"seed {i}" for i in range(num_seeds)],
        "mean",
        "pooled 95% CI",
        "episodes",
        f"Δ vs {reference}",
        "paired episodes: only this / only ref, McNemar p",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ref = {seed: s / n for seed, s, n, _ in found.get(reference, [])}
    ref_episodes = {k: v for *_, paired in found.get(reference, []) for k, v in paired.items()}
    for run, cells in found.items():
        by_seed = {seed: (s, n) for seed, s, n, _ in cells}
        episodes = {k: v for *_, paired in cells for k, v in paired.items()}
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
        if run == reference or not shared:
            row.append("—")
        else:
            only_run, only_ref, p = mcnemar_p(episodes, ref_episodes)
            row.append(f"{only_run} / {only_ref}, p = {p:.3f}")
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
    parser.add_argument("--reference", default="dense-frozen", help="the run every other is compared with")
    parser.add_argument("--out", default=None, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    roots = [Path(r) for r in args.roots.split(",")]
    text, data = [], {}
    for perturbation in args.perturbations.split(","):
        found = collect(roots, args.steps, args.episodes, args.max_steps, perturbation)
        if found:
            data[perturbation] = {run: [c[:3] for c in cells] for run, cells in found.items()}
            text.append(f"### {perturbation}\n\n{table(found, len(roots), args.reference)}")
    markdown = "\n".join(text)
    print(markdown)
    if args.out:
        Path(f"{args.out}.md").write_text(f"Seeds = {', '.join(map(str, roots))}\n\n{markdown}")
        Path(f"{args.out}.json").write_text(
            json.dumps({"roots": list(map(str, roots)), "results": data}, indent=1)
        )


if __name__ == "__main__":
    main()
