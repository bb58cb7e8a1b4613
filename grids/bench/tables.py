"""The report's tables after the main one: training seeds, paired comparisons, learning curve, final loss.

Rows are result dicts (one per row and training seed: ``name`` — ``"grids-16"`` or ``"grids-16 (seed 1)"`` —,
``seed``, ``summary``, ``per_task``, ``episodes``) as ``grids.bench.runner`` assembles them; every comparison is on
paired episodes (the same task, perturbation and episode seed) with McNemar's test.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path

from grids.bench.report import mcnemar_p, outcomes, paired_delta


def pair_lines(results: list[dict], pairs: list[tuple[str, str]]) -> list[str]:
    """Paired comparisons beyond "vs dense": ``run:reference`` on every perturbation both were evaluated on, at
    seed 0 and pooled over the training seeds both runs have (each seed against the same seed of the other)."""
    by_name = {r["name"]: r for r in results}
    lines = ["| run | reference | perturbation | Δ success points, seed 0 (only run / only reference, McNemar p) "
             "| seeds | Δ pooled over the seeds |", "|---|---|---|---|---|---|"]  # fmt: skip
    for run, reference in pairs:
        if run not in by_name or reference not in by_name:
            continue
        # every perturbation of the grid: one evaluated at a later seed only is compared at that seed
        for perturbation in dict.fromkeys(p for r in results for p in r["summary"]):
            seeds, pooled = pooled_delta(results, run, reference, perturbation)
            if seeds == "—":
                continue
            both = all(perturbation in by_name[name]["summary"] for name in (run, reference))
            delta = paired_delta(by_name[run], by_name[reference], perturbation) if both else "—"
            lines.append(f"| {run} | {reference} | {perturbation} | {delta} | {seeds} | {pooled} |")
    return lines


def label_starts(result: dict) -> dict:
    """A LIBERO evaluation from fresh placements (``--starts fresh``) becomes its own column, "<perturbation>
    fresh": it must not overwrite, nor be paired with, the official init states' episodes."""
    if result.get("starts", "official") == "official":
        return result
    label = f"{{}} {result['starts']}".format
    result["per_task"] = {label(p): v for p, v in result["per_task"].items()}
    result["summary"] = {label(p): v for p, v in result["summary"].items()}
    for e in result["episodes"]:
        e["perturbation"] = label(e["perturbation"])
    return result


def family(policy: dict) -> str:
    """The plot's line for a policy: its reducer, and what changes the reducer's inputs or outputs."""
    return policy["reducer"] + (" task-aware" if policy.get("task_aware") else "") + (
        " no coord" if "coord_embedding" in policy.get("reducer_options", {}) else ""  # only ever set to None
    )


def _by_seed(results: list[dict], perturbation: str) -> dict[str, dict[int, dict]]:
    """``{run name without its seed suffix: {seed: result}}`` of the results evaluated on ``perturbation``."""
    by_base: dict[str, dict[int, dict]] = {}
    for r in results:
        if perturbation in r["summary"]:
            by_base.setdefault(r["name"].split(" ")[0], {})[r["seed"]] = r
    return by_base


def pooled_delta(results: list[dict], run: str, reference: str, perturbation: str = "none") -> tuple[str, str]:
    """``(seeds, Δ)``: McNemar on the episodes of every training seed both runs have, each seed's episodes
    paired with the same seed's of the reference; ``("—", "—")`` without a shared seed."""
    by_base = _by_seed(results, perturbation)
    runs, refs = by_base.get(run, {}), by_base.get(reference, {})
    seeds = sorted(runs.keys() & refs.keys())
    if not seeds or run == reference:
        return "—", "—"
    a = {(s, k): v for s in seeds for k, v in outcomes(runs[s], perturbation).items()}
    b = {(s, k): v for s in seeds for k, v in outcomes(refs[s], perturbation).items()}
    only_run, only_ref, p = mcnemar_p(a, b)
    shared = len(a.keys() & b.keys())
    return ", ".join(map(str, seeds)), f"{100 * (only_run - only_ref) / shared:+.1f} ({only_run}/{only_ref}, p = {p:.3g})"


def seed_lines(results: list[dict], perturbation: str = "none", reference: str = "dense") -> list[str]:
    """Across training seeds: success per seed, mean ± std, and the difference from the reference run (dense)
    *of the same seed* (same episodes), per seed and pooled over seeds (McNemar on all paired episodes)."""
    by_base = _by_seed(results, perturbation)
    dense = by_base.get(reference, {})
    lines = [f"| run | seeds | success % per seed | mean ± std | Δ vs {reference} per seed | Δ vs {reference} pooled |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for base, runs in by_base.items():
        seeds = sorted(runs)
        rates = [100 * runs[s]["summary"][perturbation]["success_rate"] for s in seeds]
        spread = f"{statistics.mean(rates):.1f} ± {statistics.stdev(rates):.1f}" if len(rates) > 1 else "—"
        paired = [s for s in seeds if s in dense and base != reference]
        per_seed = [paired_delta(runs[s], dense[s], perturbation).split(" (")[0] for s in paired]
        pooled = pooled_delta(results, base, reference, perturbation)[1]
        lines.append(
            f"| {base} | {', '.join(map(str, seeds))} | {' / '.join(f'{x:.1f}' for x in rates)} | {spread} "
            f"| {' / '.join(per_seed) or '—'} | {pooled} |"
        )
    return lines


def curve_points(run_dir: Path, steps: int, summary: dict) -> list[dict]:
    """Success against training steps from the run's ``curve_step*_none_*.json`` evaluations of kept checkpoints,
    then its final step; kept in the report's JSON, so a report rebuilt after the run is gone keeps its curve."""
    points = [{"step": int(re.search(r"step(\d+)", path.name).group(1)), **json.loads(path.read_text())["summary"]["none"]}
              for path in run_dir.glob("curve_step*_none_*.json")]  # fmt: skip
    if not points or "none" not in summary:
        return []
    points.append({"step": steps, **summary["none"]})
    return [{k: p[k] for k in ("step", "success_rate", "episodes")} for p in sorted(points, key=lambda p: p["step"])]


def final_loss(run_dir: Path, *, tail: float = 0.05) -> float | None:
    """Mean training loss over the last ``tail`` of the run's logged steps (``metrics.csv``; None without one):
    shows whether rows that differ in success fit their demonstrations alike."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return None
    with open(path) as f:
        losses = [float(row["loss"]) for row in csv.DictReader(f)]
    return statistics.mean(losses[-max(1, round(tail * len(losses))):]) if losses else None


def loss_lines(results: list[dict]) -> list[str]:
    """The final training loss of every row that has one (see :func:`final_loss`)."""
    lines = ["| run | steps | training loss (mean of the last 5 % of logged steps) |", "|---|---:|---:|"]
    kept = [r for r in results if r.get("final_loss") is not None]
    return lines + [f"| {r['name']} | {r['steps']} | {r['final_loss']:.4f} |" for r in kept]


def curve_lines(results: list[dict]) -> list[str]:
    """The learning curve of every row that has one (see :func:`curve_points`)."""
    lines = ["| run | step | success % | episodes |", "|---|---:|---:|---:|"]
    for r in results:
        for p in r.get("curve", []):
            lines.append(f"| {r['name']} | {p['step']} | {100 * p['success_rate']:.1f} | {p['episodes']} |")
    return lines


def sections(results: list[dict], *, pairs: list[tuple[str, str]], reference: str) -> str:
    """The report's tables after the main one: training seeds, paired comparisons, the learning curve; a table
    without rows (a report of shifts only has no seeds in distribution) is left out."""
    tables = [("Training seeds (in distribution)", seed_lines(results, reference=reference)),
              ("Paired comparisons", pair_lines(results, pairs)),
              ("Learning curve (kept checkpoints)", curve_lines(results)),
              ("Final training loss", loss_lines(results))]  # fmt: skip
    return "".join(f"\n## {title}\n\n" + "\n".join(lines) + "\n" for title, lines in tables if len(lines) > 2)
