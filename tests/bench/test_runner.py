"""grids.bench.runner: a miniature spec made end to end (data -> cache -> train -> eval -> report), a run killed
mid-training that resumes to the same weights, idempotence, the lock and an edited spec refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from grids.bench import runner
from grids.bench.spec import SpecError, load_spec
from grids.bench.train import latest_checkpoint, read_state
from grids.errors import UserError

pytest.importorskip("grids.sim")

MINI = """
tasks = "reach-v3"
root = "{root}"
results = "{results}"

[data]
path = "{data}"
episodes_per_task = 1
image_size = 32
workers = 1

[protocol]
steps = {steps}
batch_size = 4
save_every = 2
threads = 1
language_model = "hash"
policy = {{ image_size = 32, patch_size = 2, dim = 32, encoder_depth = 2, policy_depth = 1, num_heads = 2 }}

[[rows]]
name = "dense"
reducer = "dense"
tokens = 256
seeds = [0]

[[rows]]
name = "grids-4"
reducer = "grids"
tokens = 4
seeds = [0]

[[evaluations]]
episodes = 1
max_steps = 4
workers = 1

[[evaluations]]
episodes = 1
max_steps = 4
workers = 1
rows = ["grids-4"]
perturbations = ["light"]

[report]
pairs = [["grids-4", "dense"]]
"""


def write_spec(tmp_path: Path, name: str = "mini", *, data: Path | None = None, steps: int = 4) -> Path:
    fields = {"root": tmp_path / f"runs-{name}", "results": tmp_path / "results", "steps": steps,
              "data": data or tmp_path / "data"}  # fmt: skip
    path = tmp_path / f"{name}.toml"
    path.write_text(MINI.format(**{k: str(v) for k, v in fields.items()}))
    return path


def run(path: Path) -> runner.Spec:
    spec = load_spec(path)
    with runner.RunLock(spec.root):
        runner.check_unchanged(spec)
        runner.execute(spec, runner.plan(spec, progress=False), log=lambda *_: None)
        runner.write_spec_report(spec, command=f"grids bench run {path}")
    return spec


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The miniature spec run once, its first training killed after 2 of 4 steps and the spec run again."""
    tmp_path = tmp_path_factory.mktemp("mini")
    path = write_spec(tmp_path)
    spec = load_spec(path)
    from grids.bench import train as train_module

    original = train_module.train

    def killed(config, **_):  # the process dies after 2 steps: its step-2 checkpoint is on disk
        original(config, stop_after=2)
        raise KeyboardInterrupt

    train_module.train = killed
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.execute(spec, runner.plan(spec, progress=False), log=lambda *_: None)
    finally:
        train_module.train = original
    assert read_state(latest_checkpoint(runner.run_dir(spec, spec.rows[0], 0)))["step"] == 2  # not trained to 4
    return tmp_path, run(path)


def test_a_miniature_spec_runs_end_to_end_and_its_report_names_the_spec(made):
    tmp_path, spec = made
    report = json.loads((tmp_path / "results" / "mini.json").read_text())
    assert report["spec"] == spec.path and report["spec_sha256"] == spec.sha256
    assert report["command"] == f"grids bench run {spec.path}"
    assert [r["name"] for r in report["results"]] == ["dense", "grids-4"]
    assert list(report["results"][1]["summary"]) == ["none", "light"]  # in distribution first, then the shift
    md = (tmp_path / "results" / "mini.md").read_text()
    assert f"Spec: `{spec.path}`" in md and "| grids-4 | grids | 4 |" in md and "## Paired comparisons" in md
    assert (tmp_path / "results" / "mini.png").is_file()


def test_a_run_killed_mid_training_resumes_to_the_weights_of_an_uninterrupted_one(made, tmp_path):
    made_dir, spec = made
    straight = load_spec(write_spec(tmp_path, "straight", data=made_dir / "data"))
    steps = [s for s in runner.plan(straight, progress=False) if s.kind in ("features", "train")]
    runner.execute(straight, steps[:2], log=lambda *_: None)  # the cache and dense, in one go
    for name in ("dense-s0",):
        a = load_file(next((Path(spec.root) / name / "checkpoints").glob("step_0000004")) / "model.safetensors")
        b = load_file(next((Path(straight.root) / name / "checkpoints").glob("step_0000004")) / "model.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_finished_spec_plans_nothing_and_a_dry_run_names_every_step(made):
    _, spec = made
    steps = runner.plan(spec, progress=False)
    assert [s.kind for s in steps] == ["keep", "keep", "eval", "eval", "eval"]  # nothing trains: no data needed
    assert all(s.done for s in steps)
    text = runner.describe(spec, steps)
    assert "0 of 5 steps to run" in text and "[done] keep" in text


def test_a_finished_run_is_kept_and_a_fresh_checkout_restores_it_bit_for_bit_without_its_data(made, tmp_path):
    from grids.bench.kept import _rebuilt
    from grids.bench.train import latest_checkpoint, load_policy, read_state, weights_file
    from grids.sim.dataset import sha256_file

    made_dir, spec = made
    for row in spec.rows:
        kept = runner.kept_dir(spec, row, 0)
        assert kept == made_dir / "results" / "runs" / "runs-mini" / f"{row.name}-s0"
        checkpoint = latest_checkpoint(runner.run_dir(spec, row, 0))
        assert sorted(f.name for f in kept.glob("*.safetensors")) == [weights_file(checkpoint).name]  # finished
        stored, trained = load_file(kept / weights_file(checkpoint).name), load_file(weights_file(checkpoint))
        rebuilt = _rebuilt(json.dumps(read_state(checkpoint)["train_config"]))  # what building the policy afresh gives
        assert set(stored) == {k for k in trained if not (k in rebuilt and torch.equal(trained[k], rebuilt[k]))}
        assert len(stored) < len(trained)  # what the build gives back is not stored
    fresh = tmp_path / "fresh"  # another machine: the same spec and results, no runs, no data
    path = tmp_path / "fresh.toml"
    path.write_text(Path(spec.path).read_text().replace(spec.root, str(fresh / "runs-mini"))
                    .replace(str(made_dir / "data"), str(fresh / "data")))  # fmt: skip
    again = load_spec(path)
    steps = runner.plan(again, progress=False)
    assert [s.kind for s in steps] == ["restore", "restore", "eval", "eval", "eval"]
    assert runner.finished_run(again, again.rows[0], 0) == runner.run_dir(again, again.rows[0], 0)  # restored to ask
    assert [s.kind for s in runner.plan(again, progress=False)][:2] == ["keep", "restore"]  # as the plan would
    runner.execute(again, [s for s in steps if s.kind == "restore"][1:], log=lambda *_: None)
    for row in spec.rows:
        original, restored = (latest_checkpoint(runner.run_dir(s, row, 0)) for s in (spec, again))
        assert restored.name == original.name and read_state(restored) == read_state(original)
        assert sha256_file(weights_file(restored)) == sha256_file(weights_file(original))
        assert (runner.run_dir(again, row, 0) / "metrics.csv").read_text() == (runner.run_dir(spec, row, 0) / "metrics.csv").read_text()
        load_policy(runner.run_dir(again, row, 0))
    assert not (fresh / "data").exists() and all(s.done for s in runner.plan(again, progress=False) if s.kind != "eval")


def test_an_unfinished_run_kept_on_one_machine_resumes_on_another_to_the_uninterrupted_weights(made, tmp_path, monkeypatch):
    from grids.bench import train as train_module
    from grids.bench.kept import kept_step

    made_dir, spec = made
    path = tmp_path / "spec.toml"  # the same spec, results and (regenerated) data; each machine its own runs/
    path.write_text(Path(spec.path).read_text().replace(str(made_dir / "results"), str(tmp_path / "results"))
                    .replace(spec.root, "runs-mini"))  # fmt: skip
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    a = load_spec(path)
    original = train_module.train
    monkeypatch.setattr(train_module, "train", lambda config, **kw: original(config, stop_after=2, **kw))
    dense = [s for s in runner.plan(a, only=("dense",), progress=False) if s.kind in ("features", "train")]
    runner.execute(a, dense, log=lambda *_: None)  # the session ends after step 2 of 4
    kept = runner.kept_dir(a, a.rows[0], 0)
    assert kept_step(kept) == 2 and {f.name for f in kept.glob("*.safetensors")} >= {"model.safetensors", "optimizer.safetensors"}
    monkeypatch.setattr(train_module, "train", original)
    monkeypatch.chdir(tmp_path / "b")
    b = load_spec(path)
    assert not runner.run_dir(b, b.rows[0], 0).exists()
    assert runner.finished_run(b, b.rows[0], 0) is None and not runner.run_dir(b, b.rows[0], 0).exists()  # kept mid-way
    step = next(s for s in runner.plan(b, only=("dense",), progress=False) if s.kind == "train")
    assert step.label == f"train {runner.run_dir(b, b.rows[0], 0)} from step 2 (kept in {kept})" and step.units == 2
    runner.execute(b, [s for s in runner.plan(b, only=("dense",), progress=False) if s.kind in ("features", "train")],
                   log=lambda *_: None)  # fmt: skip
    resumed = load_file(runner.run_dir(b, b.rows[0], 0) / "checkpoints" / "step_0000004" / "model.safetensors")
    straight = load_file(runner.run_dir(spec, spec.rows[0], 0) / "checkpoints" / "step_0000004" / "model.safetensors")
    assert resumed.keys() == straight.keys() and all(torch.equal(resumed[k], straight[k]) for k in resumed)
    assert kept_step(kept) == 4 and [f.name for f in kept.glob("*.safetensors")] == ["model.safetensors"]


def test_a_kept_run_that_no_longer_rebuilds_to_its_weights_is_refused(made, tmp_path):
    import shutil

    from grids.bench.kept import restore_run
    from grids.bench.train import CheckpointError

    made_dir, spec = made
    kept = tmp_path / "kept"
    shutil.copytree(runner.kept_dir(spec, spec.rows[0], 0), kept)
    record = json.loads((kept / "state.json").read_text())
    (kept / "state.json").write_text(json.dumps({**record, "files": {"model.safetensors": "0" * 64}}))
    with pytest.raises(CheckpointError, match=r"the rebuilt model.safetensors differs from the trained one .*train the row again"):
        restore_run(kept, tmp_path / "run")
    assert not list((tmp_path / "run" / "checkpoints").iterdir())  # nothing half-made left


def test_a_kept_run_of_another_protocol_is_refused_unless_forced(made, tmp_path):
    import shutil

    made_dir, spec = made
    results = tmp_path / "results"
    shutil.copytree(made_dir / "results" / "runs", results / "runs")
    path = tmp_path / "edited.toml"
    path.write_text(Path(spec.path).read_text().replace(str(made_dir / "results"), str(results))
                    .replace(spec.root, str(tmp_path / "runs-mini")).replace("batch_size = 4", "batch_size = 8"))  # fmt: skip
    edited = load_spec(path)
    with pytest.raises(SpecError, match=r"row dense seed 0 already has a run at .*results/runs/runs-mini/dense-s0 trained with batch_size = 4"):
        runner.check_unchanged(edited)
    messages = []
    runner.check_unchanged(edited, force=True, log=messages.append)
    assert not (results / "runs" / "runs-mini" / "dense-s0").exists() and "the kept run" in messages[0]


@pytest.mark.parametrize(("seconds", "text"), [(26, "26 s"), (89, "89 s"), (540, "9 min"), (5340, "89 min"),
                                               (5400, "1.5 h"), (20880, "5.8 h"), (89.6, "1 min")])
def test_an_estimate_reads_in_seconds_minutes_or_hours(seconds, text):
    assert runner.duration(seconds) == text  # a 20-episode evaluation is "26 s", not "0 min"


def test_one_process_owns_a_run_root(tmp_path):
    with runner.RunLock(tmp_path):
        with pytest.raises(UserError, match="is in use by pid"):
            with runner.RunLock(tmp_path):
                pass
    with runner.RunLock(tmp_path):  # released
        pass


def test_a_spec_edited_after_its_runs_exist_is_refused_unless_forced(made):
    tmp_path, spec = made
    edited = tmp_path / "edited.toml"
    edited.write_text(Path(spec.path).read_text().replace("batch_size = 4", "batch_size = 8"))
    changed = load_spec(edited)
    with pytest.raises(SpecError, match=r"row dense seed 0 already has a run .* batch_size = 4 \(the spec says 8\)"):
        runner.check_unchanged(changed)
    runner.check_unchanged(load_spec(spec.path))  # the spec as it was: nothing to refuse


def test_force_moves_the_old_run_aside(tmp_path):
    run_dir = tmp_path / "runs-mini" / "dense-s0"
    run_dir.mkdir(parents=True)
    spec = load_spec(write_spec(tmp_path))
    config = runner.train_config(spec, spec.rows[0], seed=0).to_dict()
    (run_dir / "config.json").write_text(json.dumps({**config, "lr": 0.5}))
    messages = []
    runner.check_unchanged(spec, force=True, log=messages.append)
    assert not run_dir.exists() and len(list(run_dir.parent.glob("dense-s0.replaced-*"))) == 1
    assert "lr = 0.5 (the spec says 0.001)" in messages[0]


def test_archived_rows_fill_in_for_runs_that_are_gone_and_are_marked(tmp_path):
    archive = tmp_path / "archive.json"
    row = {"name": "dense", "seed": 0, "reducer": "dense", "visual_tokens_per_view": 256, "tasks": ["reach-v3"],
           "per_task": {"none": {"reach-v3": {"episodes": 2, "success_rate": 0.5}}},
           "summary": {"none": {"episodes": 2, "success_rate": 0.5, "mean_length": 3.0, "policy_ms_per_step": 1.0}},
           "episodes": [{"task": "reach-v3", "perturbation": "none", "seed": s, "success": s == 0} for s in (0, 1)]}  # fmt: skip
    archive.write_text(json.dumps({"results": [row, {**row, "name": "old-row"}]}))
    path = write_spec(tmp_path)
    path.write_text(path.read_text() + f'\n[[archived]]\nreport = "{archive}"\ncommit = "abc1234"\nreason = "runs lost"\n')
    spec = load_spec(path)
    paths = runner.write_spec_report(spec, command="c")
    results = json.loads(paths["json"].read_text())["results"]
    assert [r["name"] for r in results] == ["dense", "old-row"]
    assert results[0]["archived"] == {"report": str(archive), "commit": "abc1234", "reason": "runs lost"}
    assert "Archived rows" in paths["md"].read_text() and "at commit abc1234; runs lost" in paths["md"].read_text()


def test_a_remade_row_is_checked_against_its_archived_twin(made, tmp_path):
    made_dir, spec = made
    dense, grids = json.loads((made_dir / "results" / "mini.json").read_text())["results"]
    assert len(dense["weights_sha256"]) == 64 and dense["data_fingerprint"] == grids["data_fingerprint"]
    assert dense["weights_sha256"] != grids["weights_sha256"]
    older = {k: v for k, v in dense.items() if k not in ("data_fingerprint", "weights_sha256")}  # predates them
    other = {**grids, "data_fingerprint": "another", "episodes": [{**e, "success": not e["success"]} for e in grids["episodes"]]}
    archive = tmp_path / "archive.json"
    archive.write_text(json.dumps({"results": [older, other]}))
    path = tmp_path / "again.toml"
    text = Path(spec.path).read_text().replace(str(made_dir / "results"), str(tmp_path / "results"))
    path.write_text(text + f'\n[[archived]]\nreport = "{archive}"\ncommit = "abc1234"\nreason = "runs lost"\n')
    paths = runner.write_spec_report(load_spec(path), command="c")
    rows = {r["name"]: r for r in json.loads(paths["json"].read_text())["results"]}
    n, m = len(dense["episodes"]), len(grids["episodes"])
    won = sum(e["success"] for e in grids["episodes"])  # the twin succeeds where the remade row failed, and back
    assert rows["dense"]["reproduces"] == {"commit": "abc1234", "same": n, "of": n, "same_success": n, "only_remade": 0,
                                           "only_twin": 0, "p": 1.0, "same_data": None, "same_weights": None}  # fmt: skip
    flipped = rows["grids-4"]["reproduces"]
    assert {k: flipped[k] for k in ("same", "of", "same_success", "only_remade", "only_twin")} == {
        "same": 0, "of": m, "same_success": 0, "only_remade": won, "only_twin": m - won}  # fmt: skip
    assert flipped["p"] < 1.0 and (flipped["same_data"], flipped["same_weights"]) == (False, True)
    md = paths["md"].read_text()
    assert f"dense {n} / {n} (same success {n}, 0 / 0, p = 1.000; commit abc1234)," in md
    assert f"grids-4 0 / {m} (same success 0, {won} / {m - won}, p = " in md and "; commit abc1234, other data, same weights)" in md
    twin = {**dense, "archived": {"commit": "abc1234"}}
    assert runner.reproduction(dense, twin)["same"] == n and runner.reproduction(dense, twin)["same_weights"] is True
    assert runner.reproduction(older, twin)["same_data"] is None  # a remade run without a checkpoint: unknown, not "other"


def test_a_run_s_perturbations_share_one_pool_and_each_gets_the_file_it_would_alone(made, tmp_path):
    import shutil

    from grids.bench.evaluate import evaluate

    made_dir, spec = made
    shutil.copytree(spec.root, tmp_path / "runs-batch", ignore=shutil.ignore_patterns(".lock"))
    shift = 'episodes = 1\nmax_steps = 4\nworkers = 1\nrows = ["grids-4"]\nperturbations = ["light"]'
    both = 'episodes = 2\nmax_steps = 4\nworkers = 1\nrows = ["grids-4"]\nperturbations = ["light", "noise"]'
    text = Path(spec.path).read_text().replace(spec.root, str(tmp_path / "runs-batch")).replace(shift, both)
    path = tmp_path / "batch.toml"
    path.write_text(text.replace(str(made_dir / "results"), str(tmp_path / "results")))
    batch = load_spec(path)
    todo = [s for s in runner.plan(batch, progress=False) if not s.done and s.kind != "keep"]  # kept in another results folder
    light = tmp_path / "runs-batch" / "grids-4-s0" / "eval_light_2ep_4_official.json"
    assert [s.label for s in todo] == [f"eval {light} and 1 more perturbations (2 to run)"]
    assert todo[0].units == 2 * 2  # 1 task x 2 episodes x 2 perturbations
    runner.execute(batch, todo, log=lambda *_: None)
    run_dir = tmp_path / "runs-batch" / "grids-4-s0"
    assert not list(run_dir.glob("*.journal.jsonl"))
    for perturbation in ("light", "noise"):
        written = json.loads((run_dir / f"eval_{perturbation}_2ep_4_official.json").read_text())
        alone = evaluate(run_dir, ["reach-v3"], episodes=2, perturbations=(perturbation,), workers=1, max_steps=4,
                         progress=False)  # fmt: skip
        assert list(written["summary"]) == [perturbation]
        assert _untimed(written["episodes"]) == _untimed(alone["episodes"])
        assert _untimed(written["summary"].values()) == _untimed(alone["summary"].values())


def _untimed(rows) -> list[dict]:
    return [{k: v for k, v in r.items() if "_ms" not in k and "seconds" not in k} for r in rows]
