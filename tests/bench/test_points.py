"""grids.bench.points: the printed summary of where the points look."""

from grids.bench.points import _print_content


def test_points_summary_prints_without_privileged_positions(capsys):
    view = {"tied_fraction": 0.0, "border_fraction": 0.25}
    _print_content({"transfer-cube": {"frames": 5, "view0": view, "view1": view}}, print)  # ALOHA: no positions
    assert "transfer-cube: best point-position correlation gripper —, object —, goal —" in capsys.readouterr().out
