"""LeRobot's own full-size π0 / π0.5 (meta device, random weights) counted against ``grids flops``,
dense and with GridS-16 after SigLIP or inside it (``grids_placement=13`` = ``--resample-at-layer 13``).

Tolerance: every stage but the action expert agrees exactly; the action expert within 1e-6 of it,
the RoPE frequency x position products (about 1.3e5 FLOPs over 10 steps) that FlopCounterMode counts
in LeRobot's expert and our expert leaves out.
"""

import pytest
from lerobot_policy_grids.flops import compare

from grids.efficiency.flops import STAGES, analytic_stages

EXPERT_TOLERANCE = 1e-6


def assert_agree(real, ours):
    for stage in STAGES:
        tolerance = EXPERT_TOLERANCE * getattr(ours, stage) if stage == "action_expert" else 0
        assert getattr(real, stage) == pytest.approx(getattr(ours, stage), rel=0, abs=tolerance), stage


@pytest.mark.slow
@pytest.mark.parametrize("model", ["pi0", "pi05"])
@pytest.mark.parametrize("num_tokens", [None, 16], ids=["dense", "grids16"])
def test_lerobot_policy_flops_match_grids_flops(model, num_tokens):
    real, ours = compare(model, num_tokens=num_tokens)  # LeRobot's policy, grids' meta count
    assert_agree(real, ours)
    variant = {} if num_tokens is None else dict(reducer="grids", num_tokens=num_tokens)
    formula = analytic_stages(model, **variant)
    assert real.total == pytest.approx(formula.total, rel=1e-6)
    if num_tokens is not None:
        assert real.total < 0.6 * compare(model)[0].total


@pytest.mark.slow
@pytest.mark.parametrize("model", ["pi0", "pi05"])
def test_placement_inside_siglip_matches_grids_flops_and_saves_more(model):
    real, ours = compare(model, num_tokens=16, grids_placement=13)  # grids flops --resample-at-layer 13
    assert_agree(real, ours)
    formula = analytic_stages(model, reducer="grids", num_tokens=16, resample_at_layer=13)
    assert real.total == pytest.approx(formula.total, rel=1e-6)
    after, _ = compare(model, num_tokens=16)
    assert real.vision < 0.55 * after.vision and real.total < after.total
