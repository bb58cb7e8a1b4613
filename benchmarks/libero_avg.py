"""The four-suite LIBERO table in the paper's form (issue 39, item 4), from the suites' committed reports.

Per suite (Spatial, Object, Goal, LIBERO-10) and averaged: each row's success at training seed 0 on LIBERO's
official init states, its paired difference from dense on the same episodes (McNemar), and pooled over the four
suites; then the rows trained at three seeds, pooled over the seeds (each seed's episodes paired with dense's of
the same seed). Beside ours, the paper's π0 / π0.5 rows, labelled as theirs: a different policy (a 3B VLM trained
on LIBERO's human demonstrations), so what compares is the *difference* to dense, not the level. A suite whose
report is not committed yet reads "not run"; the average is given only over all four suites.

    python benchmarks/libero_avg.py   # -> benchmarks/results/libero_avg.{json,md}
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from grids.bench.report import outcomes, p_text, paired_stats, results_by_row

SUITES = {  # suite -> its reports (seed 0 on 50 states first; later files add seeds)
    "libero_spatial": ["benchmarks/results/libero_spatial.json"],
    "libero_object": ["benchmarks/results/libero_object.json", "benchmarks/results/libero_object_ep20.json"],
    "libero_goal": ["benchmarks/results/libero_goal.json"],
    "libero_10": ["benchmarks/results/libero_10.json"],
}
# LIBERO's protocol as openpi's client runs it: a new prediction every 5 actions of the 50-action chunk. A result at
# another horizon (those evaluated before the specs set it record none: half the chunk) is left out, and named.
EXECUTE_STEPS = 5
HEADERS = {"libero_spatial": "Spatial", "libero_object": "Object", "libero_goal": "Goal", "libero_10": "Long (10)"}
REFERENCE = "dense-ema-c50"
ROWS = ["dense-ema-c50", "grids-16-ema-c50", "grids-task-16-ema-c50", "grids-4-ema-c50", "grids-1-ema-c50",
        "grids-heatmap-16-ema-c50", "topk-16-ema-c50", "random-16-ema-c50"]  # fmt: skip
# The authors' Table 1 (their repository's assets/main_result1.png): Spatial, Object, Goal, Long and their average,
# in %, as printed; each GridS row is compared with the row above it.
PAPER = {
    "π0": [97.2, 98.8, 96.0, 85.6, 94.4],
    "π0 + GridS-16": [98.0, 99.2, 96.4, 90.2, 96.0],
    "π0.5": [98.4, 98.0, 97.6, 92.8, 96.7],
    "π0.5 + GridS-16": [98.6, 98.8, 98.4, 95.2, 97.7],
}


def load_suite(paths: list[str], *, left_out: list[str] | None = None) -> dict[tuple[str, int], dict]:
    """``{(row, seed): result}`` over the suite's reports at LIBERO's horizon (:func:`results_by_row`)."""
    return results_by_row(paths, execute_steps=EXECUTE_STEPS, left_out=left_out)


def seed0_cells(suites: dict[str, dict]) -> dict[str, dict]:
    """``{row: {suite: paired-with-dense at seed 0, "pooled": over the suites}}``."""
    table: dict[str, dict] = {}
    for row in ROWS:
        cells, run_all, ref_all = {}, {}, {}
        for suite, found in suites.items():
            if (row, 0) not in found:
                continue
            run = outcomes(found[row, 0])
            if (REFERENCE, 0) not in found:  # measured before its suite's dense: its success, nothing paired
                cells[suite] = {"success": 100 * sum(run.values()) / len(run), "episodes": len(run), "delta": None}
                continue
            ref = outcomes(found[REFERENCE, 0])
            cells[suite] = paired_stats(run, ref)
            run_all.update({(suite, *k): v for k, v in run.items()})
            ref_all.update({(suite, *k): v for k, v in ref.items()})
        if cells:
            cells["pooled"] = paired_stats(run_all, ref_all) if run_all else None
            table[row] = cells
    return table


def seed_cells(suites: dict[str, dict], *, states: int = 20) -> dict[str, dict]:
    """Rows trained at several seeds, on the first ``states`` official states per task: per suite, success per seed
    and its mean, and the difference from dense pooled over the seeds dense has too (each seed against dense's)."""
    table: dict[str, dict] = {}
    for row in ROWS:
        cells = {}
        for suite, found in suites.items():
            seeds = sorted(s for (r, s) in found if r == row)
            if len(seeds) < 2:
                continue
            runs = {s: outcomes(found[row, s], states=states) for s in seeds}
            rates = [100 * statistics.mean(runs[s].values()) for s in seeds]
            with_dense = [s for s in seeds if (REFERENCE, s) in found]
            refs = {s: outcomes(found[REFERENCE, s], states=states) for s in with_dense}
            run_all = {(s, *k): v for s in with_dense for k, v in runs[s].items()}
            ref_all = {(s, *k): v for s in with_dense for k, v in refs[s].items()}
            cells[suite] = {"seeds": seeds, "success_per_seed": rates, "mean": statistics.mean(rates),
                            "std": statistics.stdev(rates), "dense_seeds": with_dense, **paired_stats(run_all, ref_all)}  # fmt: skip
        if cells:
            table[row] = cells
    return table


def _cell(c: dict | None, *, delta: bool = True) -> str:
    if c is None:
        return "not run"
    text = f"{c['success']:.1f}"
    if delta and c["delta"] is None:
        text += " (dense not run)"
    elif delta:
        text += f" ({c['delta']:+.1f}, {p_text(c['p'], '.2g')})"
    return text


def markdown(seed0: dict, seeds: dict, measured: list[str], left_out: list[str] | None = None) -> str:
    suites = list(SUITES)
    header = "| row | " + " | ".join(HEADERS[s] for s in suites) + " | Avg | pooled over the suites measured with dense |"
    rule = "|---" * (len(suites) + 3) + "|"
    lines = ["## Ours: seed 0, LIBERO's official init states (success %, Δ vs dense on the same episodes, McNemar)",
             "", header, rule]  # fmt: skip
    for row, cells in seed0.items():
        rates = [cells[s]["success"] for s in suites if s in cells]
        avg = f"{statistics.mean(rates):.1f}" if len(rates) == len(suites) else "—"
        pooled = "—"
        if cells["pooled"] is not None:
            pooled = _cell(cells["pooled"], delta=row != REFERENCE) + f", {cells['pooled']['episodes']} episodes"
        lines.append(f"| {row} | " + " | ".join(_cell(cells.get(s), delta=row != REFERENCE) for s in suites)
                     + f" | {avg} | {pooled} |")  # fmt: skip
    lines += ["", "## The authors' π0 / π0.5 (their Table 1: a different policy, trained on LIBERO's human "
              "demonstrations; compare the differences to their dense row, not the levels)", "",
              "| row (the paper's) | " + " | ".join(HEADERS[s] for s in suites) + " | Avg |", "|---" * 6 + "|"]  # fmt: skip
    base = None
    for name, rates in PAPER.items():
        base = rates if "GridS" not in name else base
        cells = [f"{r:.1f}" + (f" ({r - b:+.1f})" if rates is not base else "") for r, b in zip(rates, base, strict=True)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Training seeds, the first 20 official states per task (success % per seed, mean ± std; Δ vs dense "
              "pooled over the seeds dense was trained at, each seed against dense's own)", "",
              "| row | suite | seeds | success % per seed | mean ± std | Δ vs dense pooled (seeds) |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for row, cells in seeds.items():
        for suite, c in cells.items():
            per_seed = " / ".join(f"{r:.1f}" for r in c["success_per_seed"])
            delta = "—"
            if row != REFERENCE and c["episodes"]:
                delta = (f"{c['delta']:+.1f} ({c['only_run']}/{c['only_reference']}, p = {c['p']:.2g}; "
                         f"seeds {', '.join(map(str, c['dense_seeds']))})")  # fmt: skip
            lines.append(f"| {row} | {HEADERS[suite]} | {', '.join(map(str, c['seeds']))} | {per_seed} "
                         f"| {c['mean']:.1f} ± {c['std']:.1f} | {delta} |")  # fmt: skip
    missing = [HEADERS[s] for s in suites if s not in measured]
    lines += ["", f"Suites measured: {', '.join(HEADERS[s] for s in measured) or 'none'}"
              + (f"; not run yet: {', '.join(missing)} (their specs: benchmarks/specs/libero_<suite>.toml)." if missing else ".")]  # fmt: skip
    if left_out:
        lines += ["", f"Every episode here predicts again after {EXECUTE_STEPS} actions of each 50-action chunk (openpi's "
                  "LIBERO client). Left out, evaluated at another horizon: "
                  + ", ".join(left_out) + "."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/libero_avg")
    args = parser.parse_args()
    left_out: list[str] = []
    suites = {suite: load_suite(paths, left_out=left_out) for suite, paths in SUITES.items()}
    measured = [s for s, found in suites.items() if found]
    seed0, seeds = seed0_cells(suites), seed_cells(suites)
    title = ("# LIBERO, four suites: every reducer's success and its difference from dense\n\n"
             "Spec: `benchmarks/specs/libero_avg.toml` (`grids bench run benchmarks/specs/libero_avg.toml`), from the "
             f"reports {', '.join(p for paths in SUITES.values() for p in paths)}.\n\n")  # fmt: skip
    Path(args.out + ".md").write_text(title + markdown(seed0, seeds, measured, left_out))
    payload = {"reports": SUITES, "execute_steps": EXECUTE_STEPS, "left_out": left_out, "measured": measured, "seed0": seed0, "seeds": seeds, "paper": PAPER}
    Path(args.out + ".json").write_text(json.dumps(payload, indent=1, default=str))
    print(Path(args.out + ".md").read_text())


if __name__ == "__main__":
    main()
