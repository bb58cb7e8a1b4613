"""GridS: differentiable grid-sample token reduction for Vision-Language-Action models."""

from grids.core import (
    GridSampler,
    MultiViewReducer,
    Reduced,
    TokenReducer,
    list_reducers,
    make_reducer,
    patch_centers,
    register_reducer,
    sample_tokens,
    set_value_checks,
    spread_layout,
)

__version__ = "0.1.0"

__all__ = [
    "GridSampler",
    "MultiViewReducer",
    "Reduced",
    "TokenReducer",
    "list_reducers",
    "make_reducer",
    "patch_centers",
    "register_reducer",
    "sample_tokens",
    "set_value_checks",
    "spread_layout",
]
