"""LIBERO-Plus over the four suites (issue 40, item 3): per dimension, per level, in total, per suite and averaged.

Reads each suite's shift report (``libero_plus_<suite>.json``, spec ``libero_plus_<suite>.toml``: every row at
seed 0 clean and under dimension@level for levels 1-5, from the first official init states); level 0 is the
clean episodes of the same policies from the same states. Every cell is a success rate with the
difference from dense on the same episodes (exact McNemar); "avg" is the mean over the suites measured, "pooled"
pairs every episode of them. The figure: success against level, one panel per dimension, one line per row. The
paper's LIBERO-Plus numbers, as far as they are known (their full table is not public), stand beside, labelled
as theirs: a different policy, so what compares is the difference to dense.

    python benchmarks/libero_plus.py   # -> benchmarks/results/libero_plus.{json,md,png}
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path

from grids.bench.report import p_text, paired_stats

SUITES = {  # suite -> its shift report: every row at seed 0 clean ("none", level 0) and under each dimension@level
    "libero_spatial": "libero_plus_spatial",
    "libero_object": "libero_plus_object",
    "libero_goal": "libero_plus_goal",
    "libero_10": "libero_plus_10",
}
RESULTS = Path("benchmarks/results")
REFERENCE = "dense-ema-c50"
DIMENSIONS = ("camera", "robot-init", "language", "light", "background", "noise", "layout")
# What the paper says of LIBERO-Plus: ../shared/reference/paper-digest.md (its listings and Appendix E notes) and,
# for LIBERO-Goal level 1 and LIBERO-10 background textures, the paper's headline numbers as issue 40 quotes them.
PAPER = [
    "camera, GridS (zero-shot): 82.8 %; Appendix E: the baseline 67.0 % on camera viewpoints, GridS-32 86.4 % (+19.4)",
    "light +12.1 and sensor noise +5.6 points over the baseline; robot initial states -8 to -14 (a stated failure)",
    "LIBERO-Spatial level 1: 92.5 %; LIBERO-Goal level 1: 93.5 % (issue 40); LIBERO-10 level 1: 91.0 %",
    "LIBERO-Goal background textures: 95.0 %; LIBERO-10 background textures: 84.1 % (issue 40)",
]

Episodes = dict[tuple, tuple[str, bool]]  # (task, perturbation, seed) -> (perturbation, success)


def load(suite: str, *, states: int) -> dict[str, Episodes]:
    """``{row: episodes}`` of the suite's shift report at seed 0 on its first ``states`` official states; level 0
    is the report's own clean episodes of the same policies and states (a suite's clean table may hold other runs:
    LIBERO-Object's was trained on an earlier dataset)."""
    path = RESULTS / f"{SUITES[suite]}.json"
    rows: dict[str, Episodes] = {}
    for result in json.loads(path.read_text())["results"] if path.is_file() else []:
        if result["seed"] != 0:
            continue
        for e in result["episodes"]:
            if e.get("init_state", 0) < states:
                p = e.get("perturbation", "none")
                rows.setdefault(result["name"], {})[(e["task"], p, e["seed"])] = (p, bool(e["success"]))
    return rows


def level(perturbation: str) -> int:
    return 0 if perturbation == "none" else int(perturbation.split("@")[1])


def dimension(perturbation: str) -> str:
    return perturbation.split("@")[0]


def cell(run: Episodes, reference: Episodes, keep: Callable[[str], bool]) -> dict | None:
    """``run``'s episodes that ``keep`` selects, paired with ``reference``'s same episodes (None: none selected)."""
    a = {k: ok for k, (p, ok) in run.items() if keep(p)}
    b = {k: ok for k, (p, ok) in reference.items() if keep(p)}
    return paired_stats(a, b) if a.keys() & b.keys() else None


def groups() -> dict[str, Callable[[str], bool]]:
    """The groups of episodes: each dimension over its levels 1-5, each level over the dimensions (level 0: clean),
    every shift, and each dimension at each level (the figure's points)."""
    by_dimension = {d: (lambda p, d=d: p != "none" and dimension(p) == d) for d in DIMENSIONS}
    by_level = {f"level {k}": (lambda p, k=k: level(p) == k) for k in range(6)}
    each = {f"{d}@{k}": (lambda p, n=f"{d}@{k}": p == n) for d in DIMENSIONS for k in range(1, 6)}
    return {**by_dimension, **by_level, "all shifts": lambda p: p != "none", **each}


def table(data: dict[str, dict[str, Episodes]]) -> dict:
    """``{row: {group: {suite | "pooled": cell}}}`` over the suites measured."""
    out: dict = {}
    rows = dict.fromkeys(r for suite in data.values() for r in suite)
    for row in rows:
        for group, keep in groups().items():
            cells, pooled_run, pooled_ref = {}, {}, {}
            for suite, found in data.items():
                if row not in found or REFERENCE not in found:
                    continue
                cells[suite] = cell(found[row], found[REFERENCE], keep)
                pooled_run.update({(suite, *k): v for k, v in found[row].items()})
                pooled_ref.update({(suite, *k): v for k, v in found[REFERENCE].items()})
            cells["pooled"] = cell(pooled_run, pooled_ref, keep) if pooled_run else None
            if any(c is not None for c in cells.values()):
                out.setdefault(row, {})[group] = cells
    return out


def _text(c: dict | None, *, delta: bool) -> str:
    if c is None:
        return "—"
    if not delta or c["delta"] is None:
        return f"{c['success']:.1f}"
    return f"{c['success']:.1f} ({c['delta']:+.1f}, {p_text(c['p'], '.2g')})"


def section(title: str, cells: dict, columns: list[str], measured: list[str]) -> list[str]:
    """One table: a line per row, a column per group, each the average over the measured suites (with the pooled
    difference from dense), then one line per suite."""
    lines = [f"## {title}", "", "| row | suite | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for row, by_group in cells.items():
        for suite in ["avg", *measured] if len(measured) > 1 else measured:
            values = []
            for group in columns:
                c = by_group.get(group, {})
                if suite == "avg":
                    rates = [c[s]["success"] for s in measured if c.get(s)]
                    pooled = c.get("pooled")
                    text = f"{statistics.mean(rates):.1f}" if len(rates) == len(measured) else "—"
                    if pooled and row != REFERENCE and pooled["delta"] is not None:
                        text += " (pooled " + _text(pooled, delta=True).split(" (", 1)[1]
                    values.append(text)
                else:
                    values.append(_text(c.get(suite), delta=row != REFERENCE))
            lines.append(f"| {row} | {suite} | " + " | ".join(values) + " |")
    return lines + [""]


def camera_seeds(*, states: int) -> list[str]:
    """Issue 40, item 4: the camera dimension at every training seed a shift report has beyond 0 (dense and
    GridS-16 on LIBERO-Object), per seed and pooled, each seed paired with dense's same seed."""
    lines = []
    for suite, shifted in SUITES.items():
        path = RESULTS / f"{shifted}.json"
        if not path.is_file():
            continue
        by_row: dict[str, dict[int, Episodes]] = {}
        for result in json.loads(path.read_text())["results"]:
            episodes = {(e["task"], e["perturbation"], e["seed"]): (e["perturbation"], bool(e["success"]))
                        for e in result["episodes"] if e["perturbation"].startswith("camera@") and e["init_state"] < states}  # fmt: skip
            if episodes:
                by_row.setdefault(result["name"].split(" (seed ")[0], {})[result["seed"]] = episodes
        for row, seeds in by_row.items():
            if len(seeds) < 2 or REFERENCE not in by_row:
                continue
            shared = [s for s in sorted(seeds) if s in by_row[REFERENCE]]
            per_seed = [cell(seeds[s], by_row[REFERENCE][s], lambda p: True) for s in shared]
            run = {(s, *k): v for s in shared for k, v in seeds[s].items()}
            ref = {(s, *k): v for s in shared for k, v in by_row[REFERENCE][s].items()}
            pooled = cell(run, ref, lambda p: True)
            rates = [c["success"] for c in per_seed]
            spread = f"{statistics.mean(rates):.1f} ± {statistics.stdev(rates):.1f}" if len(rates) > 1 else "—"
            lines.append(f"| {row} | {suite} | {', '.join(map(str, shared))} | "
                         + " / ".join(f"{r:.1f}" for r in rates) + f" | {spread} | {_text(pooled, delta=row != REFERENCE)} |")  # fmt: skip
    if not lines:
        return []
    return ["## Camera at three training seeds (levels 1-5 together)", "",
            "| row | suite | seeds | success % per seed | mean ± std | pooled (Δ vs dense, same seeds) |",
            "|---|---|---|---|---|---|", *lines, ""]  # fmt: skip


def figure(cells: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, grid = plt.subplots(2, 4, figsize=(13, 6.4), sharey=True)
    axes = grid.ravel()
    for ax, dim in zip(axes, DIMENSIONS, strict=False):
        for row, by_group in cells.items():
            points = [(k, by_group.get("level 0" if k == 0 else f"{dim}@{k}", {}).get("pooled")) for k in range(6)]
            points = [(k, c["success"]) for k, c in points if c is not None]
            ax.plot([k for k, _ in points], [y for _, y in points], marker="o", label=row)
        ax.set_title(dim)
        ax.set_xlabel("level")
        ax.set_xticks(range(6))
    for ax in grid[:, 0]:
        ax.set_ylabel("success %, suites pooled")
    axes[-1].axis("off")  # the eighth panel holds the legend
    axes[-1].legend(*axes[0].get_legend_handles_labels(), loc="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--states", type=int, default=2, help="official init states per task (the shift specs')")
    parser.add_argument("--out", default=str(RESULTS / "libero_plus"))
    args = parser.parse_args()
    data = {suite: found for suite in SUITES if (found := load(suite, states=args.states))}
    measured = list(data)
    cells = table(data)
    lines = ["# LIBERO-Plus: seven shift dimensions at five levels, per suite and averaged", "",
             "Spec: `benchmarks/specs/libero_plus.toml` (`grids bench run benchmarks/specs/libero_plus.toml`), from "
             + ", ".join(f"`{name}.json`" for name in SUITES.values()) + f"; the first {args.states} official states "
             "per task, seed 0. Cells: success % (difference from dense on the same episodes, McNemar p); 'avg' is "
             "the mean over the suites measured, its difference pooled over their episodes; level 0 is the same "
             f"policies' clean episodes of the same states. Suites measured: {', '.join(measured) or 'none'}.", ""]  # fmt: skip
    lines += section("Per dimension (levels 1-5)", cells, list(DIMENSIONS) + ["all shifts"], measured)
    lines += section("Per level (all seven dimensions)", cells, [f"level {k}" for k in range(6)], measured)
    lines += camera_seeds(states=args.states)
    lines += ["## The paper's LIBERO-Plus numbers (theirs: π0-based, the full table is not public)", ""]
    lines += [f"- {line}" for line in PAPER]
    Path(args.out + ".md").write_text("\n".join(lines) + "\n")
    Path(args.out + ".json").write_text(json.dumps({"measured": measured, "states": args.states, "cells": cells,
                                                    "paper": PAPER}, indent=1))  # fmt: skip
    if cells:
        figure(cells, Path(args.out + ".png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
