"""grids.adapters.timm on tiny random-weight timm ViTs: CLS, CLS + registers, and no prefix (SigLIP).

timm imports torchvision, which the main venv does not have; CI runs this file in ``.venv-timm``
(``scripts/setup_timm_env.sh``).
"""

import pytest
import torch

import grids

timm = pytest.importorskip(
    "timm",
    reason="timm (and a working torchvision) not installed: run in .venv-timm, see scripts/setup_timm_env.sh",
)
from safetensors.torch import load_model, save_model  # noqa: E402

from grids.adapters.timm import GridSTimmViT  # noqa: E402

K = 4
IMAGE = 32  # patch 8 -> a 4 x 4 grid
TINY = dict(img_size=IMAGE, patch_size=8, embed_dim=32, depth=3, num_heads=2, num_classes=5)
VARIANTS = {  # name -> (timm model name, overrides, prefix tokens)
    "cls": ("vit_tiny_patch16_224", {}, 1),
    "cls+4reg": ("vit_tiny_patch16_224", dict(reg_tokens=4, no_embed_class=True, global_pool="avg"), 5),
    "siglip-map": ("vit_base_patch16_siglip_224", {}, 0),
}


def build(variant: str, seed: int = 0):
    name, overrides, _ = VARIANTS[variant]
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False, **TINY, **overrides).eval()


@pytest.fixture
def images():
    return torch.randn(2, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("resample_at_layer", [None, 0, 2, 3])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_dense_is_exactly_the_host(images, variant, resample_at_layer):
    vit = build(variant)
    model = GridSTimmViT(vit, "dense", resample_at_layer=resample_at_layer)
    assert model.host is vit and model.num_prefix_tokens == VARIANTS[variant][2]
    with torch.no_grad():
        assert torch.equal(model.forward_features(images), vit.forward_features(images))
        assert torch.equal(model(images), vit(images))


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_prefix_tokens_pass_through_first(images, variant):
    vit = build(variant)
    prefix = VARIANTS[variant][2]
    model = GridSTimmViT(vit, "grids", num_tokens=K)
    with torch.no_grad():
        out = model.forward_reduced(images)
        dense = vit.forward_features(images)
    assert out.tokens.shape == (2, prefix + K, 32) and out.coords.shape == (2, K, 2)
    assert torch.equal(out.tokens[:, :prefix], dense[:, :prefix])


@pytest.mark.parametrize("name", grids.list_reducers())
@pytest.mark.parametrize("resample_at_layer", [None, 1])
def test_every_reducer_shapes_and_gradients(images, name, resample_at_layer):
    model = GridSTimmViT(build("cls+4reg"), name, num_tokens=K, resample_at_layer=resample_at_layer).train()
    feats = model.forward_features(images)
    k = model.num_output_tokens((IMAGE, IMAGE))
    assert feats.shape == (2, 5 + k, 32) and k == (16 if name == "dense" else K)
    logits = model(images)
    assert logits.shape == (2, 5)
    logits.square().mean().backward()
    assert model.host.patch_embed.proj.weight.grad.abs().sum() > 0
    if name in ("grids", "perceiver"):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.reducer.parameters())


@pytest.mark.parametrize("resample_at_layer", [0, 1, 3])
def test_in_encoder_with_gradient_checkpointing(images, resample_at_layer):
    grads = []
    for checkpointing in (False, True):
        vit = build("cls")
        vit.set_grad_checkpointing(checkpointing)
        torch.manual_seed(5)
        model = GridSTimmViT(vit, "grids", num_tokens=K, resample_at_layer=resample_at_layer).train()
        model(images).square().mean().backward()
        assert vit.grad_checkpointing is checkpointing  # restored after the call
        grads.append([p.grad for p in model.parameters()])
    for plain, checkpointed in zip(*grads, strict=True):
        assert (plain is None) == (checkpointed is None)
        if plain is not None:
            torch.testing.assert_close(checkpointed, plain)


def test_forward_intermediates(images):
    vit = build("cls")
    model = GridSTimmViT(vit, "grids", num_tokens=K)
    with torch.no_grad():
        final, inter = model.forward_intermediates(images, indices=[0, 2])
        ref_final, ref_inter = vit.forward_intermediates(images, indices=[0, 2])
        as_dict = model.forward_intermediates(images, indices=2, output_dict=True, return_prefix_tokens=True)
        only = model.forward_intermediates(images, indices=1, intermediates_only=True)
    assert final.shape == (2, 1 + K, 32)
    assert torch.equal(final[:, :1], ref_final[:, :1])
    assert all(torch.equal(a, b) for a, b in zip(inter, ref_inter, strict=True))
    assert inter[0].shape == (2, 32, 4, 4)  # dense NCHW maps, untouched
    assert as_dict["image_features"].shape == (2, 1 + K, 32) and "image_intermediates_prefix" in as_dict
    assert len(only) == 1 and only[0].shape == (2, 32, 4, 4)
    with pytest.raises(NotImplementedError, match="forward_intermediates with resample_at_layer=1"):
        GridSTimmViT(vit, "grids", resample_at_layer=1).forward_intermediates(images)


@pytest.mark.parametrize("resample_at_layer", [None, 2])
def test_save_pretrained_round_trip(tmp_path, images, resample_at_layer):
    model = GridSTimmViT(build("cls+4reg"), "grids", num_tokens=K, resample_at_layer=resample_at_layer, context_dim=8).eval()
    context = torch.randn(2, 8)
    model.save_pretrained(tmp_path)
    overrides = VARIANTS["cls+4reg"][1]
    loaded = GridSTimmViT.from_pretrained(tmp_path, **TINY, **overrides).eval()
    assert loaded.spec == model.spec
    with torch.no_grad():
        assert torch.equal(
            loaded.forward_features(images, context=context), model.forward_features(images, context=context)
        )
    # model.safetensors is a plain timm state dict: timm alone loads it (it drops a classifier whose
    # size differs from the architecture default, so compare features).
    plain = timm.create_model(
        "vit_tiny_patch16_224",
        pretrained=True,
        pretrained_cfg_overlay=dict(file=str(tmp_path / "model.safetensors")),
        **TINY,
        **overrides,
    ).eval()
    with torch.no_grad():
        assert torch.equal(plain.forward_features(images), model.host.forward_features(images))


def test_safetensors_save_model_round_trip(tmp_path, images):
    model = GridSTimmViT(build("cls"), "perceiver", num_tokens=K).eval()
    save_model(model, tmp_path / "wrapped.safetensors")
    other = GridSTimmViT(build("cls", seed=7), "perceiver", num_tokens=K).eval()
    load_model(other, tmp_path / "wrapped.safetensors")
    with torch.no_grad():
        assert torch.equal(other.forward_features(images), model.forward_features(images))


def test_bad_arguments(images):
    with pytest.raises(TypeError, match="timm VisionTransformer"):
        GridSTimmViT(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="resample_at_layer=4"):
        GridSTimmViT(build("cls"), resample_at_layer=4)
    with pytest.raises(ValueError, match="exceeds"):
        GridSTimmViT(build("cls"), "topk", num_tokens=17)(images)
