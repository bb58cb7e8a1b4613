"""Does a LIBERO policy generalise beyond its demonstrations, or memorise them? The open-loop action error of each
row's seed-0 run on its own training demonstrations and on held-out ones (the same tasks, placements it never saw:
the scripted expert under another data seed), beside its closed-loop success from the suite's report.

    python benchmarks/libero_heldout.py --suites libero_spatial,libero_object
        # -> data/<suite>_heldout (generated once, resumable), benchmarks/results/libero_heldout.{json,md}

Errors are mean L1 in the env's action units (7-d: translation, rotation, gripper), over the first 5 steps of each
50-action chunk (what the evaluation executes before predicting again) and over the whole chunk.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path

from grids.bench import runner
from grids.bench.openloop import action_error
from grids.bench.report import results_by_row
from grids.bench.spec import load_spec
from grids.bench.train import (
    dataset_fingerprint,
    latest_checkpoint,
    load_policy,
    open_dataset,
    read_state,
)
from grids.sim import generate_demos, resolve_tasks

OUT = Path("benchmarks/results/libero_heldout")
SPECS = Path(__file__).parent / "specs"
ROWS = ["dense-ema-c50", "grids-16-ema-c50", "random-16-ema-c50", "dense-ema-c50-20k", "grids-16-ema-c50-20k"]
EXECUTED = 5


def closed_loop(suite: str, row: str) -> float | None:
    """The row's seed-0 success (%) at the 5-action horizon in the suite's committed reports (its grid, then the
    training-length test), if measured."""
    reports = [f"benchmarks/results/{suite}.json", f"benchmarks/results/{suite}_steps.json"]
    result = results_by_row(reports, execute_steps=EXECUTED).get((row, 0))
    return None if result is None else 100 * result["summary"]["none"]["success_rate"]


def finished_run(suite: str, row: str) -> Path | None:
    """The row's seed-0 run if its training has finished, trained in this checkout or restored from the copy the
    runner kept, as the spec that trains it (the suite's grid, then its training-length test) would. None, and said
    so, for a run still training."""
    paths = [path for tail in ("", "_steps") if (path := SPECS / f"{suite}{tail}.toml").is_file()]
    if (spec := next((s for s in map(load_spec, paths) if row in {r.name for r in s.rows}), None)) is None:
        print(f"{suite} {row}: no spec of this suite trains it, left out", flush=True)
        return None
    if (run := runner.finished_run(spec, entry := spec.row(row), 0)) is None:
        print(f"{suite} {row}: {runner.run_dir(spec, entry, 0)} has not finished training, left out", flush=True)
    return run


def measure(suite: str, *, heldout: Path, frames: int) -> dict[str, dict]:
    """``{row: {"train": error, "heldout": error, "success": %}}`` for each row whose seed-0 run has finished training
    (a run still training is left out, and said so)."""
    out, opened = {}, functools.cache(open_dataset)  # each (dataset, chunk length) opened once
    for row in ROWS:
        if (run := finished_run(suite, row)) is None:
            continue
        policy, train = load_policy(run), Path(f"data/{suite}")
        trained_on = read_state(latest_checkpoint(run)).get("dataset")
        here = dataset_fingerprint(opened(str(train), policy.cfg.chunk_size))
        if trained_on and trained_on != here:  # its "train" error would not be on its own demonstrations
            print(f"{suite} {row}: {run} was trained on other data (fingerprint {trained_on}) than {train} ({here}), "
                  "left out", flush=True)  # fmt: skip
            continue
        errors = {name: action_error(policy, opened(str(data), policy.cfg.chunk_size), frames=frames, executed=EXECUTED)
                  for name, data in (("train", train), ("heldout", heldout))}  # fmt: skip
        out[row] = {"run": str(run), **errors, "success": closed_loop(suite, row)}
        print(f"{suite} {row}: train {errors['train']['l1_executed']:.4f}, held-out "
              f"{errors['heldout']['l1_executed']:.4f}", flush=True)  # fmt: skip
    return out


def markdown(results: dict[str, dict[str, dict]], args: argparse.Namespace) -> str:
    lines = ["# LIBERO: open-loop action error on training and held-out demonstrations", "",
             "Spec: `benchmarks/specs/libero_heldout.toml` (`grids bench run benchmarks/specs/libero_heldout.toml`). "
             f"Each row's seed-0 run (EMA weights) on {args.frames} random frames of its training demonstrations "
             f"(`data/<suite>`, data seed 0) and of {args.episodes_per_task} held-out demonstrations per task "
             f"(`data/<suite>_heldout`, data seed {args.seed}: placements never trained on). Mean L1 in the env's "
             f"action units over the first {EXECUTED} steps of each chunk (executed before the next prediction) and "
             "over the whole chunk; closed-loop success: the suite's report, 500 official episodes at 5 actions.", "",
             f"| suite | row | train, first {EXECUTED} | held-out, first {EXECUTED} | held-out / train | train, chunk "
             "| held-out, chunk | gripper, held-out | closed-loop success % |", "|---" * 9 + "|"]  # fmt: skip
    for suite, rows in results.items():
        for row, r in rows.items():
            train, held = r["train"], r["heldout"]
            success = "—" if r["success"] is None else f"{r['success']:.1f}"
            lines.append(f"| {suite} | {row} | {train['l1_executed']:.4f} | {held['l1_executed']:.4f} | "
                         f"{held['l1_executed'] / train['l1_executed']:.2f} | {train['l1']:.4f} | {held['l1']:.4f} | "
                         f"{held['l1_per_dim'][-1]:.4f} | {success} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suites", default="libero_spatial,libero_object", help="comma-separated LIBERO suites")
    parser.add_argument("--episodes-per-task", type=int, default=5, help="held-out demonstrations per task")
    parser.add_argument("--seed", type=int, default=1, help="the held-out data's seed (the training data's is 0)")
    parser.add_argument("--frames", type=int, default=2048, help="random frames measured per dataset")
    args = parser.parse_args()
    results = {}
    for suite in args.suites.split(","):
        heldout = Path(f"data/{suite}_heldout")
        generate_demos(resolve_tasks(suite), args.episodes_per_task, heldout, seed=args.seed, workers=2, suite="libero")
        results[suite] = measure(suite, heldout=heldout, frames=args.frames)
    payload = {"executed": EXECUTED, "episodes_per_task": args.episodes_per_task, "seed": args.seed,
               "frames": args.frames, "results": results}  # fmt: skip
    OUT.with_suffix(".json").write_text(json.dumps(payload, indent=1) + "\n")
    OUT.with_suffix(".md").write_text(markdown(results, args))
    print(f"wrote {OUT}.md and {OUT}.json")


if __name__ == "__main__":
    main()
