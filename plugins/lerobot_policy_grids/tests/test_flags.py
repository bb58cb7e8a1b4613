"""Typed, validated flags for the reducer options that matter: --policy.grids_margin,
--policy.grids_coord_embedding, --policy.grids_coord_head (every GridS policy type; tested on pi0_grids)."""

import os
import subprocess
import sys
from pathlib import Path

import draccus
import pytest
from conftest import pi_config
from lerobot.policies.factory import make_policy_config
from lerobot_policy_grids import ACTGridSConfig, PI0GridSConfig
from lerobot_policy_grids.modeling_act_grids import ACTGridSPolicy
from lerobot_policy_grids.modeling_pi0_grids import PI0GridSPolicy
from test_act_diffusion import act_config

from grids.core.coord_heads import HeatmapHead
from grids.core.sampler import FourierCoordEmbedding


def test_flags_parse_typed_from_the_command_line():
    args = [
        "--grids_margin=0.05",
        "--grids_coord_embedding=fourier",
        "--grids_coord_head=heatmap",
        "--device=cpu",
    ]
    config = draccus.parse(config_class=PI0GridSConfig, args=args)
    assert config.grids_margin == 0.05 and isinstance(config.grids_margin, float)
    assert config.grids_reducer_options() == {
        "margin": 0.05,
        "coord_embedding": "fourier",
        "coord_head": "heatmap",
    }
    with pytest.raises(draccus.utils.DecodingError, match="grids_margin"):
        draccus.parse(config_class=PI0GridSConfig, args=["--grids_margin=wide", "--device=cpu"])


def test_flags_reach_the_reducer(tiny_pi):
    config = pi_config(
        PI0GridSConfig, grids_num_tokens=4, grids_margin=0.1, grids_coord_embedding="fourier",
        grids_coord_head="heatmap", grids_options={"init": "center"},
    )  # fmt: skip
    sampler = PI0GridSPolicy(config).grids_reducer.sampler
    assert sampler.margin == 0.1
    assert isinstance(sampler.coord_embed, FourierCoordEmbedding) and isinstance(sampler.head, HeatmapHead)


def test_unset_flags_leave_the_reducer_defaults():
    config = make_policy_config("pi0_grids")
    assert config.grids_reducer_options() == {}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"grids_margin": 0.5}, r"grids_margin must be a number in \[0, 0.5\), got 0.5"),
        ({"grids_margin": -0.1}, r"got -0.1"),
        ({"grids_coord_embedding": "sine"}, r"grids_coord_embedding must be one of .* got 'sine'"),
        ({"grids_coord_head": "argmax"}, r"grids_coord_head must be one of .* got 'argmax'"),
        (
            {"grids_reducer": "topk", "grids_margin": 0.1},
            r"grids_margin apply to .* not grids_reducer='topk'",
        ),
        ({"grids_reducer": "grids-heatmap", "grids_coord_head": "pooled"}, "is the heatmap head already"),
        ({"grids_margin": 0.1, "grids_options": {"margin": 0.2}}, r"margin is set twice: grids_margin=0.1"),
        ({"grids_placement": "before"}, r"grids_placement must be 'after' or .* got 'before'"),
        ({"grids_placement": -1}, r"got -1"),
    ],
)
def test_bad_flags_are_refused_naming_the_value(flags, message):
    with pytest.raises(ValueError, match=message):
        make_policy_config("pi0_grids", **flags)


def test_an_option_the_reducer_does_not_take_is_named_when_the_policy_is_built():
    config = act_config(ACTGridSConfig, grids_options={"num_points": 3})
    with pytest.raises(
        ValueError, match=r"grids_reducer='grids': reducer 'grids' does not take the options \{'num_points': 3\}"
    ):
        ACTGridSPolicy(config)


def test_lerobot_train_help_lists_the_flags():
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [str(Path(sys.executable).parent / "lerobot-train"), "--policy.type=pi0_grids", "--help"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    help_text = " ".join(result.stdout.split())
    assert "--policy.grids_margin [float] GridS's points stay in [margin, 1 - margin]" in help_text
    assert "--policy.grids_coord_embedding [str] Coordinate embedding added to each GridS token" in help_text
    assert "--policy.grids_coord_head [str] What places GridS's points: pooled or heatmap" in help_text


def test_placement_parses_as_after_or_a_block_index():
    assert draccus.parse(config_class=PI0GridSConfig, args=["--device=cpu"]).grids_placement == "after"
    config = draccus.parse(config_class=PI0GridSConfig, args=["--grids_placement=13", "--device=cpu"])
    assert config.grids_placement == 13


def test_smolvla_refuses_a_placement_inside_siglip():
    with pytest.raises(ValueError, match=r"grids_placement=4: smolvla_grids reduces after the vision tower"):
        make_policy_config("smolvla_grids", grids_placement=4)
