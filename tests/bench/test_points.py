"""grids.bench.points: the printed summary of where the points look."""

from grids.bench.points import _print_content


def test_points_summary_prints_without_privileged_positions(capsys):
    view = {"tied_fraction": 0.0, "border_fraction": 0.25}
    _print_content({"transfer-cube": {"frames": 5, "view0": view, "view1": view}}, print)  # ALOHA: no positions
    assert "transfer-cube: best point-position correlation gripper —, object —, goal —" in capsys.readouterr().out


def test_a_figure_records_the_receding_horizon_its_episodes_ran_at(tmp_path, monkeypatch):
    """The spec runner remakes a figure made at another horizon: the JSON must say which one it was."""
    import json

    import numpy as np
    import torch

    from grids.bench import analysis, train
    from grids.bench.points import write_points
    from grids.bench.policy import Policy, PolicyConfig
    from tests.bench.test_bench import MICRO

    torch.manual_seed(0)
    policy = Policy(PolicyConfig(reducer="grids", num_tokens=4, chunk_size=8, tasks=["reach-v3"], **MICRO)).eval()
    ran_at = []

    def looks(policy, tasks, *, execute_steps, **_):
        ran_at.append(execute_steps)
        return {"reach-v3": [(0, np.zeros((2, 32, 32, 3), np.uint8), np.full((2, 4, 2), 0.5))]}

    monkeypatch.setattr(train, "load_policy", lambda run: policy)
    monkeypatch.setattr(analysis, "looks", looks)
    for asked, recorded in ((3, 3), (None, 4)):  # None: half the chunk of 8
        write_points("run", ["reach-v3"], tmp_path / "p.png", execute_steps=asked, log=lambda *_: None)
        assert json.loads((tmp_path / "p.json").read_text())["execute_steps"] == recorded and ran_at[-1] == asked
