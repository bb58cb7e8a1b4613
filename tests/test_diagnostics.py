import warnings

import pytest
import torch

from grids.core import GridSampler, patch_centers, sample_tokens, spread_layout
from grids.diagnostics import (
    PointsWarning,
    border_saturation,
    check_points,
    follows_content,
    point_motion,
    point_shift,
    point_spread,
    retention_map,
    token_cosine,
)

GRID = (16, 16)


def test_point_spread_of_collapsed_and_spread_points():
    collapsed = torch.full((5, 4, 2), 0.3)
    stats = point_spread(collapsed, GRID)
    assert stats["tied_fraction"] == 1.0 and stats["mean_distance"] == 0.0

    corners = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).expand(3, -1, -1)
    stats = point_spread(corners, GRID)  # 4 sides of 15 cells, 2 diagonals of 15 * sqrt(2)
    assert stats["tied_fraction"] == 0.0 and stats["min_distance"] == pytest.approx(15.0)
    assert stats["mean_distance"] == pytest.approx((4 * 15 + 2 * 15 * 2**0.5) / 6)

    half_tied = torch.tensor([[0.5, 0.5], [0.5 + 0.05 / 15, 0.5], [0.9, 0.5]])  # [K, 2]: 1 of 3 pairs
    assert point_spread(half_tied, GRID)["tied_fraction"] == pytest.approx(1 / 3)
    assert point_spread(torch.rand(4, 1, 2), GRID)["tied_fraction"] == 0.0  # K = 1: nothing to tie


def test_border_saturation():
    on_border = torch.tensor([[0.0, 0.5], [1.0, 0.2], [0.4, 0.0], [0.6, 1.0]])
    assert border_saturation(on_border, GRID) == 1.0
    assert border_saturation(spread_layout(16), GRID) == 0.0
    inside = torch.tensor([[0.6 / 15, 0.5], [0.4 / 15, 0.5]])  # 0.6 cell in: inside; 0.4 cell: border
    assert border_saturation(inside, GRID) == 0.5
    assert border_saturation(torch.tensor([[0.5, 0.04]]), (32, 8)) == 0.0  # y: 31 cells, so 1.24 cells in
    assert border_saturation(torch.tensor([[0.04, 0.5]]), (32, 8)) == 1.0  # x: 7 cells, so 0.28 cells in


def test_follows_content():
    torch.manual_seed(0)
    frames = 50
    target = torch.rand(frames, 2) * 0.6 + 0.2  # the object wanders
    gripper = torch.rand(frames, 2)
    tracker = target + 0.01 * torch.randn(frames, 2)  # point 0 tracks the object
    fixed = torch.full((frames, 2), 0.5)  # point 1 never moves (a fixed layout)
    mirror = 1 - gripper  # point 2 moves against the gripper
    coords = torch.stack([tracker, fixed, mirror], dim=1)  # [N, K=3, 2]
    positions = torch.stack([gripper, target], dim=1)  # [N, M=2, 2]
    table = follows_content(coords, positions)
    assert table["correlation"][0] > 0.99 and table["best"][0] == 1
    assert table["correlation"][1] == 0.0 and (table["per_axis"][1] == 0).all()
    assert table["correlation"][2] < 0.5 and table["per_axis"][2, 0] == pytest.approx(-1.0, abs=1e-5)
    assert table["per_axis"].shape == (3, 2, 2)

    sliding = torch.stack([torch.linspace(0.1, 0.9, frames), torch.full((frames,), 0.3)], dim=-1)
    only_x = follows_content(sliding[:, None], sliding[:, None])  # moves along x only: y ignored
    assert only_x["correlation"][0] == pytest.approx(1.0) and only_x["per_axis"][0, 0, 1].isnan()
    still = follows_content(sliding[:, None], torch.full((frames, 1, 2), 0.5))
    assert still["correlation"][0].isnan() and still["best"][0] == -1  # nothing moved to follow
    with pytest.raises(ValueError, match="same N"):
        follows_content(coords, positions[:10])


def test_retention_map_is_one_at_the_sampled_cells():
    torch.manual_seed(0)
    feature_map = torch.randn(2, 8, 8, 32)
    cells = torch.tensor([3, 20, 45])  # flat indices of three patch centres
    coords = patch_centers(8, 8)[cells].expand(2, -1, -1)
    retention = retention_map(feature_map, sample_tokens(feature_map, coords))
    assert retention.shape == (2, 8, 8)
    torch.testing.assert_close(retention.flatten(1)[:, cells], torch.ones(2, 3))
    others = torch.ones(64, dtype=torch.bool)
    others[cells] = False
    assert (retention.flatten(1)[:, others] < 0.99).all()  # random 32-d vectors are far from each other
    dense = retention_map(feature_map, feature_map.flatten(1, 2))
    torch.testing.assert_close(dense, torch.ones(2, 8, 8))
    with pytest.raises(ValueError, match="must be"):
        retention_map(feature_map, torch.randn(2, 3, 16))


def test_check_points_warns_with_the_numbers():
    with pytest.warns(PointsWarning, match=r"collapsed: 100% of point pairs.*mean distance 0.00 cells"):
        stats = check_points(torch.full((4, 8, 2), 0.5), GRID)
    assert stats["tied_fraction"] == 1.0 and stats["border_fraction"] == 0.0
    with pytest.warns(PointsWarning, match="at the border: 100% of points"):
        check_points(torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]]), GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = check_points(spread_layout(16).expand(3, -1, -1), GRID)  # healthy: no warning
    assert stats["tied_fraction"] == 0.0 and stats["border_fraction"] == 0.0


def test_a_fresh_sampler_passes_the_check():
    for head in ("pooled", "heatmap"):
        sampler = GridSampler(dim=16, num_tokens=16, coord_head=head)
        with torch.no_grad():
            coords = sampler.predict_coords(torch.randn(4, 16, 16, 16))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_points(coords, GRID)


def test_point_shift_matched_and_as_a_set():
    clean = torch.tensor([[0.0, 0.0], [1.0, 1.0]]).expand(3, -1, -1)  # [N, K, 2]
    assert point_shift(clean, clean, GRID) == {"matched": 0.0, "set": 0.0}
    swapped = clean.flip(1)  # the same set, the indices exchanged: top-K's ranks swapping
    stats = point_shift(clean, swapped, GRID)
    assert stats["matched"] == pytest.approx(15 * 2**0.5) and stats["set"] == 0.0
    inside = torch.tensor([[0.0, 0.0], [14 / 15, 1.0]]).expand(3, -1, -1)  # room for a cell to the right
    nudged = inside + torch.tensor([1 / 15, 0.0])  # one cell to the right, every point
    assert point_shift(inside, nudged, GRID) == pytest.approx({"matched": 1.0, "set": 1.0})
    with pytest.raises(ValueError, match="not the same shape"):
        point_shift(clean, clean[:, :1], GRID)


def test_token_cosine():
    torch.manual_seed(0)
    tokens = torch.randn(4, 5, 8)
    assert token_cosine(tokens, 3 * tokens) == pytest.approx(1.0)
    assert token_cosine(tokens, -tokens) == pytest.approx(-1.0)
    assert abs(token_cosine(tokens, torch.randn(4, 5, 8))) < 0.3


def test_point_motion_of_a_fixed_layout_and_of_a_point_walking_one_cell_a_frame():
    layout = spread_layout(4).expand(5, 4, 2)  # [T, K, 2]: five frames, nothing moves
    still = point_motion(layout, GRID)
    assert (still["median_step"], still["p95_step"], still["std"]) == (0.0, 0.0, 0.0)
    torch.testing.assert_close(torch.tensor(still["mean_position"]), spread_layout(4))
    walking = torch.zeros(4, 2, 2)  # point 0 walks along x one cell a frame, point 1 stays at the origin
    walking[:, 0, 0] = torch.arange(4) / (GRID[1] - 1)
    motion = point_motion(walking, GRID)
    assert motion["median_step"] == pytest.approx(0.0)  # half of the (T - 1) K steps are point 1's zeros
    assert motion["p95_step"] == pytest.approx(1.0, abs=1e-5)
    assert motion["std"] == pytest.approx(0.5 * 1.25**0.5, abs=1e-5)  # point 0: positions 0..3 cells; point 1: 0
    with pytest.raises(ValueError, match="point_motion needs at least 2 frames"):
        point_motion(spread_layout(4)[None], GRID)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        point_motion(walking + 2, GRID)
