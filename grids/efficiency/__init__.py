"""Honest efficiency: whole-model FLOPs (meta-device counts + formulas) and dense-vs-reduced latency.

from grids.efficiency import count_model, floor_flops
count_model("pi0", views=2, reducer="grids", num_tokens=16, resample_at_layer=0).as_dict()
"""

from grids.efficiency.flops import (
    STAGES,
    StageFlops,
    analytic_stages,
    build_shaped_policy,
    count_flops,
    count_model,
    count_stages,
    floor_flops,
    register_cpu_sdpa,
)
from grids.efficiency.latency import (
    Variant,
    measure_latency,
    measure_run,
    ratios,
    step_flops,
    step_memory,
    time_alternating,
)
from grids.efficiency.shapes import SHAPES, VLAShape, get_shape

__all__ = [
    "SHAPES",
    "STAGES",
    "StageFlops",
    "VLAShape",
    "Variant",
    "analytic_stages",
    "build_shaped_policy",
    "count_flops",
    "count_model",
    "count_stages",
    "floor_flops",
    "get_shape",
    "measure_latency",
    "measure_run",
    "ratios",
    "register_cpu_sdpa",
    "step_flops",
    "step_memory",
    "time_alternating",
]
