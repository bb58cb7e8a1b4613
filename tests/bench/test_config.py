"""Config validation: every error in a PolicyConfig / TrainConfig surfaces when it is built, before any work."""

import re

import pytest
import torch

from grids import list_reducers, make_reducer
from grids.bench.policy import Policy, PolicyConfig
from grids.bench.train import TrainConfig

ALL = list_reducers()
DISCRETE = [name for name in ALL if make_reducer(name, dim=8, num_tokens=4).discrete]


def test_unknown_reducer_lists_the_registered_ones():
    with pytest.raises(ValueError, match=re.escape(f"unknown reducer 'nope'; registered: {', '.join(ALL)}")):
        PolicyConfig(reducer="nope")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("num_tokens", [0, -3, 2.5, True])
def test_num_tokens_must_be_a_positive_int(name, num_tokens):
    with pytest.raises(ValueError, match=re.escape(f"num_tokens must be an int >= 1, got {num_tokens!r}")):
        PolicyConfig(reducer=name, num_tokens=num_tokens)


@pytest.mark.parametrize("name", ALL)
def test_more_tokens_than_patches(name):
    # 32 / 8 = a 4 x 4 grid: a discrete reducer cannot pick 17 of 16 patches; a continuous one can.
    config = dict(reducer=name, num_tokens=17, image_size=32, patch_size=8)
    if name not in DISCRETE:
        assert PolicyConfig(**config).num_tokens == 17
        return
    message = f"reducer '{name}': num_tokens=17 exceeds the 16 patch tokens of a 4x4 grid (image_size=32 / patch_size=8)"
    with pytest.raises(ValueError, match=re.escape(message)):
        PolicyConfig(**config)


def test_pool_tokens_must_tile_the_grid():
    with pytest.raises(ValueError, match="num_tokens=17 cannot tile a 16x16 grid"):
        PolicyConfig(reducer="pool", num_tokens=17)  # prime, above 16: no h x w fits


@pytest.mark.parametrize("name", ALL)
def test_unknown_option(name):
    with pytest.raises(
        ValueError, match=re.escape(f"reducer '{name}' does not take the options {{'bogus': 1}}")
    ):
        PolicyConfig(reducer=name, reducer_options={"bogus": 1})


def test_bad_option_values_and_task_awareness():
    with pytest.raises(ValueError, match="score must be 'norm' or 'query', got 'saliency'"):
        PolicyConfig(reducer="topk", reducer_options={"score": "saliency"})
    with pytest.raises(ValueError, match="coord_embedding must be one of"):
        PolicyConfig(reducer="grids", reducer_options={"coord_embedding": "sinusoid"})
    with pytest.raises(
        ValueError, match=re.escape("reducer 'pool' does not take the options {'context_dim': 384}")
    ):
        PolicyConfig(reducer="pool", task_aware=True)
    with pytest.raises(ValueError, match="reducer_options must be a dict, got \\['score'\\]"):
        PolicyConfig(reducer="topk", reducer_options=["score"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"patch_size": 0}, "patch_size must be an int >= 1, got 0"),
        ({"num_views": 0}, "num_views must be an int >= 1, got 0"),
        ({"chunk_size": 0}, "chunk_size must be an int >= 1, got 0"),
        ({"dim": 30, "num_heads": 4}, "dim=30 is not divisible by num_heads=4"),
        ({"image_size": 100}, "image_size=100 is not a multiple of patch_size=8"),
        ({"action_head": "diffusion"}, "action_head must be one of"),
        ({"resample_at_layer": 9}, "resample_at_layer=9 is not a block of the 4-block ViT \\(encoder_depth=4\\)"),
    ],
)
def test_bad_sizes(fields, message):
    with pytest.raises(ValueError, match=message):
        PolicyConfig(**fields)


def test_checking_leaves_the_seeded_initialisation_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    PolicyConfig(reducer="grids", num_tokens=4)
    assert torch.equal(torch.rand(3), expected)


def test_a_valid_config_builds_the_reducer_it_checked():
    config = PolicyConfig(
        reducer="topk", num_tokens=8, reducer_options={"score": "query"}, task_aware=True, dim=32, num_heads=2
    )
    reducer = Policy(config).reducer.reducers[0]
    assert reducer.num_tokens == 8 and reducer.context_proj.in_features == config.language_dim


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"steps": 0}, "steps must be an int >= 1, got 0"),
        ({"batch_size": 0}, "batch_size must be an int >= 1, got 0"),
        ({"save_every": 0}, "save_every must be an int >= 1, got 0"),
        ({"warmup": -1}, "warmup must be an int >= 0, got -1"),
        ({"num_workers": -1}, "num_workers must be an int >= 0, got -1"),
        ({"keep_every": True}, "keep_every must be an int >= 1 or None, got True"),
        ({"keep_every": 0}, "keep_every must be an int >= 1 or None, got 0"),
        ({"lr": 0.0}, r"lr must be a number in \(0, inf\), got 0.0"),
        ({"lr": "1e-3"}, r"lr must be a number in \(0, inf\), got '1e-3'"),
        ({"grad_clip": float("nan")}, r"grad_clip must be a number in \(0, inf\), got nan"),
        ({"weight_decay": -0.1}, r"weight_decay must be a number in \[0, inf\), got -0.1"),
        ({"language_model": "bert"}, "language_model must be one of \\('minilm', 'hash'\\), got 'bert'"),
        (
            {"frozen_encoder": "runs/dense", "policy": PolicyConfig(resample_at_layer=1)},
            "frozen_encoder trains on cached final-layer features; resample_at_layer=1 needs images",
        ),
    ],
)
def test_bad_train_config(fields, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(data="d", out="o", **fields)


def test_from_dict_round_trips_and_refuses_unknown_fields():
    config = TrainConfig(data="d", out="o", policy=PolicyConfig(reducer="grids", num_tokens=4), steps=5)
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(
        ValueError, match=re.escape("unknown TrainConfig field(s) ['stepz'], policy field(s) ['tokens']")
    ):
        TrainConfig.from_dict(
            {**config.to_dict(), "stepz": 5, "policy": {**config.policy.to_dict(), "tokens": 4}}
        )
    with pytest.raises(ValueError, match="num_tokens=999 exceeds"):
        TrainConfig.from_dict(
            {
                **config.to_dict(),
                "policy": {**config.policy.to_dict(), "reducer": "random", "num_tokens": 999},
            }
        )
