"""Tiny π0 / π0.5 / SmolVLA policies built offline with random weights, and a tiny local dataset.

π0/π0.5 hard-code their sizes (Gemma 2B/300M, SigLIP so400m, a 2048-wide projector): the fixture
``tiny_pi`` swaps LeRobot's size tables for tiny ones while a test runs. SmolVLA reads its VLM config
and processor from ``vlm_model_name``: ``tiny_smolvlm`` writes a tiny one (synthetic word-level
tokenizer) to a local folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MUJOCO_GL", "egl")  # headless: before anything imports mujoco (metaworld, LIBERO)

lerobot = pytest.importorskip("lerobot", reason="LeRobot not installed: bash scripts/setup_lerobot_env.sh")

from lerobot.configs.types import FeatureType, PolicyFeature  # noqa: E402
from lerobot.policies.pi0 import modeling_pi0  # noqa: E402
from lerobot.policies.pi05 import modeling_pi05  # noqa: E402
from lerobot.utils.constants import (  # noqa: E402
    ACTION,
    OBS_LANGUAGE_ATTENTION_MASK,
    OBS_LANGUAGE_TOKENS,
    OBS_STATE,
)
from transformers import CONFIG_MAPPING  # noqa: E402

IMAGE = 32  # π0/π0.5: patch 8 -> 4 x 4 = 16 image tokens per camera
WIDTH = 64  # Gemma width, which must equal the projector's output width
CAMERAS = ("observation.images.top", "observation.images.wrist")
STATE_DIM, ACTION_DIM, CHUNK, TEXT = 4, 3, 4, 6


VOCAB = 256  # instead of Gemma's 257,152 rows: three such embeddings would dominate the test time


def _shrink_vision(paligemma_class):
    """Build π0's PaliGemma with a tiny SigLIP (LeRobot hard-codes so400m's MLP and a 2048 projector)."""

    def build(config):
        vision = config.vision_config
        vision.hidden_size, vision.num_hidden_layers, vision.num_attention_heads = 32, 2, 2
        vision.intermediate_size, vision.patch_size, vision.projection_dim = 64, 8, WIDTH
        config.text_config.vocab_size = VOCAB
        return paligemma_class(config=config)

    return build


def _small_vocab_gemma_config(**options):
    return CONFIG_MAPPING["gemma"](**{**options, "vocab_size": VOCAB})


@pytest.fixture
def tiny_pi(monkeypatch):
    """While a test runs, π0/π0.5 "gemma_2b"/"gemma_300m" mean 1-layer, 64-wide Gemmas (8 heads: hard-coded)."""
    for module in (modeling_pi0, modeling_pi05):
        tiny = module.GemmaConfig(width=WIDTH, depth=1, mlp_dim=128, num_heads=8, num_kv_heads=1, head_dim=8)
        monkeypatch.setattr(module, "get_gemma_config", lambda variant, tiny=tiny: tiny)
        paligemma = module.PaliGemmaForConditionalGenerationWithPiGemma
        monkeypatch.setattr(module, "PaliGemmaForConditionalGenerationWithPiGemma", _shrink_vision(paligemma))
        mapping = {"paligemma": CONFIG_MAPPING["paligemma"], "gemma": _small_vocab_gemma_config}
        monkeypatch.setattr(module, "CONFIG_MAPPING", mapping)


def features(image: int = IMAGE):
    inputs = {cam: PolicyFeature(FeatureType.VISUAL, (3, image, image)) for cam in CAMERAS}
    inputs[OBS_STATE] = PolicyFeature(FeatureType.STATE, (STATE_DIM,))
    return inputs, {ACTION: PolicyFeature(FeatureType.ACTION, (ACTION_DIM,))}


def pi_config(config_cls, **overrides):
    inputs, outputs = features()
    options = dict(
        input_features=inputs,
        output_features=outputs,
        image_resolution=(IMAGE, IMAGE),
        chunk_size=CHUNK,
        n_action_steps=CHUNK,
        max_state_dim=8,
        max_action_dim=8,
        num_inference_steps=2,
        dtype="float32",
        tokenizer_max_length=TEXT,
        device="cpu",
    )
    return config_cls(**{**options, **overrides})


def batch(size: int = 2, image: int = IMAGE, seed: int = 0) -> dict:
    """A batch as the policies see it after their pre-processor (normalised, tokenised)."""
    generator = torch.Generator().manual_seed(seed)
    out = {cam: torch.rand(size, 3, image, image, generator=generator) for cam in CAMERAS}
    out[OBS_STATE] = torch.randn(size, STATE_DIM, generator=generator)
    out[ACTION] = torch.randn(size, CHUNK, ACTION_DIM, generator=generator)
    out["action_is_pad"] = torch.zeros(size, CHUNK, dtype=torch.bool)
    out[OBS_LANGUAGE_TOKENS] = torch.randint(0, 40, (size, TEXT), generator=generator)
    out[OBS_LANGUAGE_ATTENTION_MASK] = torch.ones(size, TEXT, dtype=torch.bool)
    return out


# -- SmolVLA ------------------------------------------------------------------------------------------
SMOL_IMAGE = 64  # patch 8 -> 8 x 8, pixel shuffle x2 -> 4 x 4 = 16 image tokens per camera


@pytest.fixture(scope="session")
def tiny_smolvlm(tmp_path_factory):
    return write_tiny_smolvlm(tmp_path_factory.mktemp("tiny_smolvlm"))


def write_tiny_smolvlm(folder):
    """A local SmolVLM folder: tiny config + processor with a synthetic word-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        SmolVLMConfig,
        SmolVLMImageProcessor,
        SmolVLMProcessor,
        SmolVLMVideoProcessor,
    )

    specials = [
        "<pad>",
        "<unk>",
        "<fake_token_around_image>",
        "<image>",
        "<global-img>",
        "<end_of_utterance>",
    ]
    words = "pick place the a red blue cube block up put in box open close drawer move to left right".split()
    vocab = {token: index for index, token in enumerate(specials + words)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        extra_special_tokens={
            "fake_image_token": "<fake_token_around_image>",
            "image_token": "<image>",
            "global_image_token": "<global-img>",
            "end_of_utterance_token": "<end_of_utterance>",
        },
    )
    image_processor = SmolVLMImageProcessor(
        size={"longest_edge": SMOL_IMAGE},
        max_image_size={"longest_edge": SMOL_IMAGE},
        do_image_splitting=False,
    )
    video_processor = SmolVLMVideoProcessor(
        size={"longest_edge": SMOL_IMAGE}, max_image_size={"longest_edge": SMOL_IMAGE}
    )
    SmolVLMProcessor(image_processor, tokenizer, video_processor, image_seq_len=16).save_pretrained(folder)
    config = SmolVLMConfig(
        vision_config=dict(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=SMOL_IMAGE,
            patch_size=8,
        ),
        text_config=dict(
            model_type="llama",
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=16,
            vocab_size=64,
        ),
        scale_factor=2,
        image_token_id=vocab["<image>"],
        vocab_size=64,
    )
    config.save_pretrained(folder)
    return folder


def smolvla_config(config_cls, vlm_folder, **overrides):
    inputs, outputs = features(SMOL_IMAGE)
    options = dict(
        input_features=inputs,
        output_features=outputs,
        vlm_model_name=str(vlm_folder),
        load_vlm_weights=False,
        resize_imgs_with_padding=(SMOL_IMAGE, SMOL_IMAGE),
        num_vlm_layers=2,
        expert_width_multiplier=0.5,
        chunk_size=CHUNK,
        n_action_steps=CHUNK,
        num_steps=2,
        max_state_dim=8,
        max_action_dim=8,
        tokenizer_max_length=TEXT,
        device="cpu",
    )
    return config_cls(**{**options, **overrides})


def lerobot_train(arguments: list[str], output) -> None:
    """``lerobot-train ARGUMENTS`` on the CPU for 2 steps at batch 2, offline, checkpoint at step 2 in ``output``."""
    command = [
        str(Path(sys.executable).parent / "lerobot-train"),
        *arguments,
        "--policy.device=cpu",
        "--policy.push_to_hub=false",
        f"--output_dir={output}",
        "--steps=2",
        "--batch_size=2",
        "--num_workers=0",
        "--save_freq=2",
        "--log_freq=1",
        "--wandb.enable=false",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
