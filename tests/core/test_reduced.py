"""``Reduced``: the one return value of the sampler, every reducer, the multi-view reducer and the hook; immutable."""

import dataclasses

import pytest
import torch

import grids
from grids.core import GridSampler, MultiViewReducer, Reduced, list_reducers, make_reducer, resample_at_layer


def test_reduced_is_immutable_and_replace_gives_a_new_one():
    out = Reduced(torch.zeros(1, 2, 3), torch.zeros(1, 2, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.tokens = torch.ones(1, 2, 3)
    changed = out.replace(tokens=torch.ones(1, 2, 3))
    assert changed is not out and torch.equal(out.tokens, torch.zeros(1, 2, 3))
    assert changed.coords is out.coords and changed.indices is None


def test_one_return_convention():
    feature_map = torch.randn(2, 4, 4, 8)
    assert isinstance(GridSampler(dim=8, num_tokens=3)(feature_map), Reduced)
    multi = MultiViewReducer("grids", num_views=2, dim=8, num_tokens=3)
    assert isinstance(multi(torch.randn(2, 2, 16, 8), grid_hw=(4, 4)), Reduced)
    blocks = torch.nn.ModuleList([torch.nn.Linear(8, 8)])
    with resample_at_layer(blocks, 0, make_reducer("pool", dim=8, num_tokens=4), grid_hw=(4, 4)) as hook:
        blocks[0](feature_map.flatten(1, 2))
    assert isinstance(hook.last, Reduced) and hook.last.tokens.shape == (2, 4, 8)


@pytest.mark.parametrize("name", list_reducers())
def test_prefix_tokens_come_back_in_a_new_reduced(name):
    """The base class puts the prefix tokens first by building a new ``Reduced``, not by changing the reducer's."""
    reducer = make_reducer(name, dim=8, num_tokens=4, num_prefix_tokens=1).eval()
    seen = []
    reduce = reducer.reduce
    reducer.reduce = lambda *args: seen.append(reduce(*args)) or seen[-1]
    tokens = torch.randn(2, 1 + 16, 8)
    out = reducer(tokens, grid_hw=(4, 4))
    assert isinstance(out, Reduced) and out is not seen[0]
    assert seen[0].tokens.shape[1] == out.tokens.shape[1] - 1  # the reducer's own result is untouched
    torch.testing.assert_close(out.tokens[:, 0], tokens[:, 0], rtol=0, atol=0)


def test_the_public_api_is_small():
    assert set(grids.__all__) == {
        "GridSampler",
        "MultiViewReducer",
        "Reduced",
        "TokenReducer",
        "diagnostics",
        "list_reducers",
        "make_reducer",
        "patch_centers",
        "register_reducer",
        "resample_at_layer",
        "sample_tokens",
        "set_value_checks",
    }
    assert grids.diagnostics.check_points is not None  # the diagnostics live in their own module
