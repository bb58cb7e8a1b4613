"""Assemble a reducer grid of the pretrained protocol (MT10, LIBERO, ALOHA) from its cached evaluations into one report.

Every run directory ``ROOT/<name>-s<seed>`` (trained by the stage scripts in ``benchmarks/results/logs_*``)
holds ``eval_step{S}_{E}ep_{perturbation}[_{M}].json`` files written by ``grids bench eval --out``. This script
adds ``name``, ``seed``, ``protocol`` and ``steps`` to each, orders the rows (dense first: every table
compares each row with it on the same episodes, McNemar p-value) and writes ``OUT.{json,md,png}`` through
``grids.bench.report.write_report``.

    python benchmarks/grid_report.py --root runs/mt10w --out benchmarks/results/metaworld_mt10 --max-steps 150
    python benchmarks/grid_report.py --root runs/libero_object --out benchmarks/results/libero_object
    python benchmarks/grid_report.py --root runs/aloha --out benchmarks/results/aloha --episodes 50

ALOHA evaluations carry each episode's maximum reward: the table then also gives the success of the GridS
authors' script (max reward >= 0.5) and the mean max reward (the paper's "env reward"), overall and per task.
LIBERO evaluations from fresh placements (``--starts fresh``, files ``..._<perturbation>_fresh[_{M}].json``) are
columns of their own, "<perturbation> fresh", next to the official init states'.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
from pathlib import Path

from grids.bench.report import mcnemar_p, paired_delta, write_report

ORDER = ["dense", "grids-16", "grids-4", "grids-1", "topk-16", "random-16"]
PAIRS = "grids-16:dense,grids-16:topk-16,grids-16:random-16,grids-4:topk-16,grids-4:random-16,grids-heatmap-16:grids-16,grids-4:grids-16"


def pair_lines(results: list[dict], pairs: str) -> list[str]:
    """Paired comparisons beyond "vs dense": ``run:reference`` on every perturbation both were evaluated on, at
    seed 0 and pooled over the training seeds both runs have (each seed against the same seed of the other)."""
    by_name = {r["name"]: r for r in results}
    lines = ["| run | reference | perturbation | Δ success points, seed 0 (only run / only reference, McNemar p) "
             "| seeds | Δ pooled over the seeds |", "|---|---|---|---|---|---|"]  # fmt: skip
    for pair in pairs.split(","):
        run, reference = pair.split(":")
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


def _label_starts(result: dict) -> dict:
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


def collect(root: Path, steps: int, episodes: int, max_steps: int | None) -> list[dict]:
    results = []
    for run_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        match = re.fullmatch(r"(.+)-s(\d+)", run_dir.name)
        if not match:
            continue
        name, seed = match.group(1), int(match.group(2))
        config = json.loads((run_dir / "config.json").read_text())
        merged: dict | None = None
        suffix = "" if max_steps is None else f"_{max_steps}"  # LIBERO: the suite's own step limits
        evaluations = sorted(run_dir.glob(f"eval_step{steps}_{episodes}ep_*{suffix}.json"))
        in_distribution = re.compile(rf"eval_step{steps}_{episodes}ep_none{suffix}\.json")
        for path in sorted(evaluations, key=lambda p: not in_distribution.fullmatch(p.name)):  # ID first
            result = _label_starts(json.loads(path.read_text()))
            if merged is None:
                merged = {**result, "per_task": {}, "summary": {}, "episodes": []}
            merged["per_task"].update(result["per_task"])
            merged["summary"].update(result["summary"])
            merged["episodes"] += result["episodes"]
        if merged is None:
            continue
        policy = config["policy"]
        merged.update(
            name=name if seed == 0 else f"{name} (seed {seed})",
            label=_family(policy) + (" EMA" if config.get("ema") else ""),  # the plot's line
            seed=seed,
            steps=config["steps"],
            protocol=f"pretrained frozen {policy['encoder']}, shift {policy['feature_shift']:g}, "
            f"batch {config['batch_size']}, preset width {policy['dim']}"
            + (f", EMA {config['ema']:g}" if config.get("ema") else ""),
        )
        merged["curve"] = curve_points(run_dir, config["steps"], merged["summary"])
        merged["final_loss"] = final_loss(run_dir)
        results.append(merged)
    return _ordered(results)


def _family(policy: dict) -> str:
    """The plot's line for a policy: its reducer, and what changes the reducer's inputs or outputs."""
    return policy["reducer"] + (" task-aware" if policy.get("task_aware") else "") + (
        " no coord" if "coord_embedding" in policy.get("reducer_options", {}) else ""  # only ever set to None
    )


def _ordered(results: list[dict], reference: str = "dense") -> list[dict]:
    """Rows in ORDER, the reference run (its seeds) first: the table's "Δ vs" column compares with the first row.
    A reference with a protocol suffix (``dense-ema``) puts the rows of its protocol (``*-ema``) before the others."""
    rank = {name: i for i, name in enumerate(ORDER)} | {reference: -1}
    suffix = reference.removeprefix("dense")

    def key(r: dict) -> tuple:
        base = r["name"].split(" ")[0]
        other = bool(suffix) and not base.endswith(suffix)
        stem = base if other or base == reference else base.removesuffix(suffix)
        return other, rank.get(stem, len(ORDER)), r["seed"], r["name"]

    return sorted(results, key=key)


def leads(results: list[dict], reference: str) -> bool:
    """Whether the ordered rows start with a seed of ``reference`` (its lowest: seed 0 need not be on disk)."""
    return bool(results) and results[0]["name"].split(" ")[0] == reference


def with_earlier(results: list[dict], reports: list[Path], reference: str = "dense") -> list[dict]:
    """Add the rows of earlier reports' JSON (runs trained in earlier sessions, gone from disk) that ``results``
    lacks, so that new runs are compared with them on the same episodes. A run found under ``--root`` wins; when
    it is the same policy as the earlier row (a deterministic retraining, ``_same_policy``), the earlier row's
    perturbations that the run lacks join it, so that retraining a run loses none of its shift evaluations."""
    rows, by_name = list(results), {r["name"]: r for r in results}
    for report in reports:
        for row in json.loads(report.read_text())["results"]:
            run = by_name.get(row["name"])
            if run is None:
                rows.append(by_name.setdefault(row["name"], {"from_report": str(report), **row}))  # the first source
            elif _same_policy(run, row):
                _add_perturbations(run, row, report)
    return _ordered(rows, reference)


def _same_policy(run: dict, row: dict) -> bool:
    """Same steps and protocol, and every episode both hold (task, perturbation, episode seed) has the same
    outcome (success, length): an earlier evaluation of this very policy, not of another one under its name."""
    def key(e: dict) -> tuple:
        return e["task"], e["perturbation"], e["seed"]

    mine = {key(e): (e["success"], e.get("length")) for e in run["episodes"]}
    shared = [(mine[key(e)], (e["success"], e.get("length"))) for e in row["episodes"] if key(e) in mine]
    same_run = (run.get("steps"), run.get("protocol")) == (row.get("steps"), row.get("protocol"))
    return same_run and bool(shared) and all(a == b for a, b in shared)


def _add_perturbations(run: dict, row: dict, report: Path) -> None:
    """Copy into ``run`` (in place) the perturbations that only ``row`` was evaluated on."""
    extra = [p for p in row["summary"] if p not in run["summary"]]
    for p in extra:
        run["per_task"][p], run["summary"][p] = row["per_task"][p], row["summary"][p]
        run.setdefault("perturbations_from_report", {})[p] = str(report)
    run["episodes"] = run["episodes"] + [e for e in row["episodes"] if e["perturbation"] in extra]


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
    a = {(s, k): v for s in seeds for k, v in _outcomes(runs[s], perturbation).items()}
    b = {(s, k): v for s in seeds for k, v in _outcomes(refs[s], perturbation).items()}
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


def _outcomes(result: dict, perturbation: str) -> dict:
    return {(e["task"], e["seed"]): bool(e["success"]) for e in result["episodes"]
            if e.get("perturbation", perturbation) == perturbation}  # fmt: skip


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


def sections(results: list[dict], *, pairs: str, reference: str) -> str:
    """The report's tables after the main one: training seeds, paired comparisons, the learning curve; a table
    without rows (a report of shifts only has no seeds in distribution) is left out."""
    tables = [("Training seeds (in distribution)", seed_lines(results, reference=reference)),
              ("Paired comparisons", pair_lines(results, pairs)),
              ("Learning curve (kept checkpoints)", curve_lines(results)),
              ("Final training loss", loss_lines(results))]  # fmt: skip
    return "".join(f"\n## {title}\n\n" + "\n".join(lines) + "\n" for title, lines in tables if len(lines) > 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default="runs/mt10w")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--out", default="benchmarks/results/metaworld_mt10", help="report path without suffix")
    parser.add_argument("--max-steps", type=int, default=None, help="the evaluations' step limit (MetaWorld: 150)")
    parser.add_argument("--notes", default="")
    parser.add_argument("--pairs", default=PAIRS, help="run:reference pairs compared on shared episodes")
    parser.add_argument("--earlier", type=Path, nargs="*", default=[],
                        help="earlier reports' JSON whose rows (runs no longer on disk) join the comparisons")
    parser.add_argument("--reference", default=None,
                        help="the run every row is compared with (first row, seeds table; default dense), e.g. dense-ema")
    args = parser.parse_args()
    root = Path(args.root)  # may be gone: a report is rebuilt from its own JSON with --earlier
    results = collect(root, args.steps, args.episodes, args.max_steps) if root.is_dir() else []
    if not results and not args.earlier:
        raise SystemExit(f"no evaluations under {args.root} for step {args.steps}, {args.episodes} episodes")
    missing = [str(path) for path in args.earlier if not path.is_file()]
    if missing:
        raise SystemExit(f"--earlier: no such report JSON: {', '.join(missing)}")
    reference = args.reference or "dense"  # only a named reference must exist
    results = with_earlier(results, args.earlier, reference)
    if args.reference and not leads(results, args.reference):
        raise SystemExit(f"--reference {args.reference}: no such run under {args.root} or in --earlier")
    command = (
        f"python benchmarks/grid_report.py --root {args.root} --out {args.out} --steps {args.steps} "
        f"--episodes {args.episodes}" + ("" if args.max_steps is None else f" --max-steps {args.max_steps}")
        + (f" --earlier {' '.join(map(str, args.earlier))}" if args.earlier else "")  # one flag: nargs="*"
        + (f" --reference {args.reference}" if args.reference else "")
        + ("" if args.pairs == PAIRS else f' --pairs "{args.pairs}"')
    )
    paths = write_report(results, Path(args.out), command=command, notes=args.notes)
    with open(paths["md"], "a") as md:
        md.write(sections(results, pairs=args.pairs, reference=reference))
    print(paths["md"].read_text())


if __name__ == "__main__":
    main()
