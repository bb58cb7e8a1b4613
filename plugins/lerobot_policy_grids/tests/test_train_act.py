"""Our demos end to end through LeRobot's CLI: ``grids data export`` -> ``lerobot-train --policy.type=act_grids``
-> ``select_action`` from the saved checkpoint through its saved processors -> ``lerobot-eval`` in our MetaWorld
env (``--env.type=grids_metaworld``).

Random ResNet-18 weights (``--policy.pretrained_backbone_weights=null``): nothing is downloaded.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from lerobot.configs.policies import PreTrainedConfig
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.policies.factory import get_policy_class, make_pre_post_processors
from lerobot.utils.import_utils import register_third_party_plugins
from safetensors import safe_open

from grids.cli.main import main

pytest.importorskip(
    "h5py", reason="h5py missing from LeRobot's venv: rerun bash scripts/setup_lerobot_env.sh"
)

from conftest import lerobot_train  # noqa: E402
from test_export import write_tiny_demos  # noqa: E402

K, IMAGE = 4, 96  # ResNet-18: a 3 x 3 map per camera


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("act")
    demos = write_tiny_demos(folder / "demos", image_size=IMAGE, lengths=(6, 5))
    assert main(["data", "export", str(demos), "--to-lerobot", str(folder / "lerobot"), "--no-progress"]) == 0
    return folder / "lerobot"


@pytest.fixture(scope="module")
def trained(exported, tmp_path_factory):
    output = tmp_path_factory.mktemp("train") / "out"
    command = [
        "--dataset.repo_id=local/lerobot",
        f"--dataset.root={exported}",
        "--policy.type=act_grids",
        "--policy.grids_reducer=grids",
        f"--policy.grids_num_tokens={K}",
        "--policy.pretrained_backbone_weights=null",
        "--policy.dim_model=64",
        "--policy.n_heads=2",
        "--policy.dim_feedforward=128",
        "--policy.n_encoder_layers=1",
        "--policy.n_decoder_layers=1",
        "--policy.latent_dim=8",
        "--policy.chunk_size=4",
        "--policy.n_action_steps=4",
    ]
    lerobot_train(command, output)
    return output / "checkpoints" / "000002" / "pretrained_model"


def test_lerobot_train_act_grids_on_an_exported_dataset(trained):
    config = json.loads((trained / "config.json").read_text())
    assert (config["type"], config["grids_reducer"], config["grids_num_tokens"]) == ("act_grids", "grids", K)
    cameras = {key for key in config["input_features"] if key.startswith("observation.images.")}
    assert cameras == {"observation.images.corner3", "observation.images.gripperPOV"}
    with safe_open(trained / "model.safetensors", "pt") as weights:
        assert any(".grids_reducer.sampler." in key for key in weights.keys())


def test_select_action_from_the_act_grids_checkpoint(trained, exported):
    register_third_party_plugins()
    config = PreTrainedConfig.from_pretrained(trained)
    policy = get_policy_class(config.type).from_pretrained(trained).eval()
    preprocess, postprocess = make_pre_post_processors(config, pretrained_path=str(trained))
    frame = LeRobotDataset("local/lerobot", root=exported)[0]
    observation = {k: v for k, v in frame.items() if k.startswith("observation.") or k == "task"}
    with torch.no_grad():
        action = postprocess(policy.select_action(preprocess(observation)))
    assert action.shape == (1, 4) and torch.isfinite(action).all()
    assert policy.model.encoder_img_feat_input_proj.grids_coords.shape == (1, K, 2)


def test_lerobot_eval_runs_the_checkpoint_in_grids_metaworld(trained, tmp_path):
    pytest.importorskip(
        "metaworld", reason="metaworld missing from LeRobot's venv: rerun bash scripts/setup_lerobot_env.sh"
    )
    command = [
        str(Path(sys.executable).parent / "lerobot-eval"),
        f"--policy.path={trained}",
        "--policy.device=cpu",
        "--env.type=grids_metaworld",
        "--env.task=reach-v3",
        "--env.camera=corner3",  # the tiny demos' camera
        f"--env.image_size={IMAGE}",
        "--env.episode_length=3",
        "--eval.n_episodes=1",
        "--eval.batch_size=1",
        f"--output_dir={tmp_path / 'eval'}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    info = json.loads((tmp_path / "eval" / "eval_info.json").read_text())
    assert info["overall"]["n_episodes"] == 1 and info["overall"]["pc_success"] in (0.0, 100.0)
    assert list(info["per_group"]) == ["reach-v3"]
