"""benchmarks/grid_report.py: one report per grid from the runs' evaluation files."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "grid_report.py"


def load_script():
    spec = importlib.util.spec_from_file_location("grid_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def evaluation(success: list[bool], starts: str | None) -> dict:
    episodes = [{"task": "t", "perturbation": "none", "seed": 100_000 + i, "success": s} for i, s in enumerate(success)]
    summary = {"episodes": len(success), "success_rate": sum(success) / len(success)}
    return {"policy": "runs/x/dense-s0", "reducer": "dense", "visual_tokens_per_view": 256, "tasks": ["t"],
            "per_task": {"none": {"t": summary}}, "summary": {"none": summary}, "episodes": episodes,
            **({} if starts is None else {"starts": starts})}  # fmt: skip


def test_fresh_start_evaluations_are_their_own_column_not_mixed_with_the_official_states(tmp_path):
    run = tmp_path / "dense-s0"
    run.mkdir()
    policy = {"reducer": "dense", "encoder": "mobilenetv2", "feature_shift": 0.5, "dim": 64}
    (run / "config.json").write_text(json.dumps({"policy": policy, "steps": 5000, "batch_size": 32}))
    # written first in name order: the fresh file must neither overwrite "none" nor come first
    (run / "eval_step5000_4ep_none_fresh.json").write_text(json.dumps(evaluation([True] * 4, "fresh")))
    (run / "eval_step5000_4ep_none.json").write_text(json.dumps(evaluation([True, False, False, False], None)))
    (row,) = load_script().collect(tmp_path, steps=5000, episodes=4, max_steps=None)
    assert list(row["summary"]) == ["none", "none fresh"]
    assert row["summary"]["none"]["success_rate"] == 0.25 and row["summary"]["none fresh"]["success_rate"] == 1.0
    assert sorted({e["perturbation"] for e in row["episodes"]}) == ["none", "none fresh"]


def test_earlier_reports_rows_join_unless_the_run_is_on_disk(tmp_path):
    script = load_script()
    on_disk = {**evaluation([True, True], None), "name": "dense", "seed": 0}
    earlier = [{**evaluation([False, False], None), "name": "dense", "seed": 0},
               {**evaluation([True, False], None), "name": "grids-16", "seed": 0}]  # fmt: skip
    report = tmp_path / "earlier.json"
    report.write_text(json.dumps({"command": "", "notes": "", "results": earlier}))
    rows = script.with_earlier([on_disk], [report])
    assert [r["name"] for r in rows] == ["dense", "grids-16"]
    assert rows[0]["summary"]["none"]["success_rate"] == 1.0 and "from_report" not in rows[0]  # disk wins
    assert rows[1]["from_report"] == str(report) and rows[1]["summary"]["none"]["success_rate"] == 0.5


def test_a_retrained_run_keeps_the_earlier_rows_shifts_only_if_it_is_the_same_policy(tmp_path):
    script = load_script()

    def row(success: list[bool], shifts: dict | None = None) -> dict:
        result = {**evaluation(success, None), "name": "grids-16", "seed": 0, "steps": 10, "protocol": "p"}
        for perturbation, outcome in (shifts or {}).items():
            summary = {"episodes": len(outcome), "success_rate": sum(outcome) / len(outcome)}
            result["per_task"][perturbation] = {"t": summary}
            result["summary"][perturbation] = summary
            result["episodes"] += [{"task": "t", "perturbation": perturbation, "seed": 100_000 + i, "success": s}
                                   for i, s in enumerate(outcome)]  # fmt: skip
        return result

    report = tmp_path / "earlier.json"
    report.write_text(json.dumps({"results": [row([True, False], {"noise": [False, False]})]}))
    (same,) = script.with_earlier([row([True, False])], [report])  # retrained: the same episodes, one for one
    assert list(same["summary"]) == ["none", "noise"] and same["summary"]["noise"]["success_rate"] == 0.0
    assert sorted(e["perturbation"] for e in same["episodes"]) == ["noise", "noise", "none", "none"]
    assert same["perturbations_from_report"] == {"noise": str(report)} and "from_report" not in same
    (other,) = script.with_earlier([row([False, True])], [report])  # another policy under the same name
    assert list(other["summary"]) == ["none"] and len(other["episodes"]) == 2


def test_reference_row_comes_first_and_the_seed_table_compares_with_it():
    script = load_script()
    rows = [{**evaluation(outcomes, None), "name": name, "seed": seed}
            for name, seed, outcomes in [("dense", 0, [False] * 4), ("dense-ema", 0, [True, True, False, False]),
                                         ("grids-16-ema", 0, [True] * 4), ("grids-16-ema (seed 1)", 1, [True] * 4),
                                         ("dense-ema (seed 1)", 1, [True] * 4)]]  # fmt: skip
    ordered = script.with_earlier(rows, [], reference="dense-ema")
    assert [r["name"] for r in ordered] == ["dense-ema", "dense-ema (seed 1)", "grids-16-ema",
                                             "grids-16-ema (seed 1)", "dense"]  # its protocol's rows first
    table = "\n".join(script.seed_lines(ordered, reference="dense-ema"))
    assert "Δ vs dense-ema per seed" in table
    (line,) = [x for x in table.splitlines() if x.startswith("| grids-16-ema ")]
    assert "+50.0 / +0.0" in line  # seed 0 against dense-ema seed 0 (2 of 4), seed 1 against its seed 1 (4 of 4)
    (line,) = [x for x in table.splitlines() if x.startswith("| dense ")]
    assert "| -50.0 |" in line  # the other protocol's dense is a row like any other
    (line,) = [x for x in table.splitlines() if x.startswith("| dense-ema ")]
    assert line.endswith("| — | — |")  # the reference is not compared with itself


def test_a_reference_whose_seed_0_is_gone_still_leads_the_report():
    script = load_script()
    rows = [{**evaluation([True] * 4, None), "name": name, "seed": seed}
            for name, seed in [("grids-16-ema (seed 2)", 2), ("dense-ema (seed 2)", 2), ("dense-ema (seed 1)", 1)]]  # fmt: skip
    ordered = script.with_earlier(rows, [], reference="dense-ema")
    assert ordered[0]["name"] == "dense-ema (seed 1)" and script.leads(ordered, "dense-ema")
    assert not script.leads(ordered, "dense") and not script.leads(ordered[:1], "dense-ema (seed 1)")
    assert not script.leads(script.with_earlier(rows[:1], [], reference="dense-ema"), "dense-ema")


def test_tables_without_rows_are_left_out_of_the_report(tmp_path):
    script = load_script()
    shifted = evaluation([True, False], None)
    for e in shifted["episodes"]:
        e["perturbation"] = "camera-small"
    shifted["summary"] = {"camera-small": shifted["summary"].pop("none")}
    rows = [{**shifted, "name": name, "seed": 0} for name in ("dense", "grids-16")]
    text = script.sections(rows, pairs="grids-16:dense", reference="dense")
    assert "## Paired comparisons" in text and "| grids-16 | dense | camera-small |" in text
    assert "## Training seeds" not in text and "## Learning curve" not in text  # no in-distribution rows, no curve
    rows = [{**evaluation([True, False], None), "name": name, "seed": 0} for name in ("dense", "grids-16")]
    assert "## Training seeds" in script.sections(rows, pairs="grids-16:dense", reference="dense")


def test_pairs_are_pooled_over_the_seeds_both_runs_have_each_against_its_own_seed():
    script = load_script()
    rows = [{**evaluation(outcomes, None), "name": name, "seed": seed}
            for name, seed, outcomes in [("a", 0, [True, False]), ("a (seed 1)", 1, [True, True]),
                                         ("a (seed 2)", 2, [True, True]), ("b", 0, [False, False]),
                                         ("b (seed 1)", 1, [True, True])]]  # fmt: skip
    (line,) = script.pair_lines(rows, "a:b")[2:]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3].startswith("+50.0 (1/0")  # seed 0 alone
    assert cells[4] == "0, 1"  # seed 2 has no partner
    assert cells[5].startswith("+25.0 (1/0")  # 4 paired episodes, seed 1's two are ties
    assert script.pooled_delta(rows, "a", "a") == ("—", "—")


def test_a_shift_evaluated_at_a_later_seed_only_is_still_compared():
    def with_noise(success: list[bool], name: str) -> dict:  # seed 2, evaluated in distribution and under noise
        row = {**evaluation(success, None), "name": name, "seed": 2}
        row["summary"] = {**row["summary"], "noise": row["summary"]["none"]}
        row["episodes"] += [{**e, "perturbation": "noise"} for e in row["episodes"]]
        return row

    script = load_script()
    rows = [{**evaluation([True], None), "name": "a", "seed": 0}, {**evaluation([True], None), "name": "b", "seed": 0},
            with_noise([True, True], "a (seed 2)"), with_noise([False, True], "b (seed 2)")]  # fmt: skip
    lines = script.pair_lines(rows, "a:b")[2:]
    (line,) = [line for line in lines if "| noise |" in line]
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[3] == "—" and cells[4] == "2" and cells[5].startswith("+50.0 (1/0")


def test_plot_lines_keep_the_task_aware_and_no_coordinate_variants_apart_from_their_reducer(tmp_path):
    script = load_script()
    base = {"reducer": "grids", "encoder": "mobilenetv2", "feature_shift": 0.5, "dim": 64, "reducer_options": {}}
    variants = {"grids-16": {}, "grids-task-16": {"task_aware": True},
                "grids-nocoord-16": {"reducer_options": {"coord_embedding": None}}}  # fmt: skip
    for name, change in variants.items():
        run = tmp_path / f"{name}-s0"
        run.mkdir()
        config = {"policy": {**base, **change}, "steps": 5000, "batch_size": 32, "ema": 0.999}
        (run / "config.json").write_text(json.dumps(config))
        (run / "eval_step5000_2ep_none.json").write_text(json.dumps(evaluation([True, False], None)))
    rows = script.collect(tmp_path, steps=5000, episodes=2, max_steps=None)
    assert {r["name"]: r["label"] for r in rows} == {
        "grids-16": "grids EMA", "grids-task-16": "grids task-aware EMA", "grids-nocoord-16": "grids no coord EMA"
    }  # fmt: skip


def test_the_learning_curve_is_kept_in_the_json_and_survives_the_run_directory(tmp_path):
    script = load_script()
    run = tmp_path / "runs" / "dense-s0"
    run.mkdir(parents=True)
    policy = {"reducer": "dense", "encoder": "mobilenetv2", "feature_shift": 0.5, "dim": 64}
    (run / "config.json").write_text(json.dumps({"policy": policy, "steps": 5000, "batch_size": 32}))
    (run / "eval_step5000_4ep_none.json").write_text(json.dumps(evaluation([True] * 4, None)))
    (run / "curve_step2500_4ep_none_150.json").write_text(json.dumps(evaluation([True, False, False, False], None)))
    (row,) = script.collect(tmp_path / "runs", steps=5000, episodes=4, max_steps=None)
    assert [(p["step"], p["success_rate"]) for p in row["curve"]] == [(2500, 0.25), (5000, 1.0)]
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"command": "", "notes": "", "results": [{**row, "name": "dense", "seed": 0}]}))
    (earlier,) = script.with_earlier([], [report])  # the run directory is no longer read
    lines = script.curve_lines([earlier])
    assert lines[2:] == ["| dense | 2500 | 25.0 | 4 |", "| dense | 5000 | 100.0 | 4 |"]


def test_a_report_is_rebuilt_from_its_own_json_when_its_runs_are_gone(tmp_path, monkeypatch):
    script = load_script()
    rows = [{**evaluation([True, False], None), "name": "dense", "seed": 0, "from_report": "first.json"},
            {**evaluation([True, True], None), "name": "grids-16", "seed": 0}]  # fmt: skip
    for row in rows:
        row["summary"]["none"] |= {"mean_length": 50.0, "policy_ms_per_step": 3.0}
    out = tmp_path / "report"
    out.with_suffix(".json").write_text(json.dumps({"command": "", "notes": "", "results": rows}))
    argv = ["grid_report.py", "--root", str(tmp_path / "gone"), "--out", str(out), "--earlier", str(out) + ".json"]
    monkeypatch.setattr("sys.argv", argv)
    script.main()
    rebuilt = json.loads(out.with_suffix(".json").read_text())["results"]
    assert [(r["name"], r["summary"]) for r in rebuilt] == [(r["name"], r["summary"]) for r in rows]
    assert [r["from_report"] for r in rebuilt] == ["first.json", str(out) + ".json"]  # the first source is kept
    monkeypatch.setattr("sys.argv", argv[:5])  # no runs and no earlier report: nothing to report
    try:
        script.main()
    except SystemExit as error:
        assert "no evaluations under" in str(error)
    else:
        raise AssertionError("a report without runs or earlier rows was written")


def test_the_final_training_loss_is_the_mean_of_the_last_logged_steps_and_rows_without_it_are_skipped(tmp_path):
    script = load_script()
    run = tmp_path / "dense-s0"
    run.mkdir()
    assert script.final_loss(run) is None  # no metrics.csv
    losses = [1.0] * 38 + [0.5, 0.3]  # 5 % of 40 logged steps: the last two
    rows = "".join(f"{10 * (i + 1)},{loss},0.001,1.0,0.1\n" for i, loss in enumerate(losses))
    (run / "metrics.csv").write_text("step,loss,lr,grad_norm,seconds\n" + rows)
    assert script.final_loss(run) == 0.4
    lines = script.loss_lines([{"name": "dense", "steps": 400, "final_loss": 0.4}, {"name": "old", "steps": 400}])
    assert lines[2:] == ["| dense | 400 | 0.4000 |"]
