"""The sampler and the token reducers it is compared against."""

from grids.core.coord_heads import HeatmapHead, PooledHead
from grids.core.diagnostics import (
    NonFiniteWarning,
    PointsWarning,
    border_saturation,
    check_points,
    follows_content,
    point_shift,
    point_spread,
    retention_map,
    token_cosine,
)
from grids.core.multiview import MultiViewReducer
from grids.core.reducers import Reduced, TokenReducer, list_reducers, make_reducer, register_reducer
from grids.core.sampler import GridSampler
from grids.core.sampling import patch_centers, sample_tokens, spread_layout
from grids.core.validation import set_value_checks

__all__ = [
    "GridSampler",
    "HeatmapHead",
    "MultiViewReducer",
    "NonFiniteWarning",
    "PointsWarning",
    "PooledHead",
    "Reduced",
    "TokenReducer",
    "border_saturation",
    "check_points",
    "follows_content",
    "list_reducers",
    "make_reducer",
    "patch_centers",
    "point_shift",
    "point_spread",
    "register_reducer",
    "retention_map",
    "sample_tokens",
    "set_value_checks",
    "spread_layout",
    "token_cosine",
]
