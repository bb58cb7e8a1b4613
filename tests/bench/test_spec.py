"""grids.bench.spec: every committed spec loads and plans; a bad spec fails before any work, naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grids.bench import runner
from grids.bench.spec import SpecError, load_spec

SPECS = sorted((Path(__file__).parents[2] / "benchmarks" / "specs").glob("*.toml"))

GOOD = """
tasks = "quick"
root = "runs/x"
[data]
path = "data/x"
[[rows]]
name = "dense"
reducer = "dense"
tokens = 256
seeds = [0]
[[evaluations]]
episodes = 2
"""


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_committed_spec_loads_and_its_dry_run_plans(path, monkeypatch):
    monkeypatch.chdir(path.parents[2])  # specs name repository paths
    spec = load_spec(path.relative_to(path.parents[2]))
    steps = runner.plan(spec, progress=False)
    assert (steps or spec.kind == "grid" and not spec.rows) and "plan for" in runner.describe(spec, steps)
    if spec.kind == "grid":
        assert spec.report_prefix == Path("benchmarks/results") / path.stem  # spec X writes results/X.*


@pytest.mark.parametrize(
    "change, message",
    [
        (("[data]", "[data]\ncolour = 1"), "data.colour: unknown key; allowed: camera, episodes_per_task"),
        (('reducer = "dense"', 'reducer = "densest"'), "rows[0] (dense).reducer: 'densest' is not allowed; allowed:"),
        (('tasks = "quick"', 'tasks = "reach-v9"'), "tasks: unknown task(s) ['reach-v9']"),
        (("episodes = 2", 'episodes = 2\nperturbations = ["fog"]'), "evaluations[0].perturbations: unknown perturbation 'fog'"),
        (("seeds = [0]", "seeds = []"), "rows[0] (dense).seeds: empty"),
        (("tokens = 256", 'tokens = "many"'), "rows[0].tokens: must be an integer, got 'many'"),
        (("[[evaluations]]", 'nonsense = 1\n[[evaluations]]'), "rows[0].nonsense: unknown key; allowed: coord_embedding, label"),
        (("episodes = 2", 'episodes = 2\nrows = ["grids-16"]'), "evaluations[0].rows: 'grids-16' is not allowed; allowed: dense"),
        (("seeds = [0]", 'seeds = [0]\nprotocol = { steps = 0 }'), "rows[0] (dense): steps must be an int >= 1, got 0"),
        (('root = "runs/x"', ""), "root: missing"),
        (("seeds = [0]", 'seeds = [0]\nprotocol = { policy = { encoder_top = 3 } }'),
         "rows[0] (dense).protocol.policy.encoder_top: 3 differs from the spec's protocol: every row trains on one"),
        (("episodes = 2", "episodes = 2\nexecute_steps = 9"),
         "evaluations[0].execute_steps: must be in 1..8 (row dense's chunk_size), got 9"),
    ],
    ids=["unknown-key", "reducer", "task", "perturbation", "no-seeds", "type", "nested-unknown", "eval-row", "protocol", "missing",
         "row-encoder-top", "execute-steps"],
)
def test_a_bad_spec_names_the_field_and_the_allowed_values(tmp_path, change, message):
    path = tmp_path / "bad.toml"
    old, new = change
    assert old in GOOD
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)
    load_spec_ok = tmp_path / "good.toml"
    load_spec_ok.write_text(GOOD)
    assert load_spec(load_spec_ok).rows[0].name == "dense"


def test_an_evaluation_with_its_own_receding_horizon_has_its_own_file(tmp_path):
    """Files from before ``execute_steps`` keep their names (half the chunk); a set horizon is in the name, so an
    evaluation under another horizon is never taken for done."""
    path = tmp_path / "x.toml"
    path.write_text(GOOD)
    spec = load_spec(path)
    path.write_text(GOOD.replace("episodes = 2", "episodes = 2\nexecute_steps = 5"))
    replanned = load_spec(path)
    row = spec.rows[0]
    assert runner.eval_path(spec, row, 0, spec.evaluations[0], "none").name == "eval_none_2ep_None_official.json"
    assert runner.eval_path(replanned, row, 0, replanned.evaluations[0], "none").name == "eval_none_2ep_None_official_x5.json"
    assert runner._horizon(spec, row, seed=0) is None and runner._horizon(replanned, row, seed=0) == 5  # its points figure too


def test_a_points_figure_made_at_another_receding_horizon_is_made_again(tmp_path):
    """A figure's JSON records the horizon its episodes ran at (none recorded: the default, half the chunk)."""
    path = tmp_path / "x.toml"
    path.write_text(GOOD.replace("[[evaluations]]", "[protocol]\nchunk_size = 50\n[[evaluations]]")
                    + f'[report]\n[[report.points]]\nrow = "dense"\nfile = "{tmp_path}/p.png"\n')  # fmt: skip
    default = load_spec(path)
    path.write_text(path.read_text().replace("episodes = 2", "episodes = 2\nexecute_steps = 5"))
    replanned = load_spec(path)
    png, stats = tmp_path / "p.png", tmp_path / "p.json"

    def done(spec) -> bool:
        return next(s for s in runner.plan(spec, progress=False) if s.kind == "points").done

    assert not done(default)  # no figure yet
    png.write_bytes(b"png")
    stats.write_text(json.dumps({"run": "r"}))  # made before the horizon was recorded: 25 of 50
    assert done(default) and not done(replanned)
    stats.write_text(json.dumps({"run": "r", "execute_steps": 5}))
    assert done(replanned) and not done(default)


def test_a_row_evaluated_twice_under_one_perturbation_is_refused(tmp_path):
    path = tmp_path / "twice.toml"
    path.write_text(GOOD + "[[evaluations]]\nepisodes = 5\n")
    with pytest.raises(SpecError, match=r"row dense seed 0 is already evaluated under 'none' \(official starts\) by evaluations"):
        load_spec(path)


def test_a_missing_spec_file_and_bad_toml_are_named(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "nope.toml")
    (tmp_path / "broken.toml").write_text("rows = [")
    with pytest.raises(SpecError, match="broken.toml: not valid TOML"):
        load_spec(tmp_path / "broken.toml")


def test_every_report_json_names_the_spec_that_makes_it():
    root = Path(__file__).parents[2]
    results = root / "benchmarks" / "results"  # archive/: earlier reports; runs/: kept runs (grids.bench.kept)
    reports = [p for p in results.rglob("*.json") if not {"archive", "runs"} & set(p.relative_to(results).parts)]
    assert reports
    for path in reports:
        spec = json.loads(path.read_text()).get("spec")
        assert spec and (root / spec).is_file(), f"{path.relative_to(root)} names no spec ({spec!r})"


def test_a_trainable_encoder_top_gets_its_own_cache(tmp_path):
    from grids.bench.spec import features_dir

    path = tmp_path / "top.toml"
    path.write_text(GOOD.replace("[data]", "[protocol]\npolicy = { encoder_top = 3 }\n[data]"))
    assert features_dir(load_spec(path)) == Path("runs/x/features-top3")  # the trunk's cache, not the whole tower's
    (tmp_path / "good.toml").write_text(GOOD)
    assert features_dir(load_spec(tmp_path / "good.toml")) == Path("runs/x/features")
