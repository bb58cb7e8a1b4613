import math
import re

import pytest
import torch
import torch.nn.functional as F

from grids import make_reducer, patch_centers, sample_tokens, set_value_checks
from grids.core.sampling import spread_layout


def reference_bilinear(feature_map: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Independent float64 loop: the four-neighbour formula with explicit border handling."""
    batch, height, width, channels = feature_map.shape
    out = torch.zeros(batch, coords.shape[1], channels, dtype=torch.float64)
    for b in range(batch):
        for k in range(coords.shape[1]):
            x = coords[b, k, 0].item() * (width - 1)
            y = coords[b, k, 1].item() * (height - 1)
            value = torch.zeros(channels, dtype=torch.float64)
            for row in range(height):
                for col in range(width):
                    weight = max(0.0, 1 - abs(x - col)) * max(0.0, 1 - abs(y - row))  # tent kernel
                    value += weight * feature_map[b, row, col].double()
            out[b, k] = value
    return out


@pytest.mark.parametrize("hw", [(16, 16), (12, 20), (5, 3)])
def test_matches_independent_reference(hw):
    torch.manual_seed(0)
    feature_map = torch.randn(2, *hw, 6, dtype=torch.float64)
    coords = torch.rand(2, 7, 2, dtype=torch.float64)
    coords[0, 0] = torch.tensor([0.0, 1.0])
    coords[1, 1] = torch.tensor([1.0, 1.0])
    torch.testing.assert_close(sample_tokens(feature_map, coords), reference_bilinear(feature_map, coords))


def test_matches_torch_grid_sample_align_corners():
    torch.manual_seed(1)
    feature_map = torch.randn(3, 9, 14, 5)
    coords = torch.rand(3, 11, 2)
    expected = F.grid_sample(
        feature_map.permute(0, 3, 1, 2),
        (2 * coords - 1).unsqueeze(1),
        align_corners=True,
        padding_mode="border",
    )[:, :, 0].transpose(1, 2)
    torch.testing.assert_close(sample_tokens(feature_map, coords), expected, atol=1e-5, rtol=1e-5)


def test_gradcheck_float64():
    torch.manual_seed(2)
    feature_map = torch.randn(2, 4, 5, 3, dtype=torch.float64, requires_grad=True)
    # keep points away from patch centres, where bilinear interpolation has a kink
    coords = torch.rand(2, 6, 2, dtype=torch.float64) * 0.9 + 0.05
    coords = coords.detach().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f, c: sample_tokens(f, c), (feature_map, coords))


@pytest.mark.parametrize("hw", [(16, 16), (12, 20), (1, 7), (6, 1)])
def test_identity_grid_reproduces_dense_tokens_exactly(hw):
    feature_map = torch.randn(2, *hw, 8)
    coords = patch_centers(*hw).expand(2, -1, -1)
    assert torch.equal(sample_tokens(feature_map, coords), feature_map.flatten(1, 2))


def test_border_coordinates_return_border_tokens_with_gradient():
    feature_map = torch.randn(1, 16, 16, 4, requires_grad=True)
    corners = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    out = sample_tokens(feature_map, corners)
    expected = torch.stack(
        [feature_map[0, 0, 0], feature_map[0, 0, -1], feature_map[0, -1, 0], feature_map[0, -1, -1]]
    )
    assert torch.equal(out[0], expected)
    out[0, 3].sum().backward()  # the (1, 1) corner: the authors' port gives a zero vector and zero gradient
    assert feature_map.grad[0, -1, -1].abs().sum() > 0
    assert feature_map.grad.abs().sum() == feature_map.grad[0, -1, -1].abs().sum()


def test_gradient_moves_coordinates_towards_higher_features():
    ramp = torch.linspace(0, 1, 16).expand(16, 16)  # value grows with x
    feature_map = ramp[None, :, :, None]
    coords = torch.tensor([[[0.33, 0.5]]], requires_grad=True)
    sample_tokens(feature_map, coords).sum().backward()
    assert coords.grad[0, 0, 0] > 0 and coords.grad[0, 0, 1].abs() < 1e-6


def test_nearest_mode_rounds_and_blocks_coordinate_gradient():
    feature_map = torch.randn(1, 4, 4, 2)
    coords = torch.tensor([[[0.4, 0.1], [0.9, 0.7]]], requires_grad=True)  # x*3 = 1.2 -> 1, y*3 = 0.3 -> 0
    out = sample_tokens(feature_map, coords, mode="nearest")
    assert torch.equal(out[0, 0], feature_map[0, 0, 1]) and torch.equal(out[0, 1], feature_map[0, 2, 3])
    assert not out.requires_grad  # no path from coords: the point of the ablation


def test_area_mode_one_point_reads_the_image_mean():
    feature_map = torch.randn(2, 16, 16, 8)
    out = sample_tokens(feature_map, torch.full((2, 1, 2), 0.5), mode="area")
    torch.testing.assert_close(out[:, 0], feature_map.mean(dim=(1, 2)))


def test_area_mode_at_the_cell_centres_is_average_pooling():
    feature_map = torch.randn(2, 16, 16, 8)
    pooled = make_reducer("pool", dim=8, num_tokens=16)(feature_map.flatten(1, 2), grid_hw=(16, 16))
    torch.testing.assert_close(sample_tokens(feature_map, pooled.coords, mode="area"), pooled.tokens)


@pytest.mark.parametrize("hw", [(9, 12), (16, 16), (7, 5)])
def test_area_mode_reads_a_constant_map_as_the_constant_borders_included(hw):
    feature_map = torch.full((1, *hw, 3), 2.5)
    coords = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [0.3, 0.8], [1.0, 0.0]]])
    torch.testing.assert_close(sample_tokens(feature_map, coords, mode="area"), torch.full((1, 4, 3), 2.5))


def test_area_mode_spread_points_reach_every_patch_bilinear_ones_do_not():
    reached = {}
    for mode in ("area", "bilinear"):
        feature_map = torch.randn(1, 16, 16, 4, requires_grad=True)
        coords = spread_layout(16).unsqueeze(0).requires_grad_()
        sample_tokens(feature_map, coords, mode=mode).sum().backward()
        reached[mode] = int((feature_map.grad.abs().sum(-1) > 0).sum())
        assert coords.grad.abs().sum() > 0  # the points still learn
    assert reached == {"area": 256, "bilinear": 64}


@pytest.mark.parametrize("mode", ["bilinear", "area"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_close_to_float32(dtype, mode):
    torch.manual_seed(3)
    feature_map = torch.randn(2, 16, 16, 32)
    coords = torch.rand(2, 16, 2)
    expected = sample_tokens(feature_map, coords, mode=mode)
    out = sample_tokens(feature_map.to(dtype), coords.to(dtype), mode=mode)
    assert out.dtype == dtype
    # coords in low precision move the point by up to ~0.5% of the image: compare to the same rounded point
    expected_rounded = sample_tokens(feature_map, coords.to(dtype).float(), mode=mode)
    torch.testing.assert_close(out.float(), expected_rounded, atol=0.05, rtol=0.02)
    assert (out.float() - expected).abs().mean() < 0.1


@pytest.mark.parametrize("mode", ["bilinear", "area"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_coords_read_where_their_float32_values_do(dtype, mode):
    torch.manual_seed(4)
    feature_map = torch.randn(2, 16, 16, 32)
    coords = torch.rand(2, 16, 2).to(dtype)  # every low-precision value is exact in float32
    # The index arithmetic runs in float32 from the start: not a bit differs from the same points given in float32.
    assert torch.equal(sample_tokens(feature_map, coords, mode=mode), sample_tokens(feature_map, coords.float(), mode=mode))


def test_torch_compile_matches_eager():
    torch.manual_seed(4)
    feature_map, coords = torch.randn(2, 16, 16, 8), torch.rand(2, 16, 2)
    compiled = torch.compile(sample_tokens, fullgraph=True)
    torch.testing.assert_close(compiled(feature_map, coords), sample_tokens(feature_map, coords))


@pytest.mark.parametrize(
    "coords, message",
    [
        (torch.tensor([[[1.2, 0.5]]]), "lie in \\[0, 1\\]"),
        (torch.tensor([[[-0.01, 0.5]]]), "lie in \\[0, 1\\]"),
        (torch.tensor([[[math.nan, 0.5]]]), "lie in \\[0, 1\\]"),
        (torch.rand(1, 3), "rank 3"),
        (torch.rand(1, 3, 3), "K, 2"),
        (torch.rand(2, 3, 2), "K, 2"),
    ],
)
def test_bad_coords_raise(coords, message):
    with pytest.raises(ValueError, match=message):
        sample_tokens(torch.randn(1, 4, 4, 2), coords)


def test_bad_feature_map_raises():
    with pytest.raises(ValueError, match="rank 4"):
        sample_tokens(torch.randn(4, 4, 2), torch.rand(1, 3, 2))
    bad = torch.randn(1, 4, 4, 2)
    bad[0, 1, 2, 0] = math.inf
    with pytest.raises(ValueError, match="1 NaN/Inf"):
        sample_tokens(bad, torch.rand(1, 3, 2))
    with pytest.raises(ValueError, match="mode"):
        sample_tokens(torch.randn(1, 4, 4, 2), torch.rand(1, 3, 2), mode="bicubic")


def test_value_checks_can_be_switched_off():
    """Off, the value checks (coordinate range, NaN/Inf) are skipped and nothing else changes: valid input
    reads the same tokens, and the free shape and dtype checks still raise. On again, they raise again."""
    torch.manual_seed(5)
    feature_map, valid = torch.randn(2, 4, 5, 3), torch.rand(2, 6, 2)
    outside = torch.tensor([[[0.5, 0.5]], [[0.2, 0.3]]]) + 0.6  # (1.1, 1.1) and (0.8, 0.9)
    non_finite = feature_map.clone()
    non_finite[0, 1, 2, 0] = math.inf
    valid[0, 0] = torch.tensor([2 / 4, 1 / 3])  # that patch's centre: reads the Inf
    expected = sample_tokens(feature_map, valid)
    with pytest.raises(ValueError, match="lie in"):
        sample_tokens(feature_map, outside)
    with pytest.raises(ValueError, match="NaN/Inf"):
        sample_tokens(non_finite, valid)
    set_value_checks(False)
    try:
        assert torch.equal(sample_tokens(feature_map, valid), expected)
        out = sample_tokens(feature_map, outside)  # would raise with the checks on
        assert out.shape == (2, 1, 3) and torch.isfinite(out).all()
        assert not torch.isfinite(sample_tokens(non_finite, valid)).all()  # read as is, not refused
        with pytest.raises(ValueError, match="rank 3"):
            sample_tokens(feature_map, torch.rand(2, 6))
        with pytest.raises(ValueError, match="floating-point"):
            sample_tokens(feature_map.long(), valid)
    finally:
        set_value_checks(True)
    with pytest.raises(ValueError, match="lie in"):
        sample_tokens(feature_map, outside)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool, torch.complex64])
def test_non_floating_feature_map_is_refused(dtype):
    # Integer weights truncate to 0: before this check the map below read 4 at (0.125, 0.5), not 6.375.
    feature_map = torch.arange(16).reshape(1, 4, 4, 1).to(dtype)
    message = f"feature_map must be a floating-point tensor, got dtype {dtype}"
    with pytest.raises(ValueError, match=re.escape(message)):
        sample_tokens(feature_map, torch.tensor([[[0.125, 0.5]]]))


def test_the_float_map_gives_the_interpolated_value():
    feature_map = torch.arange(16).reshape(1, 4, 4, 1).float()  # value = 4 * row + col
    out = sample_tokens(feature_map, torch.tensor([[[0.125, 0.5]]]))  # col 0.375, row 1.5
    torch.testing.assert_close(out, torch.tensor([[[6.375]]]))


@pytest.mark.parametrize("shape", [(2, 0, 4, 3), (2, 4, 0, 3), (2, 0, 0, 3)])
def test_empty_grid_is_a_clear_error(shape):
    height, width = shape[1:3]
    message = f"feature_map [B, H, W, C] = {shape}: an empty {height}x{width} grid has no token to read"
    with pytest.raises(ValueError, match=re.escape(message)):
        sample_tokens(torch.randn(*shape), torch.rand(2, 5, 2))


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "area"])
def test_empty_batch_gives_empty_tokens(mode):
    out = sample_tokens(torch.randn(0, 4, 4, 3), torch.rand(0, 5, 2), mode=mode)
    assert out.shape == (0, 5, 3)
