import copy
import re

import pytest
import torch

from grids import GridSampler, sample_tokens


def test_shapes_and_range():
    sampler = GridSampler(dim=32, num_tokens=16)
    reduced = sampler(torch.randn(3, 16, 16, 32))
    tokens, coords = reduced.tokens, reduced.coords
    assert tokens.shape == (3, 16, 32) and coords.shape == (3, 16, 2)
    assert coords.min() >= 0 and coords.max() <= 1


@pytest.mark.parametrize("num_tokens", [1, 4, 16, 7])
def test_initial_points_are_spread_not_collapsed(num_tokens):
    torch.manual_seed(0)
    sampler = GridSampler(dim=64, num_tokens=num_tokens)
    coords = sampler(torch.randn(4, 16, 16, 64) * 3).coords
    if num_tokens == 1:
        torch.testing.assert_close(coords, torch.full_like(coords, 0.5), atol=0.05, rtol=0)
        return
    distances = torch.cdist(coords, coords) + torch.eye(num_tokens) * 10
    assert distances.min() > 0.5 / num_tokens**0.5  # nearest neighbours about a cell apart
    span = coords.amax(dim=1) - coords.amin(dim=1)
    assert (span > 0.4).all()


def test_margin_keeps_points_inside():
    sampler = GridSampler(dim=8, num_tokens=4, margin=0.2)
    with torch.no_grad():
        sampler.head.to_coords.bias.fill_(50.0)  # saturate the sigmoid
    coords = sampler(torch.randn(2, 8, 8, 8)).coords
    torch.testing.assert_close(coords, torch.full_like(coords, 0.8))


def test_context_makes_coordinates_task_aware():
    torch.manual_seed(1)
    sampler = GridSampler(dim=16, num_tokens=4, context_dim=10)
    with torch.no_grad():
        sampler.head.context_proj.weight.normal_(std=1.0)
    feature_map = torch.randn(1, 8, 8, 16).expand(2, -1, -1, -1)
    coords = sampler(feature_map, context=torch.randn(2, 10)).coords
    assert (coords[0] - coords[1]).abs().max() > 1e-3  # same image, different task -> different points
    with pytest.raises(ValueError, match="context_dim=None"):
        GridSampler(dim=16, num_tokens=4)(feature_map, context=torch.randn(2, 10))


def test_context_reaches_the_mlp_at_the_scale_of_the_visual_features():
    """A unit-norm sentence embedding (MiniLM: 384 values of ~0.05) must not be drowned at init."""
    torch.manual_seed(0)
    sampler = GridSampler(dim=64, num_tokens=4, context_dim=384)
    pooled = torch.randn(8, 16, 16, 64).mean(dim=(1, 2))
    context = torch.nn.functional.normalize(torch.randn(8, 384), dim=-1)
    visual = sampler.head.hidden(sampler.head.norm(pooled))
    textual = sampler.head.context_proj(sampler.head.context_norm(context))
    assert 0.3 < (textual.std() / visual.std()).item() < 3.0
    raw = GridSampler(dim=64, num_tokens=4, context_dim=384, normalize_input=False)
    assert isinstance(raw.head.context_norm, torch.nn.Identity)


@pytest.mark.parametrize("coord_embedding", ["mlp", "fourier", None])
def test_backward_reaches_every_parameter(coord_embedding):
    sampler = GridSampler(dim=16, num_tokens=4, context_dim=6, coord_embedding=coord_embedding)
    tokens = sampler(torch.randn(2, 8, 8, 16), context=torch.randn(2, 6)).tokens
    (tokens * torch.randn_like(tokens)).sum().backward()
    for name, parameter in sampler.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_no_coord_embedding_returns_plain_samples():
    sampler = GridSampler(dim=8, num_tokens=5, coord_embedding=None)
    feature_map = torch.randn(2, 6, 6, 8)
    reduced = sampler(feature_map)
    tokens, coords = reduced.tokens, reduced.coords
    torch.testing.assert_close(tokens, sample_tokens(feature_map, coords))


def test_learns_to_look_at_the_salient_spot():
    """Trained on a task loss alone, the point moves onto the only informative patch."""
    torch.manual_seed(0)
    sampler = GridSampler(dim=4, num_tokens=1, hidden_dim=16, coord_embedding=None)
    feature_map = torch.zeros(8, 16, 16, 4)
    bump = torch.exp(-((torch.arange(16)[:, None] - 11) ** 2 + (torch.arange(16)[None] - 4) ** 2) / 8.0)
    feature_map[..., 0] = bump  # peak at row 11, column 4 -> (x, y) = (4/15, 11/15)
    optimizer = torch.optim.Adam(sampler.parameters(), lr=0.05)
    for _ in range(150):
        reduced = sampler(feature_map)
        tokens, coords = reduced.tokens, reduced.coords
        loss = -tokens[..., 0].mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    torch.testing.assert_close(coords[0, 0], torch.tensor([4 / 15, 11 / 15]), atol=0.04, rtol=0)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_tokens must be >= 1, got 0"):
        GridSampler(dim=8, num_tokens=0)
    with pytest.raises(ValueError, match="margin"):
        GridSampler(dim=8, num_tokens=2, margin=0.5)
    with pytest.raises(ValueError, match="coord_embedding"):
        GridSampler(dim=8, num_tokens=2, coord_embedding="sinusoid")
    with pytest.raises(ValueError, match="expects dim=8"):
        GridSampler(dim=8, num_tokens=2)(torch.randn(1, 4, 4, 9))


def test_bfloat16_module():
    """A bf16 copy of a sampler predicts the float32 copy's points, and reads and embeds them as float32 would."""
    torch.manual_seed(0)
    reference = GridSampler(dim=16, num_tokens=16)
    sampler = copy.deepcopy(reference).to(torch.bfloat16)
    feature_map = torch.randn(2, 32, 32, 16).to(torch.bfloat16)  # the same (rounded) input for both
    reduced = sampler(feature_map)
    tokens, coords = reduced.tokens, reduced.coords
    assert tokens.dtype == torch.bfloat16 and torch.isfinite(tokens).all()
    expected = reference(feature_map.float())
    expected_tokens, expected_coords = expected.tokens, expected.coords
    # bf16 keeps 8 bits of mantissa: the points move by ~0.003 of the image (~0.1 patch on 32x32)
    torch.testing.assert_close(coords.float(), expected_coords, atol=0.01, rtol=0)
    # at the bf16 points themselves, the tokens are float32's up to bf16 rounding of the output
    at_points = sample_tokens(feature_map.float(), coords.float()) + reference.coord_embed(coords.float())
    torch.testing.assert_close(tokens.float(), at_points, atol=0.03, rtol=0.016)
    assert (tokens.float() - expected_tokens).abs().mean() < 0.08  # a patch off would give ~1


def test_non_floating_feature_map_is_refused():
    with pytest.raises(
        ValueError, match=re.escape("feature_map must be a floating-point tensor, got dtype torch.int64")
    ):
        GridSampler(dim=2, num_tokens=4)(torch.arange(32).reshape(1, 4, 4, 2))


@pytest.mark.parametrize("shape", [(1, 0, 4, 8), (1, 4, 0, 8)])
def test_empty_grid_is_a_clear_error(shape):
    message = f"feature_map [B, H, W, C] = {shape}: an empty {shape[1]}x{shape[2]} grid has no token to read"
    with pytest.raises(ValueError, match=re.escape(message)):
        GridSampler(dim=8, num_tokens=4)(torch.randn(*shape))


def test_empty_batch_gives_empty_outputs():
    reduced = GridSampler(dim=8, num_tokens=4, context_dim=3)(
        torch.randn(0, 4, 4, 8), torch.randn(0, 3)
    )
    tokens, coords = reduced.tokens, reduced.coords
    assert tokens.shape == (0, 4, 8) and coords.shape == (0, 4, 2)
