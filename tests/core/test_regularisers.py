"""Training-only regularisers behind the reducer interface: token dropout on dense, stochastic GridS points."""

import pytest
import torch

import grids


def test_dense_token_dropout_keeps_a_fresh_random_subset_in_training_and_every_token_in_evaluation():
    torch.manual_seed(0)
    tokens = torch.randn(3, 16 * 16, 8)  # [B, N, C] on a 16 x 16 grid
    dense = grids.make_reducer("dense", dim=8, train_tokens=16)
    first, second = dense(tokens, grid_hw=(16, 16)), dense(tokens, grid_hw=(16, 16))
    assert first.tokens.shape == (3, 16, 8) and first.indices.shape == (3, 16)
    assert not torch.equal(first.indices, second.indices)  # a new draw every call, as random's training draws
    assert not torch.equal(first.indices[0], first.indices[1])  # and every sample its own
    torch.testing.assert_close(first.tokens, torch.gather(tokens, 1, first.indices[..., None].expand(-1, -1, 8)))
    torch.testing.assert_close(first.coords, grids.patch_centers(16, 16)[first.indices])
    dense.eval()
    out = dense(tokens, grid_hw=(16, 16))
    assert torch.equal(out.tokens, tokens) and out.indices is None


@pytest.mark.parametrize("value", [0, -1, 2.5, True])
def test_dense_token_dropout_needs_a_positive_int(value):
    with pytest.raises(ValueError, match=f"train_tokens.*{value!r}"):
        grids.make_reducer("dense", dim=8, train_tokens=value)


def test_grids_jitter_moves_the_points_in_training_only_by_about_its_width_in_cells():
    torch.manual_seed(0)
    sampler = grids.GridSampler(dim=8, num_tokens=16, jitter=1.0)
    feature_map = torch.randn(64, 9, 9, 8)  # one cell = 1/8 of the image
    predicted = sampler.predict_coords(feature_map)
    jittered = sampler(feature_map).coords
    offset = (jittered - predicted) * 8  # in cells
    assert 0.8 < offset.std().item() < 1.2 and (jittered >= 0).all() and (jittered <= 1).all()
    tokens = sampler(feature_map).tokens
    tokens.sum().backward()
    assert sampler.head.to_coords.weight.grad.abs().sum() > 0  # the points still learn through the read
    sampler.eval()
    evaluated = sampler(feature_map).coords
    torch.testing.assert_close(evaluated, predicted)


@pytest.mark.parametrize("value", [-0.5, float("nan"), "1", True])
def test_grids_jitter_must_be_a_nonnegative_number(value):
    with pytest.raises(ValueError, match=r"jitter must be a number of cells in \[0, inf\)"):
        grids.make_reducer("grids", dim=8, num_tokens=4, jitter=value)


def test_grids_redraw_reads_a_fraction_of_the_points_at_uniform_positions_in_training_only():
    torch.manual_seed(0)
    sampler = grids.GridSampler(dim=8, num_tokens=16, redraw=0.25)
    feature_map = torch.randn(64, 9, 9, 8)
    predicted = sampler.predict_coords(feature_map)
    out = sampler(feature_map)
    moved = (out.coords != predicted).any(-1)  # [B, K]
    assert 0.2 < moved.float().mean().item() < 0.3  # about a quarter of the points, each sample its own
    assert (out.coords[moved] - predicted[moved]).abs().max() > 0.3  # anywhere on the image, not nearby
    out.tokens.sum().backward()
    assert sampler.head.to_coords.weight.grad.abs().sum() > 0  # the kept points still learn
    sampler.eval()
    torch.testing.assert_close(sampler(feature_map).coords, predicted)


def test_grids_redraw_one_gives_the_points_no_gradient():
    sampler = grids.GridSampler(dim=8, num_tokens=4, redraw=1.0)
    sampler(torch.randn(2, 5, 5, 8)).tokens.sum().backward()
    assert sampler.head.to_coords.weight.grad is None or sampler.head.to_coords.weight.grad.abs().sum() == 0


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan"), "0.5", True])
def test_grids_redraw_must_be_a_probability(value):
    with pytest.raises(ValueError, match="redraw must be a probability in"):
        grids.make_reducer("grids", dim=8, num_tokens=4, redraw=value)


def test_dense_token_dropout_over_a_range_draws_one_count_per_batch_and_sometimes_keeps_every_token():
    torch.manual_seed(0)
    tokens = torch.randn(2, 4 * 4, 8)  # [B, N, C] on a 4 x 4 grid
    dense = grids.make_reducer("dense", dim=8, train_tokens=[4, 16])  # as a TOML array arrives
    counts = {dense(tokens, grid_hw=(4, 4)).tokens.shape[1] for _ in range(200)}
    assert counts == set(range(4, 17))  # every count of the range, the whole grid included
    dense.eval()
    assert torch.equal(dense(tokens, grid_hw=(4, 4)).tokens, tokens)


@pytest.mark.parametrize("value", [[0, 4], [8, 4], [4], [4, 8, 16], [2.5, 4]])
def test_dense_token_dropout_range_is_named_when_malformed(value):
    with pytest.raises(ValueError, match="train_tokens"):
        grids.make_reducer("dense", dim=8, train_tokens=value)


def test_random_fixed_reads_one_seeded_layout_for_every_sample_in_training_and_evaluation():
    tokens = torch.randn(4, 8 * 8, 8)  # [B, N, C] on an 8 x 8 grid
    fixed = grids.make_reducer("random", dim=8, num_tokens=6, fixed=True, seed=3)
    fresh = grids.make_reducer("random", dim=8, num_tokens=6, seed=3).eval()
    first, second = fixed(tokens, grid_hw=(8, 8)), fixed(tokens, grid_hw=(8, 8))
    assert torch.equal(first.indices, second.indices)  # no fresh draw between training batches
    assert (first.indices == first.indices[:1]).all()  # nor between samples
    assert torch.equal(first.indices[0], fresh(tokens, grid_hw=(8, 8)).indices[0])  # the seeded evaluation draw
    assert torch.equal(fixed.eval()(tokens, grid_hw=(8, 8)).indices, first.indices)  # and the same in evaluation


def test_random_fixed_must_be_a_bool():
    with pytest.raises(ValueError, match="fixed.*'yes'"):
        grids.make_reducer("random", dim=8, fixed="yes")
