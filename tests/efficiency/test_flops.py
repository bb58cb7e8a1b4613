import pytest
import torch
from torch import nn

from grids.efficiency.flops import (
    STAGES,
    analytic_stages,
    build_shaped_policy,
    count_flops,
    count_model,
    count_stages,
    floor_flops,
    register_cpu_sdpa,
)
from grids.efficiency.vla import ExpertLayer


def test_counter_matches_a_hand_count():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    # 2 FLOPs per multiply-add; bias adds and the ReLU are not counted
    assert count_flops(model, torch.randn(3, 8)) == 2 * 3 * (8 * 16 + 16 * 4)


def test_expert_layer_matches_a_hand_count():
    from grids.efficiency.shapes import DecoderShape

    shape = DecoderShape(width=24, depth=1, heads=4, kv_heads=1, head_dim=16, mlp_dim=48)
    layer = ExpertLayer(shape)
    batch, length, prefix = 2, 5, 7
    k = torch.randn(batch, 1, prefix, 16)
    linear = 24 * 64 + 2 * 24 * 16 + 64 * 24 + 3 * 24 * 48  # q, k, v, o, gate, up, down
    attention = 2 * 4 * length * (prefix + length) * 16  # scores and weighted values, 4 heads
    assert count_flops(layer, torch.randn(batch, length, 24), k, k) == 2 * batch * (
        length * linear + attention
    )


@pytest.mark.parametrize(
    "options",
    [
        dict(reducer="dense"),
        dict(reducer="grids", num_tokens=5),
        dict(reducer="grids", num_tokens=3, resample_at_layer=1),
        dict(reducer="pool", num_tokens=4),
    ],
)
def test_meta_count_equals_real_count_and_formula(tiny_shape, options):
    if options.get("resample_at_layer") is not None and tiny_shape.pixel_shuffle > 1:
        pytest.skip("no in-encoder resampling with a pixel-shuffle connector")
    torch.manual_seed(0)
    real = count_stages(build_shaped_policy(tiny_shape, device="cpu", num_views=2, **options), batch=2)
    meta = count_stages(build_shaped_policy(tiny_shape, device="meta", num_views=2, **options), batch=2)
    formula = analytic_stages(tiny_shape, views=2, batch=2, **options)
    assert real.as_dict() == meta.as_dict()
    for stage in (*STAGES, "total"):
        assert meta.as_dict()[stage] == pytest.approx(formula.as_dict()[stage], rel=1e-9), stage
    assert meta.llm_prefix > 0 and meta.action_expert > 0 and meta.vision > 0


def test_sdpa_attention_counts_like_eager_once_registered(tiny_shape):
    register_cpu_sdpa()
    torch.manual_seed(0)
    eager = count_stages(build_shaped_policy(tiny_shape, device="cpu", attn="eager"))
    sdpa = count_stages(build_shaped_policy(tiny_shape, device="cpu", attn="sdpa"))
    assert sdpa.as_dict() == eager.as_dict()


@pytest.mark.slow
def test_full_size_pi0_on_meta_matches_lerobot_and_the_issue_estimates():
    dense = count_model("pi0", views=2)
    # LeRobot's PI0Pytorch.sample_actions counted on meta: 3.073 TFLOP (shared/reference/env-ecosystem.md §3)
    assert dense.total / 1e12 == pytest.approx(3.073, abs=0.002)
    assert dense.vision + dense.projector == pytest.approx(0.4404e12, rel=1e-3)
    after = count_model("pi0", views=2, reducer="grids", num_tokens=16)
    inside = count_model("pi0", views=2, reducer="grids", num_tokens=16, resample_at_layer=0)
    floor = floor_flops("pi0")
    assert 1 - after.total / dense.total == pytest.approx(0.65, abs=0.02)
    assert 1 - inside.total / dense.total == pytest.approx(0.78, abs=0.02)
    assert 1 - floor / dense.total == pytest.approx(0.83, abs=0.01)
    assert floor < inside.total < after.total < dense.total
    assert after.vision == dense.vision  # the paper's placement leaves SigLIP untouched


def test_formula_rejects_unknown_reducer():
    with pytest.raises(ValueError, match="no formula"):
        analytic_stages("pi0", reducer="tome")


@pytest.mark.parametrize("layer", range(4))
def test_resampling_inside_siglip_costs_what_the_formula_says(tiny_shape, layer):
    from transformers import SiglipVisionModel

    from grids.core import make_reducer
    from grids.core.in_encoder import resample_at_layer
    from grids.efficiency.vla import vision_config

    torch.manual_seed(0)
    model, images, k = SiglipVisionModel(vision_config(tiny_shape)).eval(), torch.randn(2, 3, 32, 32), 5
    reducer = make_reducer("grids", dim=tiny_shape.vision.width, num_tokens=k)
    with resample_at_layer(model, layer, reducer, grid_hw=tiny_shape.vision.grid_hw):
        flops = count_flops(model, pixel_values=images)
    stages = analytic_stages(
        tiny_shape, views=1, reducer="grids", num_tokens=k, resample_at_layer=layer, batch=2
    )
    assert flops == stages.vision + stages.reducer
