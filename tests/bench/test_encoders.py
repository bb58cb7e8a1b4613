"""The pretrained encoder: torchvision's MobileNetV2 weights, loaded into our re-declaration, frozen."""

from __future__ import annotations

import torch

from grids.bench.encoders import PretrainedEncoder, mobilenet_v2_weights


def test_every_imagenet_weight_is_loaded():
    encoder = PretrainedEncoder()
    state = torch.load(mobilenet_v2_weights(), map_location="cpu", weights_only=True)
    ours = encoder.features.state_dict()
    theirs = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
    assert len(ours) == 234  # blocks 0..13: convolutions and BatchNorm statistics
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), key
    assert all(not p.requires_grad for p in encoder.parameters())


def test_local_features_on_a_16x16_grid():
    encoder = PretrainedEncoder()
    images = torch.full((2, 128, 128, 3), 90, dtype=torch.uint8)
    images[1, 8:40, 80:120] = 250  # a bright patch in the top right of the second image
    with torch.no_grad():
        feats = encoder(images)  # [2, 256, 96]
    assert feats.shape == (2, 256, 96) and encoder.grid_hw(128) == (16, 16)
    change = (feats[1] - feats[0]).norm(dim=-1).reshape(16, 16)
    # local: the cells under the bright patch change, the far corner does not
    assert change[2:4, 11:14].min() > 10 * change[12:, :4].max()


def test_frozen_in_train_mode():
    encoder = PretrainedEncoder().train()
    assert not encoder.training and not any(m.training for m in encoder.modules())
    images = torch.randint(0, 255, (3, 64, 64, 3), dtype=torch.uint8)
    with (
        torch.no_grad()
    ):  # BatchNorm keeps ImageNet statistics: the batch does not change an image's features
        torch.testing.assert_close(encoder(images)[:1], encoder(images[:1]), rtol=1e-4, atol=1e-4)


def test_trainable_top_splits_the_tower_without_changing_it():
    whole, split = PretrainedEncoder(), PretrainedEncoder(top_blocks=3)
    images = torch.randint(0, 255, (2, 64, 64, 3), dtype=torch.uint8)
    with torch.no_grad():
        trunk = split.trunk_features(images)  # blocks 0..10: stride 16, 64 channels
        assert trunk.shape == (2, 64, 64) and split.trunk_dim == 64 and split.out_dim == 96
        torch.testing.assert_close(split.top(trunk), whole(images), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(split(images), whole(images), rtol=0, atol=0)
    trainable = {name.split(".")[0] for name, p in split.features.named_parameters() if p.requires_grad}
    assert trainable == {"11", "12", "13"}  # blocks 11-13 train; the trunk stays ImageNet's
    assert not split.train().training  # BatchNorm statistics stay ImageNet's in the top too


def test_top_blocks_out_of_range_names_the_limit():
    import pytest

    for bad in (-1, 7):
        with pytest.raises(ValueError, match=r"top_blocks must be in 0\.\.6"):
            PretrainedEncoder(top_blocks=bad, pretrained=False)
