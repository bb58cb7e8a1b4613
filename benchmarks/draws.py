"""Issue 42: is a stochastic row's loss a shift of its token distribution? Evaluate with the training draws on.

A reducer trained with randomness (dense with token dropout, GridS with jittered or redrawn points, random's fresh
patches) is evaluated deterministically by the protocol: every token, the predicted points, one fixed draw. Each
row here is evaluated a second time on the same episodes with its reducer's training-time randomness kept on
(``grids.bench.evaluate.evaluate(draws="training")``), and the two are paired (McNemar). If a row recovers with its
draws on, its loss under the protocol is the policy meeting token sets it never saw in training, not a worse
policy; if it does not, the randomness itself hurt.

    python benchmarks/draws.py --spec benchmarks/specs/libero_object_draws.toml \\
        --rows-spec benchmarks/specs/libero_object_regularisation.toml --episodes 20 \\
        --rows grids-16-jitter1-ema-c50 dense-drop64-ema-c50 --out benchmarks/results/libero_object_draws

The protocol's evaluation is the one the rows' spec wrote in each seed-0 run directory (its evaluation of
``--episodes`` episodes, unperturbed: ``grids.bench.runner.eval_path``); the one with draws goes beside it
(``..._training-draws.json``, resumable through its journal). Rows whose protocol evaluation is missing are named
and skipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from grids.bench.report import outcomes, p_text, paired_stats


def with_draws(protocol: Path, tasks: list[str], evaluation) -> dict:
    """The row's evaluation with its training draws on, beside ``protocol``: read if done, else run (resumable)."""
    out = protocol.with_name(f"{protocol.stem}_training-draws.json")
    if out.is_file():
        return json.loads(out.read_text())
    from grids.bench.evaluate import evaluate

    journal = out.with_suffix(".journal.jsonl")
    result = evaluate(protocol.parent, tasks, episodes=evaluation.episodes, workers=evaluation.workers,
                      max_steps=evaluation.max_steps, starts=evaluation.starts, draws="training",
                      journal=journal)  # fmt: skip
    result.pop("recording", None)
    out.write_text(json.dumps(result, indent=1))
    journal.unlink(missing_ok=True)
    return result


def compare(protocol: dict, draws: dict) -> dict:
    """Success under the protocol and with the draws on, and the paired difference (draws minus protocol)."""
    reference = outcomes(protocol)
    stats = paired_stats(outcomes(draws), reference)
    return {"protocol": 100 * sum(reference.values()) / len(reference), "draws": stats["success"],
            "delta": stats["delta"], "only_draws": stats["only_run"], "only_protocol": stats["only_reference"],
            "p": stats["p"], "episodes": stats["episodes"]}  # fmt: skip


def markdown(rows: dict[str, dict], *, spec: str, command: str, skipped: list[str], made_on: str) -> str:
    lines = [f"# {Path(spec).stem.replace('_', ' ')}: the stochastic rows evaluated with their training draws on", "",
             f"Spec: `{spec}`. Command: `{command}`. Evaluations with draws made on {made_on}.", "",
             "Each row's policy on the same episodes twice: under the protocol (the reducer deterministic: every "
             "token, the predicted points, random's one fixed draw) and with the reducer's training-time randomness "
             "kept on at every step (token dropout, jittered / redrawn points, fresh random patches). Δ: draws minus "
             "protocol, success points (episodes only with draws / only under the protocol, McNemar p).", "",
             "| row | protocol % | training draws on % | Δ (only draws / only protocol, p) | episodes |",
             "|---|---:|---:|---|---:|"]  # fmt: skip
    for name, c in rows.items():
        delta = f"{c['delta']:+.1f} ({c['only_draws']}/{c['only_protocol']}, {p_text(c['p'])})"
        lines.append(f"| {name} | {c['protocol']:.1f} | {c['draws']:.1f} | {delta} | {c['episodes']} |")
    if skipped:
        lines += ["", "Not measured (no run or no protocol evaluation on disk): " + ", ".join(skipped) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="the script spec that runs this (named in the report)")
    parser.add_argument("--rows-spec", required=True, help="the spec that trains and evaluates the rows")
    parser.add_argument("--rows", nargs="+", required=True, help="its row names; their seed-0 runs are read")
    parser.add_argument("--episodes", type=int, default=20, help="which of its evaluations (by episodes per task)")
    parser.add_argument("--out", required=True, help="report path without suffix (.md and .json are written)")
    args = parser.parse_args()
    from grids.bench.runner import eval_path, machine, resolved_tasks
    from grids.bench.spec import load_spec

    rows_spec = load_spec(args.rows_spec)
    tasks = resolved_tasks(rows_spec)
    evaluation = next((e for e in rows_spec.evaluations if e.episodes == args.episodes), None)
    if evaluation is None:
        parser.error(f"{args.rows_spec} has no evaluation of {args.episodes} episodes per task")
    unknown = [name for name in args.rows if name not in {r.name for r in rows_spec.rows}]
    if unknown:
        parser.error(f"{args.rows_spec} has no row {', '.join(unknown)}; rows: {', '.join(r.name for r in rows_spec.rows)}")
    rows, skipped = {}, []
    for name in args.rows:
        protocol = eval_path(rows_spec, rows_spec.row(name), 0, evaluation, "none")
        if not protocol.is_file():
            print(f"skipped {name}: {protocol} is missing (train and evaluate the row with its spec first)")
            skipped.append(name)
            continue
        rows[name] = compare(json.loads(protocol.read_text()), with_draws(protocol, tasks, evaluation))
        print(f"{name}: protocol {rows[name]['protocol']:.1f} %, training draws on {rows[name]['draws']:.1f} %")
    command = "grids bench run " + args.spec
    m = machine()
    made_on = f"{m['cpu']} ({m['cores']} cores), torch {m['torch']}"
    Path(args.out + ".md").write_text(markdown(rows, spec=args.spec, command=command, skipped=skipped, made_on=made_on))
    Path(args.out + ".json").write_text(json.dumps({"spec": args.spec, "episodes": args.episodes, "rows": rows,
                                                    "skipped": skipped}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
