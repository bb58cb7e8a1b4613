"""grids.adapters.transformers on tiny random-weight SigLIP / PaliGemma built from local configs."""

import pytest
import torch

import grids

transformers = pytest.importorskip("transformers")
from safetensors.torch import load_model, save_model  # noqa: E402
from transformers import (  # noqa: E402
    GemmaConfig,
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    SiglipVisionConfig,
    SiglipVisionModel,
)

from grids.adapters.transformers import GridSImageFeatures, GridSVisionModel  # noqa: E402

K = 4
IMAGE = 32  # 32 / patch 8 -> a 4 x 4 grid of 16 patch tokens
VISION = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    image_size=IMAGE,
    patch_size=8,
)


def siglip() -> SiglipVisionModel:
    torch.manual_seed(0)
    return SiglipVisionModel(SiglipVisionConfig(**VISION)).eval()


def paligemma() -> PaliGemmaForConditionalGeneration:
    torch.manual_seed(0)
    text = GemmaConfig(
        hidden_size=48,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        intermediate_size=64,
        vocab_size=128,
    )
    config = PaliGemmaConfig(
        vision_config=SiglipVisionConfig(**VISION).to_dict(),
        text_config=text.to_dict(),
        image_token_index=127,
        vocab_size=128,
        projection_dim=48,
        hidden_size=48,
    )
    return PaliGemmaForConditionalGeneration(config).eval()


@pytest.fixture
def pixels():
    return torch.randn(2, 3, IMAGE, IMAGE, generator=torch.Generator().manual_seed(1))


# -- SiglipVisionModel --------------------------------------------------------------------------------
@pytest.mark.parametrize("resample_at_layer", [None, 0, 1, 2])
def test_siglip_dense_is_exactly_the_host(pixels, resample_at_layer):
    host = siglip()
    model = GridSVisionModel(host, "dense", resample_at_layer=resample_at_layer)
    assert model.host is host  # wrapped, not copied
    with torch.no_grad():
        ref, out = host(pixels), model(pixels)
    assert torch.equal(out.last_hidden_state, ref.last_hidden_state)
    assert torch.equal(out.pooler_output, ref.pooler_output)
    assert out.coords.shape == (2, 16, 2)


@pytest.mark.parametrize("name", grids.list_reducers())
@pytest.mark.parametrize("resample_at_layer", [None, 1])
def test_siglip_reduces_to_k_tokens_with_gradients(pixels, name, resample_at_layer):
    model = GridSVisionModel(siglip(), name, num_tokens=K, resample_at_layer=resample_at_layer).train()
    out = model(pixels)
    k = model.num_output_tokens((IMAGE, IMAGE))
    assert out.last_hidden_state.shape == (2, k, 32) and out.coords.shape == (2, k, 2)
    assert k == (16 if name == "dense" else K)
    out.last_hidden_state.square().mean().backward()
    assert model.host.embeddings.patch_embedding.weight.grad.abs().sum() > 0
    if name in ("grids", "perceiver"):
        assert all(p.grad.abs().sum() > 0 for p in model.reducer.parameters() if p.requires_grad)


@pytest.mark.parametrize("resample_at_layer", [0, 1, 2])
def test_siglip_in_encoder_with_gradient_checkpointing(pixels, resample_at_layer):
    grads = []
    for checkpointing in (False, True):
        host = siglip()
        if checkpointing:  # the name since transformers 5.x deprecated gradient_checkpointing_enable
            getattr(host, "activation_checkpointing_enable", host.gradient_checkpointing_enable)()
            assert all(layer.gradient_checkpointing for layer in host.encoder.layers)
        torch.manual_seed(5)
        model = GridSVisionModel(host, "grids", num_tokens=K, resample_at_layer=resample_at_layer).train()
        model(pixels).last_hidden_state.square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    for plain, checkpointed in zip(*grads, strict=True):
        assert (plain is None) == (checkpointed is None)
        if plain is not None:
            torch.testing.assert_close(checkpointed, plain)


@pytest.mark.parametrize("resample_at_layer", [None, 1])
def test_siglip_task_aware_context(pixels, resample_at_layer):
    """The context reaches the sampler: one image with two instructions gives two sets of points."""
    torch.manual_seed(0)
    model = GridSVisionModel(siglip(), "grids", num_tokens=K, context_dim=8, resample_at_layer=resample_at_layer).eval()
    same_image = pixels[:1].expand(2, -1, -1, -1)
    context = torch.randn(2, 8)
    with torch.no_grad():
        out = model(same_image, context=context)
        swapped = model(same_image, context=context.flip(0))
        alone = model(same_image[:1], context=context[:1])
    assert out.last_hidden_state.shape == (2, K, 32) and out.coords.shape == (2, K, 2)
    assert (out.coords[0] - out.coords[1]).abs().max() > 1e-3  # same pixels, other task: other points
    assert (out.last_hidden_state[0] - out.last_hidden_state[1]).abs().max() > 1e-3
    # each sample's points follow its own context, not its position in the batch
    torch.testing.assert_close(swapped.coords, out.coords.flip(0))
    torch.testing.assert_close(alone.coords[0], out.coords[0])


@pytest.mark.parametrize("resample_at_layer", [None, 1])
def test_siglip_save_pretrained_round_trip(tmp_path, pixels, resample_at_layer):
    model = GridSVisionModel(
        siglip(), "grids", num_tokens=K, resample_at_layer=resample_at_layer, coord_embedding="fourier"
    ).eval()
    model.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors", "grids_adapter.json", "grids_reducer.safetensors"} <= {
        p.name for p in tmp_path.iterdir()
    }
    loaded = GridSVisionModel.from_pretrained(tmp_path).eval()
    assert loaded.spec == model.spec
    with torch.no_grad():
        assert torch.equal(loaded(pixels).last_hidden_state, model(pixels).last_hidden_state)
    # The folder is still a plain Hugging Face checkpoint of the host.
    plain = SiglipVisionModel.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        assert torch.equal(plain(pixels).last_hidden_state, model.host(pixels).last_hidden_state)


def test_siglip_safetensors_save_model_round_trip(tmp_path, pixels):
    model = GridSVisionModel(siglip(), "grids", num_tokens=K).eval()
    save_model(model, tmp_path / "wrapped.safetensors")
    torch.manual_seed(123)
    other = GridSVisionModel(SiglipVisionModel(SiglipVisionConfig(**VISION)), "grids", num_tokens=K).eval()
    load_model(other, tmp_path / "wrapped.safetensors")
    with torch.no_grad():
        assert torch.equal(other(pixels).last_hidden_state, model(pixels).last_hidden_state)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"resample_at_layer=3 is not a block of a 2-block encoder: .*\[0, 2\]"):
        GridSVisionModel(siglip(), "grids", resample_at_layer=3)
    with pytest.raises(ValueError, match="resample_at_layer must be None or a block index"):
        GridSVisionModel(siglip(), "grids", resample_at_layer="output")
    with pytest.raises(ValueError, match="project_first=True: .* False with resample_at_layer=1"):
        GridSImageFeatures(paligemma(), "grids", resample_at_layer=1, project_first=True)
    with pytest.raises(TypeError, match="SigLIP-style"):
        GridSVisionModel(torch.nn.Linear(2, 2), "grids")
    with pytest.raises(ValueError, match="pixel_values"):
        GridSVisionModel(siglip(), "grids")(torch.randn(3, IMAGE, IMAGE))


# -- PaliGemma get_image_features ---------------------------------------------------------------------
PROJECTED, BEFORE_PROJECTOR = {}, {"project_first": False}  # reduce the projected tokens / SigLIP's output


@pytest.mark.parametrize("where", [PROJECTED, BEFORE_PROJECTOR, {"resample_at_layer": 2}])
def test_paligemma_dense_is_exactly_get_image_features(pixels, where):
    vlm = paligemma()
    images = GridSImageFeatures(vlm, "dense", **where)
    with torch.no_grad():
        ref, out = vlm.get_image_features(pixels), images.get_image_features(pixels)
    assert torch.equal(out.pooler_output, ref.pooler_output)
    assert torch.equal(out.last_hidden_state, ref.last_hidden_state)


@pytest.mark.parametrize("where", [PROJECTED, BEFORE_PROJECTOR, {"resample_at_layer": 1}])
def test_paligemma_k_tokens_and_gradients(pixels, where):
    images = GridSImageFeatures(paligemma(), "grids", num_tokens=K, **where).train()
    out = images(pixels)
    assert out.pooler_output.shape == (2, K, 48) and out.coords.shape == (2, K, 2)
    out.pooler_output.square().mean().backward()
    assert images.reducer.sampler.head.to_coords.weight.grad.abs().sum() > 0
    assert images.host.model.multi_modal_projector.linear.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("where", [PROJECTED, BEFORE_PROJECTOR])
def test_paligemma_save_pretrained_round_trip(tmp_path, pixels, where):
    images = GridSImageFeatures(paligemma(), "perceiver", num_tokens=K, **where).eval()
    images.save_pretrained(tmp_path)
    loaded = GridSImageFeatures.from_pretrained(tmp_path).eval()
    assert loaded.spec == images.spec
    with torch.no_grad():
        assert torch.equal(loaded(pixels).pooler_output, images(pixels).pooler_output)
