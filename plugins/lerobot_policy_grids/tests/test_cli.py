"""A user's GridS fine-tune through LeRobot's own CLI, on a tiny synthetic dataset:

    lerobot-train --policy.type=smolvla_grids --policy.pretrained_path=<a SmolVLA checkpoint> ...

then ``select_action`` from the checkpoint it saved. The installed plugin is found by LeRobot's own
discovery (the training subprocess never imports it explicitly).
SmolVLA is the policy trained through the CLI because π0/π0.5's pre-processors hard-code the
PaliGemma tokenizer from the Hub, which is not reachable offline.
"""

import json

import numpy as np
import pytest
import torch
from conftest import SMOL_IMAGE, lerobot_train, smolvla_config
from lerobot.configs.policies import PreTrainedConfig
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
from lerobot.utils.import_utils import register_third_party_plugins
from safetensors.torch import load_file

REPO_ID = "local/tiny_grids"
K = 4


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory):
    """2 episodes x 8 frames, two 64x64 cameras stored as images (no video decoding needed)."""
    root = tmp_path_factory.mktemp("data") / "tiny_grids"
    image = {"dtype": "image", "shape": (SMOL_IMAGE, SMOL_IMAGE, 3), "names": ["height", "width", "channels"]}
    features = {
        "observation.images.top": image,
        "observation.images.wrist": image,
        "observation.state": {"dtype": "float32", "shape": (4,), "names": [f"s{i}" for i in range(4)]},
        "action": {"dtype": "float32", "shape": (3,), "names": [f"a{i}" for i in range(3)]},
    }
    dataset = LeRobotDataset.create(repo_id=REPO_ID, fps=10, features=features, root=root, use_videos=False)
    rng = np.random.default_rng(0)
    for _ in range(2):
        for _ in range(8):
            frame = {
                key: rng.integers(0, 255, (SMOL_IMAGE, SMOL_IMAGE, 3), dtype=np.uint8) for key in features
            }
            frame["observation.state"] = rng.standard_normal(4).astype(np.float32)
            frame["action"] = rng.standard_normal(3).astype(np.float32)
            dataset.add_frame({**frame, "task": "pick up the red cube"})
        dataset.save_episode()
    dataset.finalize()
    return root


@pytest.fixture(scope="module")
def parent_checkpoint(dataset_root, tiny_smolvlm, tmp_path_factory):
    """A plain SmolVLA checkpoint with its processors, as `lerobot/smolvla_base` would be."""
    folder = tmp_path_factory.mktemp("parent")
    config = smolvla_config(SmolVLAConfig, tiny_smolvlm, tokenizer_max_length=8)
    torch.manual_seed(0)
    SmolVLAPolicy(config).save_pretrained(folder)
    stats = LeRobotDataset(REPO_ID, root=dataset_root).meta.stats
    for pipeline in make_pre_post_processors(config, dataset_stats=stats):
        pipeline.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(dataset_root, tiny_smolvlm, parent_checkpoint, tmp_path_factory):
    """lerobot-train for 2 steps from the parent checkpoint; return the saved pretrained_model folder."""
    output = tmp_path_factory.mktemp("train") / "out"
    command = [
        f"--dataset.repo_id={REPO_ID}",
        f"--dataset.root={dataset_root}",
        "--policy.type=smolvla_grids",
        f"--policy.pretrained_path={parent_checkpoint}",
        f"--policy.grids_num_tokens={K}",
        "--policy.grids_reducer=grids",
        '--policy.grids_options={"coord_embedding": "fourier"}',
        f"--policy.vlm_model_name={tiny_smolvlm}",
        "--policy.load_vlm_weights=false",
        f"--policy.resize_imgs_with_padding=[{SMOL_IMAGE},{SMOL_IMAGE}]",
        "--policy.num_vlm_layers=2",
        "--policy.expert_width_multiplier=0.5",
        "--policy.chunk_size=4",
        "--policy.n_action_steps=4",
        "--policy.num_steps=2",
        "--policy.max_state_dim=8",
        "--policy.max_action_dim=8",
        "--policy.tokenizer_max_length=8",
    ]
    lerobot_train(command, output)
    # --policy.type=smolvla_grids parsed at all: lerobot-train discovered and imported the plugin.
    return output / "checkpoints" / "000002" / "pretrained_model"


def test_lerobot_train_saves_the_grids_flags_and_weights(trained):
    config = json.loads((trained / "config.json").read_text())
    assert config["type"] == "smolvla_grids"
    assert (config["grids_reducer"], config["grids_num_tokens"], config["grids_options"]) == (
        "grids",
        K,
        {"coord_embedding": "fourier"},
    )
    train_config = json.loads((trained / "train_config.json").read_text())
    assert (
        train_config["policy"]["type"] == "smolvla_grids" and train_config["policy"]["grids_num_tokens"] == K
    )
    from safetensors import safe_open

    with safe_open(trained / "model.safetensors", "pt") as weights:
        assert any(".grids_reducer.sampler." in key for key in weights.keys())


def test_the_fine_tune_started_from_the_parent_weights(trained, parent_checkpoint):
    parent, child = (
        load_file(parent_checkpoint / "model.safetensors"),
        load_file(trained / "model.safetensors"),
    )
    assert {k for k in child if ".grids_reducer." not in k} == set(parent)
    for key, value in parent.items():
        if ".vlm." in key:  # frozen (train_expert_only): bit for bit the parent's
            assert torch.equal(child[key], value), key
        else:  # two small optimiser steps away from the parent's, far from a fresh random init
            assert torch.allclose(child[key], value, atol=1e-2), key


def test_select_action_from_the_trained_checkpoint(trained, dataset_root):
    register_third_party_plugins()
    config = PreTrainedConfig.from_pretrained(trained)
    assert config.type == "smolvla_grids" and config.grids_num_tokens == K
    policy = get_policy_class(config.type).from_pretrained(trained).eval()
    preprocess, postprocess = make_pre_post_processors(config, pretrained_path=str(trained))
    frame = LeRobotDataset(REPO_ID, root=dataset_root)[0]
    observation = {k: v for k, v in frame.items() if k.startswith("observation.") or k == "task"}
    with torch.no_grad():
        action = postprocess(policy.select_action(preprocess(observation)))
    assert action.shape == (1, 3) and torch.isfinite(action).all()
    assert policy.model.vlm_with_expert.grids_coords.shape[1:] == (K, 2)
