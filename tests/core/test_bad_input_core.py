"""Bad input at the library's boundary (issue 43): nothing silently wrong, every error names the argument and its value."""

import re
import warnings

import numpy as np
import pytest
import torch

from grids.core import GridSampler, MultiViewReducer, make_reducer, set_value_checks
from grids.core.in_encoder import ResampleAtLayer
from grids.diagnostics import (
    NonFiniteWarning,
    border_saturation,
    check_points,
    point_shift,
    point_spread,
    retention_map,
)

GRID = (4, 4)


def tokens(batch=2, dim=8, dtype=torch.float32):
    return torch.randn(batch, 16, dim, dtype=dtype)


# --- silently wrong: a context the reducer was not built for, or none where it was --------------------
CONTEXT_CASES = {  # reducer options, context -> what the message must say
    "grids-built-for-context-run-without": ({"context_dim": 5}, None, ["context_dim=5", "context=None"]),
    "topk-query-built-for-context-run-without": (
        {"score": "query", "context_dim": 5}, None, ["context_dim=5", "context=None"]
    ),
    "grids-given-unexpected-context": ({}, (2, 5), ["context_dim=None", "(2, 5)"]),
    "topk-query-without-context-dim-given-context": ({"score": "query"}, (2, 5), ["context_dim=None", "(2, 5)"]),
    "topk-norm-given-context": ({}, (2, 3), ["context_dim=None", "(2, 3)"]),
    "grids-context-of-another-width": ({"context_dim": 5}, (2, 7), ["context must have shape", "got (2, 7)"]),
    "grids-context-of-another-batch": ({"context_dim": 5}, (1, 5), ["[B=2, context_dim=5]", "got (1, 5)"]),
    "topk-context-of-another-width": (
        {"score": "query", "context_dim": 5}, (2, 4), ["[B=2, context_dim=5]", "got (2, 4)"]
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CONTEXT_CASES)
def test_a_context_must_match_what_the_reducer_was_built_for(case):
    options, context_shape, expected = CONTEXT_CASES[case]
    name = "topk" if case.startswith("topk") else "grids"
    reducer = make_reducer(name, dim=8, num_tokens=4, **options)
    context = None if context_shape is None else torch.randn(context_shape)
    with pytest.raises(ValueError) as error:
        reducer(tokens(), grid_hw=GRID, context=context)
    for part in expected:
        assert part in str(error.value), (part, str(error.value))


@pytest.mark.parametrize("head", ["pooled", "heatmap"])
def test_the_sampler_itself_refuses_a_missing_context(head):
    sampler = GridSampler(dim=8, num_tokens=4, context_dim=5, coord_head=head)
    with pytest.raises(
        ValueError, match=re.escape("GridSampler was built with context_dim=5 but was given context=None")
    ):
        sampler(torch.randn(2, 4, 4, 8))


def test_multiview_names_the_context_batch_before_folding_views_into_it():
    reducer = MultiViewReducer("grids", num_views=2, dim=8, num_tokens=4, context_dim=5)
    with pytest.raises(ValueError, match=re.escape("context must have shape [B=3, context_dim], got (2, 5)")):
        reducer(torch.randn(3, 2, 16, 8), grid_hw=GRID, context=torch.randn(2, 5))


@pytest.mark.parametrize("name", ["dense", "uniform", "random", "pool", "tome", "perceiver"])
def test_reducers_that_never_read_a_context_accept_and_ignore_one(name):
    reducer = make_reducer(name, dim=8, num_tokens=4).eval()
    x = tokens()
    torch.testing.assert_close(
        reducer(x, grid_hw=GRID, context=torch.randn(2, 5)).tokens, reducer(x, grid_hw=GRID).tokens
    )


# --- silently wrong: options a reducer does not read ---------------------------------------------------
OPTION_CASES = {
    "pool-score": ("pool", {"score": "query"}, "reducer 'pool' does not take the options {'score': 'query'}"),
    "grids-typo": ("grids", {"hiden_dim": 64}, "reducer 'grids' does not take the options {'hiden_dim': 64}"),
    "heatmap-hidden-dim": ("grids-heatmap", {"hidden_dim": 64}, "reducer 'grids-heatmap' does not take the options {'hidden_dim': 64}"),
    "pooled-head-key-dim": ("grids", {"key_dim": 16}, "coord_head='pooled' does not take the options {'key_dim': 16}"),
    "nearest-mode": ("grids-nearest", {"mode": "bilinear"}, "reducer 'grids-nearest' does not take the options {'mode': 'bilinear'}"),
    "topk-norm-context-dim": ("topk", {"context_dim": 384}, "context_dim=384 is read by the query; score='norm' has none"),
    "center-init-prior-width": (
        "grids-heatmap", {"init": "center", "prior_width": 0.2}, "prior_width=0.2 is the width of the spread prior"
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", OPTION_CASES)
def test_options_a_reducer_does_not_read_are_refused(case):
    name, options, message = OPTION_CASES[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        make_reducer(name, dim=8, num_tokens=4, **options)


def test_the_sampler_refuses_the_pooled_heads_width_for_the_heatmap_head():
    with pytest.raises(ValueError, match=re.escape("hidden_dim=64 is the width of the pooled head's MLP")):
        GridSampler(dim=8, num_tokens=4, coord_head="heatmap", hidden_dim=64)


# --- values that cannot be right -----------------------------------------------------------------------
SIZE_CASES = {
    "dim-zero": ("grids", {"dim": 0}, "dim must be an int >= 1, got 0"),
    "dim-zero-parameterless": ("uniform", {"dim": 0}, "dim must be an int >= 1, got 0"),
    "dim-bool": ("pool", {"dim": True}, "dim must be an int >= 1, got True"),
    "dim-float": ("perceiver", {"dim": 8.0}, "dim must be an int >= 1, got 8.0"),
    "prefix-negative": ("dense", {"dim": 8, "num_prefix_tokens": -1}, "num_prefix_tokens must be an int >= 0, got -1"),
    "context-dim-zero": ("grids", {"dim": 8, "context_dim": 0}, "context_dim must be an int >= 1 or None, got 0"),
    "random-seed-float": ("random", {"dim": 8, "seed": 1.5}, "seed must be an int >= 0, got 1.5"),
    "temperature-nan": ("grids-heatmap", {"dim": 8, "temperature": float("nan")}, "temperature must be a number in (0, inf), got nan"),
    "prior-width-zero": ("grids-heatmap", {"dim": 8, "prior_width": 0.0}, "prior_width must be None or a number in (0, inf), got 0.0"),
    "margin-string": ("grids", {"margin": "0.1"}, "margin must be a number in [0, 0.5), got '0.1'"),
    "margin-half": ("grids", {"margin": 0.5}, "margin must be a number in [0, 0.5), got 0.5"),
    "jitter-nan": ("grids", {"jitter": float("nan")}, "jitter must be a number of cells in [0, inf), got nan"),
    "redraw-bool": ("grids", {"redraw": True}, "redraw must be a probability in [0, 1], got True"),
    "reach-zero": ("grids", {"reach": 0}, "reach must be None or a number of cell widths in (0, 0.5], got 0"),
}  # fmt: skip


@pytest.mark.parametrize("case", SIZE_CASES)
def test_sizes_that_cannot_be_right_are_refused(case):
    name, options, message = SIZE_CASES[case]
    options = {"dim": 8, **options}
    with pytest.raises(ValueError, match=re.escape(message)):
        make_reducer(name, num_tokens=4, **options)


def test_numpy_numbers_are_numbers_at_both_ends_of_their_range():
    reducer = make_reducer("grids", dim=8, num_tokens=4, margin=np.float32(0), redraw=np.float64(1), reach=np.float32(0.5))
    assert (reducer.sampler.margin, reducer.sampler.redraw, reducer.sampler.head.reach) == (0.0, 1.0, 0.5)


BAD_GRIDS = [None, (4,), (4, 4, 1), "4x4", (4.0, 4), (True, 4)]


@pytest.mark.parametrize("grid_hw", BAD_GRIDS, ids=repr)
@pytest.mark.parametrize("name", ["grids", "pool"])
def test_a_grid_hw_that_is_not_two_ints_is_named(name, grid_hw):
    reducer = make_reducer(name, dim=8, num_tokens=4)
    with pytest.raises(
        ValueError, match=re.escape(f"grid_hw must be (H, W), two ints >= 1, got {grid_hw!r}")
    ):
        reducer(tokens(), grid_hw=grid_hw)


@pytest.mark.parametrize("grid_hw", [*BAD_GRIDS, (0, 0), (0, 4)], ids=repr)
@pytest.mark.parametrize("diagnostic", [check_points, point_spread, border_saturation])
def test_diagnostics_refuse_a_grid_hw_that_cannot_be_right(diagnostic, grid_hw):
    with pytest.raises(ValueError) as error:
        diagnostic(torch.rand(3, 4, 2), grid_hw)
    assert "grid_hw" in str(error.value) and repr(grid_hw) in str(error.value), str(error.value)


def test_in_encoder_hook_names_a_bad_grid():
    blocks = torch.nn.ModuleList([torch.nn.Identity()])
    with pytest.raises(ValueError, match=re.escape("grid_hw must be (H, W), two ints >= 1, got None")):
        ResampleAtLayer(blocks, 0, make_reducer("dense", dim=8), grid_hw=None)


# --- unclear before: the dtype of the features, NaN features ----------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
@pytest.mark.parametrize("name", ["grids", "grids-heatmap", "perceiver"])
def test_features_of_another_dtype_than_the_module_name_both(name, dtype):
    reducer = make_reducer(name, dim=8, num_tokens=4)
    message = f"tokens has dtype {dtype} but {type(reducer).__name__}'s parameters are torch.float32"
    with pytest.raises(ValueError, match=re.escape(message)):
        reducer(tokens(dtype=dtype), grid_hw=GRID)


def test_the_sampler_names_the_feature_dtype_and_autocast_is_allowed():
    sampler = GridSampler(dim=8, num_tokens=4)
    with pytest.raises(
        ValueError,
        match=re.escape("feature_map has dtype torch.float64 but GridSampler's parameters are torch.float32"),
    ):
        sampler(torch.randn(2, 4, 4, 8, dtype=torch.float64))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = sampler(torch.randn(2, 4, 4, 8, dtype=torch.bfloat16)).tokens
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("head", ["pooled", "heatmap"])
def test_non_finite_features_are_named_not_reported_as_points_outside_the_image(head, bad):
    feature_map = torch.randn(2, 4, 4, 8)
    feature_map[1, 2, 3, 4] = bad
    with pytest.raises(
        ValueError, match=re.escape("feature_map contains 1 NaN/Inf value(s) (shape (2, 4, 4, 8))")
    ):
        GridSampler(dim=8, num_tokens=4, coord_head=head)(feature_map)


def test_a_non_finite_context_is_named():
    context = torch.randn(2, 5)
    context[0, 0] = float("nan")
    with pytest.raises(ValueError, match=re.escape("context contains 1 NaN/Inf value(s) (shape (2, 5))")):
        make_reducer("grids", dim=8, num_tokens=4, context_dim=5)(tokens(), grid_hw=GRID, context=context)


def test_set_value_checks_off_skips_the_nan_checks_only():
    x = tokens()
    x[0, 0, 0] = float("nan")
    set_value_checks(False)
    try:
        out = make_reducer("uniform", dim=8, num_tokens=4)(x, grid_hw=GRID)  # let through: no sync, no error
        assert out.tokens.isnan().any()
        with pytest.raises(ValueError, match="context_dim=None"):  # configuration checks stay on
            make_reducer("grids", dim=8, num_tokens=4)(x, grid_hw=GRID, context=torch.randn(2, 3))
    finally:
        set_value_checks(True)


# --- diagnostics: NaN warns, points outside [0, 1] are refused ---------------------------------------------
def nan_coords():
    coords = torch.rand(3, 4, 2)
    coords[0, 1, 0] = float("nan")
    return coords


NAN_CASES = {  # the diagnostic -> the start of its warning
    "check_points": (lambda: check_points(nan_coords(), (8, 8)), "coords contains 1 NaN/Inf value(s) of 24"),
    "point_spread": (lambda: point_spread(nan_coords(), (8, 8)), "coords contains 1 NaN/Inf value(s) of 24"),
    "point_shift": (
        lambda: point_shift(nan_coords(), torch.rand(3, 4, 2), (8, 8)),
        "clean contains 1 NaN/Inf value(s) of 24",
    ),
    "retention_map": (
        lambda: retention_map(torch.full((1, 2, 2, 3), float("nan")), torch.randn(1, 2, 3)),
        "feature_map contains 12 NaN/Inf value(s) of 12",
    ),
}


@pytest.mark.parametrize("case", NAN_CASES)
def test_nan_through_a_diagnostic_warns_naming_the_count(case):
    diagnostic, expected = NAN_CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diagnostic()
    messages = [str(w.message) for w in caught if issubclass(w.category, NonFiniteWarning)]
    assert len(messages) == 1, [str(w.message) for w in caught]  # once per call, not once per statistic
    assert messages[0].startswith(expected) and "statistics" in messages[0], messages[0]


OUTSIDE_CASES = {
    "check_points": lambda c: check_points(c, (8, 8)),
    "point_spread": lambda c: point_spread(c, (8, 8)),
    "border_saturation": lambda c: border_saturation(c, (8, 8)),
    "point_shift": lambda c: point_shift(torch.rand(3, 4, 2), c, (8, 8)),
}


@pytest.mark.parametrize("value", [5.0, -0.5])
@pytest.mark.parametrize("case", OUTSIDE_CASES)
def test_points_outside_the_image_are_refused_not_measured_beyond_the_grid(case, value):
    coords = torch.rand(3, 4, 2)
    coords[1, 2] = torch.tensor([value, 0.5])
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"must lie in [0, 1] (x, y as fractions of the grid); got e.g. (x, y) = [{value}, 0.5]"
        ),
    ):
        OUTSIDE_CASES[case](coords)
