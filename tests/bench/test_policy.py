"""The policy's ViT path (``Policy._vit``) gives, bit for bit, what the two loops it replaced gave."""

from __future__ import annotations

import pytest
import torch
from einops import rearrange

from grids.bench.policy import Policy, PolicyConfig

MICRO = {"image_size": 32, "patch_size": 2, "dim": 32, "encoder_depth": 3, "policy_depth": 1, "num_heads": 2}


# --- frozen copies of Policy.dense_features / Policy.visual_tokens (ViT) as they were before Policy._vit --------
def reference_dense_features(policy: Policy, images):
    flat = rearrange(images, "b v h w c -> (b v) h w c")
    x = policy.encoder.patchify(flat)
    for block in policy.encoder.blocks:
        x = block(x)
    return rearrange(policy.encoder.norm(x), "(b v) n c -> b v n c", v=images.shape[1])


def reference_split_tokens(policy: Policy, images, context):
    split, views = policy.cfg.split_layer, images.shape[1]
    x = policy.encoder.patchify(rearrange(images, "b v h w c -> (b v) h w c"))
    for block in policy.encoder.blocks[:split]:
        x = block(x)
    reduced = policy.reducer(
        rearrange(x, "(b v) n c -> b v n c", v=views), grid_hw=policy.cfg.grid_hw, context=context
    )
    x = rearrange(reduced.tokens, "b v k c -> (b v) k c")
    for block in policy.encoder.blocks[split:]:
        x = block(x)
    reduced.tokens = rearrange(policy.encoder.norm(x), "(b v) k c -> b v k c", v=views)
    return reduced


def _images(batch: int = 2):
    return torch.randint(
        0, 256, (batch, 2, 32, 32, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )


def test_dense_features_unchanged():
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(reducer="dense", tasks=["a", "b"], **MICRO)).eval()
    images = _images()
    torch.testing.assert_close(
        policy.dense_features(images), reference_dense_features(policy, images), rtol=0, atol=0
    )


@pytest.mark.parametrize("split", [0, 1, 2])
@pytest.mark.parametrize(
    "reducer,task_aware", [("grids", False), ("grids", True), ("random", False), ("dense", False)]
)
def test_resample_inside_the_vit_unchanged(split, reducer, task_aware):
    torch.manual_seed(0)
    cfg = PolicyConfig(
        reducer=reducer,
        num_tokens=4,
        resample_at_layer=split,
        task_aware=task_aware,
        tasks=["a", "b"],
        **MICRO,
    )
    policy = Policy(cfg)
    images, language = _images(), torch.randn(2, cfg.language_dim)
    with torch.random.fork_rng(devices=[]):  # the random reducer draws: same seed for both
        torch.manual_seed(3)
        got = policy.visual_tokens(images, language)
    torch.manual_seed(3)
    expected = reference_split_tokens(policy, images, language if task_aware else None)
    torch.testing.assert_close(got.tokens, expected.tokens, rtol=0, atol=0)
    torch.testing.assert_close(got.coords, expected.coords, rtol=0, atol=0)
    got.tokens.square().sum().backward()  # gradients reach the encoder blocks on both sides of the split
    for block in (policy.encoder.blocks[0], policy.encoder.blocks[-1]):
        grad = block.qkv.weight.grad
        assert grad is not None and grad.abs().sum() > 0
