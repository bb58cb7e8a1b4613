import re

import pytest
import torch

from grids.core import list_reducers, make_reducer, patch_centers, spread_layout

ALL = list_reducers()
DISCRETE = ["random", "topk", "pool", "tome"]
GRID = (16, 16)


def test_registry_has_every_method():
    assert set(ALL) >= {
        "dense",
        "grids",
        "grids-nearest",
        "grids-heatmap",
        "random",
        "uniform",
        "pool",
        "topk",
        "tome",
        "perceiver",
    }
    with pytest.raises(ValueError, match="unknown reducer 'fastv'.*grids"):
        make_reducer("fastv", dim=8)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("num_prefix_tokens", [0, 2])
def test_shapes_coords_and_prefix_passthrough(name, num_prefix_tokens):
    torch.manual_seed(0)
    reducer = make_reducer(name, dim=32, num_tokens=16, num_prefix_tokens=num_prefix_tokens)
    tokens = torch.randn(3, num_prefix_tokens + 256, 32)
    out = reducer(tokens, grid_hw=GRID)
    k = 256 if name == "dense" else 16
    assert reducer.num_output_tokens(GRID) == k
    assert out.tokens.shape == (3, num_prefix_tokens + k, 32)
    assert torch.equal(out.tokens[:, :num_prefix_tokens], tokens[:, :num_prefix_tokens])
    assert out.coords.shape == (3, k, 2) and out.coords.min() >= 0 and out.coords.max() <= 1
    if out.indices is not None:
        assert out.indices.shape == (3, k)
        assert torch.equal(
            out.tokens[:, num_prefix_tokens:],
            tokens[:, num_prefix_tokens:].gather(1, (out.indices + 0).unsqueeze(-1).expand(-1, -1, 32)),
        )


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_every_trainable_parameter_and_the_input(name):
    torch.manual_seed(0)
    options = {"score": "query", "context_dim": 8} if name == "topk" else {}
    if name.startswith("grids"):
        options = {"context_dim": 8}
    reducer = make_reducer(name, dim=32, num_tokens=16, **options)
    tokens = torch.randn(2, 256, 32, requires_grad=True)
    out = reducer(tokens, grid_hw=GRID, context=torch.randn(2, 8))
    (out.tokens * torch.randn_like(out.tokens)).sum().backward()
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0
    for parameter_name, parameter in reducer.named_parameters():
        if (
            name == "grids-nearest"
            and parameter_name.startswith("sampler.")
            and "coord_embed" not in parameter_name
        ):
            continue  # nearest reading: by design no gradient reaches the coordinate predictor
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, parameter_name


@pytest.mark.parametrize("name", ALL)
def test_eval_is_deterministic(name):
    reducer = make_reducer(name, dim=16, num_tokens=8).eval()
    tokens = torch.randn(2, 256, 16)
    first, second = reducer(tokens, grid_hw=GRID), reducer(tokens, grid_hw=GRID)
    assert torch.equal(first.tokens, second.tokens) and torch.equal(first.coords, second.coords)


def test_random_draws_fresh_indices_in_training():
    reducer = make_reducer("random", dim=4, num_tokens=8).train()
    tokens = torch.randn(4, 256, 4)
    draws = {tuple(reducer(tokens, grid_hw=GRID).indices[0].tolist()) for _ in range(5)}
    assert len(draws) > 1


@pytest.mark.parametrize("name", ALL)
def test_bfloat16(name):
    reducer = make_reducer(name, dim=16, num_tokens=4).to(torch.bfloat16)
    out = reducer(torch.randn(2, 256, 16, dtype=torch.bfloat16), grid_hw=GRID)
    assert out.tokens.dtype == torch.bfloat16 and torch.isfinite(out.tokens.float()).all()


@pytest.mark.parametrize("name", DISCRETE)
def test_discrete_reducers_reject_more_tokens_than_patches(name):
    reducer = make_reducer(name, dim=4, num_tokens=17)
    with pytest.raises(ValueError, match="num_tokens=17 exceeds the 16 patch tokens of a 4x4 grid"):
        reducer(torch.randn(1, 16, 4), grid_hw=(4, 4))


@pytest.mark.parametrize("name", ALL)
def test_bad_input_raises(name):
    reducer = make_reducer(name, dim=8, num_tokens=4)
    with pytest.raises(ValueError, match="needs N=256"):
        reducer(torch.randn(1, 250, 8), grid_hw=GRID)
    with pytest.raises(ValueError, match="rank 3"):
        reducer(torch.randn(250, 8), grid_hw=GRID)
    with pytest.raises(ValueError, match="dim=8"):
        reducer(torch.randn(1, 256, 9), grid_hw=GRID)
    bad = torch.randn(1, 256, 8)
    bad[0, 3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        reducer(bad, grid_hw=GRID)
    with pytest.raises(ValueError, match="num_tokens must be >= 1"):
        make_reducer(name, dim=8, num_tokens=0) if name != "dense" else make_reducer(
            "grids", dim=8, num_tokens=0
        )


@pytest.mark.parametrize("name", ["grids", "grids-heatmap"])
def test_grids_under_torch_compile(name):
    torch.manual_seed(0)
    reducer = make_reducer(name, dim=32, num_tokens=16)
    tokens = torch.randn(2, 256, 32)
    eager = reducer(tokens, grid_hw=GRID)
    compiled = torch.compile(reducer)
    out = compiled(tokens, grid_hw=GRID)
    torch.testing.assert_close(out.tokens, eager.tokens, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out.coords, eager.coords, atol=1e-6, rtol=1e-5)
    (out.tokens * torch.randn_like(out.tokens)).sum().backward()
    for parameter_name, parameter in reducer.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, parameter_name


@pytest.mark.parametrize("name", [n for n in ALL if n != "perceiver"])  # perceiver: see its own test below
def test_non_square_grid(name):
    """On a 12x20 grid every reducer reports where it read: the token it returns is the one found at its
    coordinates, x along the 20 columns and y along the 12 rows (swapped axes would not match)."""
    torch.manual_seed(0)
    height, width = 12, 20
    options = {"coord_embedding": None} if name.startswith("grids") else {}  # no geometry added to tokens
    reducer = make_reducer(name, dim=8, num_tokens=6, **options)
    # Channels 0 and 1 of each patch hold its own centre, written out here (not via patch_centers):
    # x = col / (W - 1), y = row / (H - 1). Every reducer reads convex combinations of patches, so the
    # tokens' first two channels are the positions they were read from.
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    tokens = torch.randn(2, height, width, 8)
    tokens[..., 0], tokens[..., 1] = cols / (width - 1), rows / (height - 1)
    out = reducer(tokens.flatten(1, 2), grid_hw=(height, width))
    k = height * width if name == "dense" else 6
    assert out.tokens.shape == (2, k, 8) and out.coords.shape == (2, k, 2), name
    assert out.coords.min() >= 0 and out.coords.max() <= 1
    read = out.tokens[..., :2]
    if name == "grids-nearest":  # reads the nearest patch: within half a patch of the point on each axis
        step = torch.tensor([1 / (width - 1), 1 / (height - 1)])
        assert ((read - out.coords).abs() <= step / 2 + 1e-6).all()
    else:
        torch.testing.assert_close(read, out.coords, atol=1e-5, rtol=0)
    if out.indices is not None:  # flat row-major index = row * W + col
        assert out.indices.max() < height * width
        torch.testing.assert_close(read[..., 0], (out.indices % width) / (width - 1), atol=1e-6, rtol=0)
        torch.testing.assert_close(read[..., 1], (out.indices // width) / (height - 1), atol=1e-6, rtol=0)
    if name == "pool":  # K = 6 cells follow the grid's aspect: 2 rows x 3 columns, not 3 x 2
        cells = out.coords[0].round(decimals=4)
        assert len(cells[:, 0].unique()) == 3 and len(cells[:, 1].unique()) == 2, cells


def test_dense_is_identity_with_patch_centres():
    tokens = torch.randn(2, 1 + 64, 8)
    out = make_reducer("dense", dim=8, num_prefix_tokens=1)(tokens, grid_hw=(8, 8))
    assert torch.equal(out.tokens, tokens)
    assert torch.equal(out.coords[0], patch_centers(8, 8))


def test_pool_averages_blocks():
    tokens = torch.randn(2, 256, 4)
    out = make_reducer("pool", dim=4, num_tokens=16)(tokens, grid_hw=GRID)
    block = tokens.unflatten(1, GRID)[:, :4, 4:8].mean(dim=(1, 2))  # cell (row 0, col 1)
    torch.testing.assert_close(out.tokens[:, 1], block)
    torch.testing.assert_close(out.coords[0, 1], torch.tensor([5.5 / 15, 1.5 / 15]))


def test_topk_norm_keeps_the_largest_tokens():
    tokens = torch.randn(1, 256, 4) * 0.1
    tokens[0, [3, 100, 200]] *= 100
    out = make_reducer("topk", dim=4, num_tokens=3)(tokens, grid_hw=GRID)
    assert out.indices[0].tolist() == [3, 100, 200]


def test_tome_preserves_the_size_weighted_mean():
    torch.manual_seed(0)
    tokens = torch.randn(2, 64, 8, dtype=torch.float64)
    out = make_reducer("tome", dim=8, num_tokens=5)(tokens, grid_hw=(8, 8))
    assert out.tokens.shape == (2, 5, 8)
    # Every output is the size-weighted mean of the patches merged into it (and its coordinate their
    # centroid), so integer sizes s_k >= 1 with sum 64 weight the outputs back to the sum of all patch
    # tokens and of all patch centres: 10 equations in 5 unknowns, solvable only if the means are weighted.
    centres = patch_centers(8, 8, dtype=torch.float64)
    for b in range(2):
        outputs = torch.cat([out.tokens[b], out.coords[b].double()], dim=-1)  # [K, C + 2]
        total = torch.cat([tokens[b].sum(dim=0), centres.sum(dim=0)])  # [C + 2]
        sizes = torch.linalg.lstsq(outputs.T, total[:, None]).solution[:, 0]  # [K]
        torch.testing.assert_close(sizes, sizes.round(), atol=1e-4, rtol=0)
        assert (sizes.round() >= 1).all() and sizes.round().sum() == 64, sizes
        torch.testing.assert_close(sizes.round() @ outputs, total, atol=1e-4, rtol=0)


def test_tome_merges_identical_tokens_first():
    torch.manual_seed(0)
    tokens = torch.randn(1, 16, 4)
    tokens[0, 1:8:2] = tokens[0, 0:8:2]  # four (even, odd) pairs of identical tokens
    out = make_reducer("tome", dim=4, num_tokens=12)(tokens, grid_hw=(4, 4))
    expected = torch.cat([tokens[0, 0:8:2], tokens[0, 8:]])  # each pair once, the rest untouched
    distances = torch.cdist(expected, out.tokens[0])
    assert (distances.min(dim=1).values < 1e-5).all()


def test_uniform_reads_the_spread_layout():
    out = make_reducer("uniform", dim=4, num_tokens=9)(torch.randn(1, 256, 4), grid_hw=GRID)
    torch.testing.assert_close(out.coords[0], spread_layout(9))


def test_perceiver_coords_follow_attention():
    """A query attending to one patch reports that patch's centre; one attending evenly, the image centre."""
    torch.manual_seed(0)
    grid = (6, 10)  # not square: swapped rows and columns would show
    targets = [13, 46]  # (row 1, col 3) and (row 4, col 6)
    reducer = make_reducer("perceiver", dim=8, num_tokens=2, num_heads=1)
    patches = torch.randn(1, 60, 8)
    with torch.no_grad():
        for layer in (reducer.to_q, reducer.to_k):  # q . k = query . LayerNorm(patch)
            layer.weight.copy_(torch.eye(8))
            layer.bias.zero_()
        # LayerNorm'd patches all have norm sqrt(8): a query along one of them scores it highest by far
        reducer.queries.copy_(40 * reducer.norm(patches[0, targets]))
        peaked = reducer(patches, grid_hw=grid)
        reducer.queries.zero_()  # every score 0: uniform attention
        even = reducer(patches, grid_hw=grid)
    torch.testing.assert_close(peaked.coords[0], patch_centers(*grid)[targets], atol=1e-4, rtol=0)
    torch.testing.assert_close(even.coords, torch.full((1, 2, 2), 0.5), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
def test_non_floating_tokens_are_refused(name, dtype):
    reducer = make_reducer(name, dim=4, num_tokens=4)
    tokens = torch.arange(2 * 16 * 4).reshape(2, 16, 4).to(dtype)  # an integer map, not NaN, right shape
    message = f"tokens must be a floating-point tensor, got dtype {dtype}"
    with pytest.raises(ValueError, match=re.escape(message)):
        reducer(tokens, grid_hw=(4, 4))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("grid_hw", [(0, 4), (4, 0), (0, 0)])
@pytest.mark.parametrize("num_prefix_tokens", [0, 1])
def test_empty_grid_is_a_clear_error(name, grid_hw, num_prefix_tokens):
    reducer = make_reducer(name, dim=4, num_tokens=4, num_prefix_tokens=num_prefix_tokens)
    tokens = torch.randn(2, num_prefix_tokens, 4)  # N = P + H * W = P: a consistent but empty grid
    height, width = grid_hw
    message = f"grid_hw={grid_hw}: an empty {height}x{width} grid has no token to read; H and W must be >= 1"
    with pytest.raises(ValueError, match=re.escape(message)):
        reducer(tokens, grid_hw=grid_hw)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("num_prefix_tokens", [0, 2])
@pytest.mark.parametrize("training", [True, False])
def test_empty_batch_gives_empty_outputs(name, num_prefix_tokens, training):
    reducer = make_reducer(name, dim=8, num_tokens=4, num_prefix_tokens=num_prefix_tokens).train(training)
    out = reducer(torch.randn(0, num_prefix_tokens + 16, 8), grid_hw=(4, 4))
    k = reducer.num_output_tokens((4, 4))
    assert out.tokens.shape == (0, num_prefix_tokens + k, 8) and out.coords.shape == (0, k, 2)
    assert out.indices is None or out.indices.shape == (0, k)


@pytest.mark.parametrize("name", ALL)
def test_check_grid_accepts_what_forward_accepts(name):
    reducer = make_reducer(name, dim=4, num_tokens=4)
    reducer.check_grid((4, 4))
    with pytest.raises(ValueError, match="empty 0x4 grid"):
        reducer.check_grid((0, 4))


@pytest.mark.parametrize("name", DISCRETE)
def test_check_grid_refuses_more_tokens_than_patches(name):
    with pytest.raises(ValueError, match="num_tokens=17 exceeds the 16 patch tokens of a 4x4 grid"):
        make_reducer(name, dim=4, num_tokens=17).check_grid((4, 4))


def test_check_grid_refuses_a_pool_that_cannot_tile_the_grid():
    with pytest.raises(ValueError, match="num_tokens=7 cannot tile a 4x4 grid"):
        make_reducer("pool", dim=4, num_tokens=7).check_grid((4, 4))
