"""GridS: differentiable grid-sample token reduction for Vision-Language-Action models.

What a user needs, in one namespace:

    GridSampler, sample_tokens, patch_centers       the sampler and the bare function it is built on
    make_reducer, list_reducers, register_reducer   every token reducer by name (TokenReducer: the base class)
    MultiViewReducer                                one reducer over several camera views
    resample_at_layer                               any reducer inside a ViT, before block L
    Reduced                                         what all of them return: tokens, coords (, indices)
    set_value_checks                                NaN / range checks off for deployment
    grids.diagnostics                               where did the points look (spread, border, shift, ...)

The rest lives in its layer: ``grids.adapters`` (transformers, timm), ``grids.efficiency``, ``grids.bench``,
``grids.sim`` (``docs/architecture.md``).
"""

from grids import diagnostics
from grids.core import (
    GridSampler,
    MultiViewReducer,
    Reduced,
    TokenReducer,
    list_reducers,
    make_reducer,
    patch_centers,
    register_reducer,
    resample_at_layer,
    sample_tokens,
    set_value_checks,
)

__version__ = "0.1.0"
__all__ = [
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
]
