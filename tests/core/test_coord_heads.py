import pytest
import torch

from grids.core import GridSampler, HeatmapHead, PooledHead, make_reducer, spread_layout

SIZE = 12  # grid side for the shift tests


def objects_on_background(rows, cols, generator, *, dim=16, size=SIZE):
    """A constant background with one distinctive vector per object at (row, col): [1, H, W, C]."""
    background = torch.randn(dim, generator=generator)
    objects = torch.randn(len(rows), dim, generator=generator)
    feature_map = background.expand(1, size, size, dim).clone()
    for vector, row, col in zip(objects, rows, cols, strict=True):
        feature_map[0, row, col] = vector
    return feature_map, objects, background


def tune_queries_to_objects(head: HeatmapHead, objects, background, *, contrast=60.0):
    """Point k's map: +contrast at object k, 0 at the other objects and the background (a trained head)."""
    with torch.no_grad():
        keys = head.to_keys(head.norm(torch.cat([objects, background[None]])))  # [M + 1, D]
        targets = torch.zeros(len(keys), head.num_tokens)
        targets[: head.num_tokens].fill_diagonal_(contrast * head.key_dim**0.5)
        head.queries.copy_(torch.linalg.lstsq(keys, targets).solution.T)


@pytest.mark.parametrize("seed", range(8))
def test_heatmap_points_shift_with_the_content_and_pooled_points_stay(seed):
    """Translation equivariance: content moved by whole cells moves the heatmap points by as many cells."""
    generator = torch.Generator().manual_seed(seed)
    cells = torch.randperm((SIZE - 6) ** 2, generator=generator)[:3]  # 3 distinct cells, off the border
    rows, cols = 3 + cells // (SIZE - 6), 3 + cells % (SIZE - 6)
    shift_y, shift_x = torch.randint(-2, 3, (2,), generator=generator).tolist()
    feature_map, objects, background = objects_on_background(rows, cols, generator)
    shifted = feature_map.roll((shift_y, shift_x), dims=(1, 2))  # only background wraps around

    torch.manual_seed(seed)
    heatmap = GridSampler(dim=16, num_tokens=3, coord_head="heatmap")  # default init: the spread prior
    tune_queries_to_objects(heatmap.head, objects, background)
    pooled = GridSampler(dim=16, num_tokens=3)
    with torch.no_grad():
        before, after = heatmap.predict_coords(feature_map), heatmap.predict_coords(shifted)
        step = torch.tensor([shift_x, shift_y]) / (SIZE - 1)  # whole cells, in [0, 1] units
        torch.testing.assert_close(after - before, step.expand_as(before), atol=1e-4, rtol=0)
        objects_xy = torch.stack([cols, rows], dim=-1) / (SIZE - 1)
        torch.testing.assert_close(before[0], objects_xy, atol=1e-4, rtol=0)  # each on its object
        torch.testing.assert_close(pooled.predict_coords(shifted), pooled.predict_coords(feature_map))


def test_heatmap_learns_to_follow_a_moving_object_the_pooled_head_cannot():
    """Trained on a task loss alone (read the bump), the heatmap point tracks the bump; the pooled one can't."""
    torch.manual_seed(0)

    def images(batch):
        centre = torch.randint(2, 14, (batch, 2)).float()  # (row, col) of the bump, per image
        grid = torch.arange(16.0)
        d2 = (grid[:, None] - centre[:, 0, None, None]) ** 2 + (grid[None] - centre[:, 1, None, None]) ** 2
        feature_map = torch.zeros(batch, 16, 16, 4)
        feature_map[..., 0] = torch.exp(-d2 / 4.0)
        feature_map[..., 1] = 1.0  # a constant channel, so LayerNorm keeps the bump's height
        return feature_map, centre.flip(-1) / 15  # (x, y) of the bump

    errors = {}
    for head in ("heatmap", "pooled"):
        options = {"hidden_dim": 16} if head == "pooled" else {}  # the heatmap head has no MLP
        sampler = GridSampler(dim=4, num_tokens=1, coord_head=head, coord_embedding=None, **options)
        optimizer = torch.optim.Adam(sampler.parameters(), lr=0.05)
        for _ in range(150):
            tokens = sampler(images(16)[0]).tokens
            loss = -tokens[..., 0].mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        feature_map, target = images(64)
        with torch.no_grad():
            errors[head] = (sampler.predict_coords(feature_map)[:, 0] - target).norm(dim=-1).mean().item()
    assert errors["heatmap"] < 0.5 / 15, errors  # within half a cell of the moving bump
    assert errors["pooled"] > 1 / 15, errors  # the mean of the map barely depends on where the bump is


@pytest.mark.parametrize("num_tokens", [1, 4, 7, 16])
def test_heatmap_points_start_spread_not_collapsed(num_tokens):
    torch.manual_seed(0)
    sampler = GridSampler(dim=64, num_tokens=num_tokens, coord_head="heatmap")
    with torch.no_grad():
        coords = sampler.predict_coords(torch.randn(4, 16, 16, 64) * 3)
    if num_tokens == 1:
        torch.testing.assert_close(coords, torch.full_like(coords, 0.5), atol=0.05, rtol=0)
        return
    distances = torch.cdist(coords, coords) + torch.eye(num_tokens) * 10
    assert distances.min() > 0.5 / num_tokens**0.5  # nearest neighbours about a layout cell apart
    torch.testing.assert_close(coords, spread_layout(num_tokens).expand_as(coords), atol=0.08, rtol=0)


@pytest.mark.parametrize("coord_head", ["pooled", "heatmap"])
def test_center_init_starts_every_point_at_the_centre(coord_head):
    torch.manual_seed(0)
    sampler = GridSampler(dim=32, num_tokens=9, coord_head=coord_head, init="center")
    with torch.no_grad():
        coords = sampler.predict_coords(torch.randn(3, 16, 16, 32))
    torch.testing.assert_close(coords, torch.full_like(coords, 0.5), atol=0.1, rtol=0)
    if coord_head == "pooled":
        assert torch.equal(sampler.head.to_coords.bias, torch.zeros(18))
    else:
        assert sampler.head.prior_centers is None  # a plain spatial softmax


def test_gradient_reaches_every_heatmap_parameter():
    torch.manual_seed(0)
    sampler = GridSampler(dim=16, num_tokens=4, coord_head="heatmap", context_dim=6)
    tokens = sampler(torch.randn(2, 8, 8, 16), context=torch.randn(2, 6)).tokens
    (tokens * torch.randn_like(tokens)).sum().backward()
    names = {name for name, _ in sampler.head.named_parameters()}
    assert {"queries", "to_keys.weight", "prior_centers", "prior_log_width", "log_temperature"} <= names
    assert "context_proj.weight" in names
    for name, parameter in sampler.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_fixed_temperature_is_a_buffer():
    head = HeatmapHead(dim=8, num_tokens=2, temperature=0.5, learn_temperature=False)
    assert "log_temperature" not in dict(head.named_parameters())
    assert torch.isclose(head.log_temperature.exp(), torch.tensor(0.5))


def test_context_makes_heatmap_coordinates_task_aware():
    torch.manual_seed(1)
    sampler = GridSampler(dim=16, num_tokens=4, coord_head="heatmap", context_dim=10)
    feature_map = torch.randn(1, 8, 8, 16).expand(2, -1, -1, -1)
    with torch.no_grad():
        coords = sampler.predict_coords(feature_map, context=torch.randn(2, 10))
    assert (coords[0] - coords[1]).abs().max() > 1e-3  # same image, different task -> different points
    with pytest.raises(ValueError, match="context_dim=None"):
        GridSampler(dim=16, num_tokens=4, coord_head="heatmap")(feature_map, context=torch.randn(2, 10))


def test_heatmap_respects_margin_and_any_grid():
    sampler = GridSampler(dim=8, num_tokens=5, coord_head="heatmap", margin=0.2)
    reduced = sampler(torch.randn(2, 6, 11, 8))
    tokens, coords = reduced.tokens, reduced.coords
    assert tokens.shape == (2, 5, 8) and coords.min() >= 0.2 and coords.max() <= 0.8
    assert sampler.head.score_maps(torch.randn(2, 6, 11, 8)).shape == (2, 5, 66)


def test_reducer_options_pass_through():
    reducer = make_reducer("grids", dim=8, num_tokens=4, coord_head="heatmap", key_dim=16, init="center")
    assert isinstance(reducer.sampler.head, HeatmapHead) and reducer.sampler.head.key_dim == 16
    assert isinstance(make_reducer("grids-heatmap", dim=8, num_tokens=4).sampler.head, HeatmapHead)
    assert isinstance(make_reducer("grids", dim=8, num_tokens=4).sampler.head, PooledHead)


def test_bad_head_arguments_raise():
    with pytest.raises(ValueError, match="coord_head must be one of"):
        GridSampler(dim=8, num_tokens=2, coord_head="attention")
    with pytest.raises(ValueError, match="init must be one of"):
        GridSampler(dim=8, num_tokens=2, init="random")
    with pytest.raises(ValueError, match=r"temperature must be a number in \(0, inf\)"):
        GridSampler(dim=8, num_tokens=2, coord_head="heatmap", temperature=0.0)
    with pytest.raises(ValueError, match="coord_head='pooled' does not take the options {'key_dim': 16}"):
        GridSampler(dim=8, num_tokens=2, key_dim=16)  # a heatmap option given to the pooled head


def test_a_seed_gives_the_same_pooled_sampler_as_before_coord_heads():
    """Benchmark runs seed the model: the default sampler's random draws keep their order (values from d00073d)."""
    torch.manual_seed(0)
    sampler = GridSampler(dim=8, num_tokens=2)
    expected = [-0.002585968002676964, 0.000138698989758268, -0.00010875336738536134]
    torch.testing.assert_close(sampler.head.to_coords.weight[0, :3], torch.tensor(expected))
    torch.testing.assert_close(
        sampler.coord_embed[0].weight[0], torch.tensor([0.11162162572145462, 0.02300332859158516])
    )
    assert torch.rand(1).item() == pytest.approx(0.14955192804336548)  # and the stream after it


def test_pooled_head_without_image_input_learns_a_layout_that_ignores_the_image_and_follows_the_context():
    torch.manual_seed(0)
    sampler = GridSampler(dim=8, num_tokens=4, image_input=False, context_dim=6)
    feature_map, context = torch.randn(3, 5, 5, 8), torch.randn(3, 6)
    out = sampler(feature_map, context)
    torch.testing.assert_close(out.coords, sampler(torch.randn(3, 5, 5, 8), context).coords)  # not the image
    assert not torch.allclose(out.coords[0], out.coords[1])  # but one layout per instruction
    out.tokens.sum().backward()
    assert sampler.head.to_coords.bias.grad.abs().sum() > 0  # the layout learns through the read
    plain = GridSampler(dim=8, num_tokens=4, image_input=False)(feature_map).coords
    torch.testing.assert_close(plain, plain[:1].expand_as(plain))  # without a context: one layout
    with pytest.raises(ValueError, match="image_input must be True or False, got 'no'"):
        GridSampler(dim=8, num_tokens=4, image_input="no")
    with pytest.raises(ValueError, match="image_input"):
        GridSampler(dim=8, num_tokens=4, coord_head="heatmap", image_input=False)


@pytest.mark.parametrize("num_tokens", [1, 4, 9, 16])
def test_anchored_points_start_on_the_spread_layout_and_stay_within_reach_of_their_cell(num_tokens):
    torch.manual_seed(num_tokens)
    sampler = GridSampler(dim=8, num_tokens=num_tokens, reach=0.5)
    feature_map = torch.randn(4, 6, 6, 8)
    cols = int(torch.tensor(num_tokens).float().sqrt().ceil())
    rows = -(-num_tokens // cols)
    half_cell = torch.tensor([0.5 / cols, 0.5 / rows])
    start = sampler(feature_map).coords
    assert bool(((start - spread_layout(num_tokens)).abs() < 0.25 * half_cell).all())  # small first offsets
    with torch.no_grad():  # a head driven hard: every offset saturates
        sampler.head.to_coords.weight.normal_(std=50.0)
    far = sampler(feature_map).coords
    offset = (far - spread_layout(num_tokens)).abs()  # [B, K, 2]
    assert bool((offset <= half_cell + 1e-6).all())  # each point stays in its own cell: coverage is kept
    assert offset.max() > 0.9 * half_cell.min()  # and reaches its border
    assert bool(((far >= 0) & (far <= 1)).all())


def test_anchored_points_learn_and_reach_scales_the_offset():
    torch.manual_seed(0)
    wide, narrow = (GridSampler(dim=8, num_tokens=4, reach=r) for r in (0.5, 0.25))
    narrow.load_state_dict(wide.state_dict())
    feature_map = torch.randn(2, 5, 5, 8)
    with torch.no_grad():
        wide.head.to_coords.weight.normal_(std=1.0)
        narrow.head.to_coords.weight.copy_(wide.head.to_coords.weight)
    anchors = spread_layout(4)
    torch.testing.assert_close(
        narrow(feature_map).coords - anchors, 0.5 * (wide(feature_map).coords - anchors), atol=1e-6, rtol=0
    )
    wide(feature_map).tokens.sum().backward()
    assert wide.head.to_coords.weight.grad.abs().sum() > 0
    assert "reach=0.5" in repr(wide.head)


@pytest.mark.parametrize("reach", [0, 0.6, -0.1, True, "half"])
def test_reach_outside_the_cell_is_refused(reach):
    with pytest.raises(ValueError, match=r"reach must be None or a number of cell widths in \(0, 0.5\]"):
        GridSampler(dim=8, num_tokens=4, reach=reach)


def test_reach_needs_the_spread_start_and_the_pooled_head():
    with pytest.raises(ValueError, match="reach anchors the points at the spread layout: it needs init='spread'"):
        GridSampler(dim=8, num_tokens=4, reach=0.5, init="center")
    with pytest.raises(ValueError, match="reach"):
        GridSampler(dim=8, num_tokens=4, coord_head="heatmap", reach=0.5)
    assert make_reducer("grids", dim=8, num_tokens=4, reach=0.5).sampler.head.reach == 0.5
