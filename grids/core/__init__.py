"""The functional core: reading a token map at points, the sampler, the reducers and the in-encoder hook.

Nothing here imports from the rest of the package (adapters, efficiency, bench, sim, cli build on it).
"""

from grids.core.coord_heads import HeatmapHead, PooledHead
from grids.core.in_encoder import ResampleAtLayer, check_resample_at_layer, resample_at_layer
from grids.core.multiview import MultiViewReducer
from grids.core.reduced import Reduced
from grids.core.reducers import TokenReducer, list_reducers, make_reducer, register_reducer
from grids.core.sampler import GridSampler
from grids.core.sampling import patch_centers, sample_tokens, spread_layout
from grids.core.validation import set_value_checks

__all__ = [
    "GridSampler",
    "HeatmapHead",
    "MultiViewReducer",
    "PooledHead",
    "Reduced",
    "ResampleAtLayer",
    "TokenReducer",
    "check_resample_at_layer",
    "list_reducers",
    "make_reducer",
    "patch_centers",
    "register_reducer",
    "resample_at_layer",
    "sample_tokens",
    "set_value_checks",
    "spread_layout",
]
