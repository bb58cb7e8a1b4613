import pytest
import torch

from grids import MultiViewReducer


@pytest.mark.parametrize("shared", [True, False])
def test_views_in_one_call(shared):
    torch.manual_seed(0)
    reducer = MultiViewReducer("grids", num_views=2, shared=shared, dim=16, num_tokens=4, context_dim=5)
    tokens, context = torch.randn(3, 2, 64, 16), torch.randn(3, 5)
    out = reducer(tokens, grid_hw=(8, 8), context=context)
    assert out.tokens.shape == (3, 2, 4, 16) and out.coords.shape == (3, 2, 4, 2)
    assert len(reducer.reducers) == (1 if shared else 2)
    for view in range(2):  # view v of sample b: its reducer on that view, with sample b's context
        single = reducer.reducers[0 if shared else view](tokens[:, view], grid_hw=(8, 8), context=context)
        torch.testing.assert_close(out.tokens[:, view], single.tokens)
        torch.testing.assert_close(out.coords[:, view], single.coords)
    if not shared:  # the views' reducers are distinct: view 0 read by view 1's reducer looks elsewhere
        swapped = reducer.reducers[1](tokens[:, 0], grid_hw=(8, 8), context=context)
        assert not torch.allclose(swapped.coords, out.coords[:, 0])


def test_shared_equals_per_view_calls():
    reducer = MultiViewReducer("grids", num_views=2, dim=8, num_tokens=3)
    tokens = torch.randn(2, 2, 16, 8)
    out = reducer(tokens, grid_hw=(4, 4))
    single = reducer.reducers[0](tokens[:, 1], grid_hw=(4, 4))
    torch.testing.assert_close(out.tokens[:, 1], single.tokens)


def test_wrong_view_count_raises():
    with pytest.raises(ValueError, match="V=3 views"):
        MultiViewReducer("pool", num_views=2, dim=8, num_tokens=4)(torch.randn(1, 3, 16, 8), grid_hw=(4, 4))


@pytest.mark.parametrize("shared", [True, False])
def test_empty_batch_gives_empty_outputs(shared):
    reducer = MultiViewReducer("topk", num_views=2, shared=shared, dim=8, num_tokens=4)
    out = reducer(torch.randn(0, 2, 16, 8), grid_hw=(4, 4))
    assert out.tokens.shape == (0, 2, 4, 8) and out.coords.shape == (0, 2, 4, 2)
    assert out.indices.shape == (0, 2, 4)


def test_non_floating_tokens_are_refused():
    with pytest.raises(ValueError, match="tokens must be a floating-point tensor, got dtype torch.uint8"):
        MultiViewReducer("grids", num_views=2, dim=8, num_tokens=4)(
            torch.zeros(1, 2, 16, 8, dtype=torch.uint8), grid_hw=(4, 4)
        )
