"""``resample_at_layer``: a reducer inside HF SigLIP, timm-style ViTs and bare block lists."""

import pytest
import torch
from torch import nn

from grids.core import MultiViewReducer, make_reducer
from grids.core.in_encoder import ResampleAtLayer, check_resample_at_layer, find_blocks, resample_at_layer

GRID, DEPTH, WIDTH = (8, 8), 3, 32  # a 32-pixel image in 4-pixel patches


def tiny_siglip(attn: str = "eager"):
    """A 3-block, width-32 SigLIP vision tower with random weights (the layout of pi0's and SmolVLA's)."""
    transformers = pytest.importorskip("transformers")
    config = transformers.SiglipVisionConfig(
        hidden_size=WIDTH,
        num_hidden_layers=DEPTH,
        num_attention_heads=4,
        intermediate_size=64,
        patch_size=4,
        image_size=32,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        vision_use_head=False,
    )
    config._attn_implementation = attn
    torch.manual_seed(0)
    return transformers.SiglipVisionModel(config).eval()


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("layer", range(DEPTH + 1))
def test_dense_leaves_hf_siglip_unchanged(layer, attn):
    model, images = tiny_siglip(attn), torch.randn(2, 3, 32, 32)
    reference = model(pixel_values=images).last_hidden_state
    with resample_at_layer(model, layer, make_reducer("dense", dim=32), grid_hw=GRID) as hook:
        out = model(pixel_values=images).last_hidden_state
    torch.testing.assert_close(out, reference, rtol=0, atol=0)
    assert hook.last.tokens.shape == (2, 64, 32)


@pytest.mark.parametrize("layer", range(DEPTH + 1))
def test_k_tokens_give_predicted_shapes(layer):
    model, images, k = tiny_siglip(), torch.randn(2, 3, 32, 32), 5
    reducer = make_reducer("grids", dim=WIDTH, num_tokens=k)
    with resample_at_layer(model, layer, reducer, grid_hw=GRID) as hook:
        out = model(pixel_values=images).last_hidden_state
    assert out.shape == (2, k, WIDTH)
    assert hook.last.coords.shape == (2, k, 2)
    assert hook.last.coords.min() >= 0 and hook.last.coords.max() <= 1


def test_remove_restores_the_dense_encoder_and_gradients_reach_the_reducer():
    model, images = tiny_siglip(), torch.randn(2, 3, 32, 32)
    reference = model(pixel_values=images).last_hidden_state
    reducer = make_reducer("grids", dim=32, num_tokens=4)
    hook = resample_at_layer(model, 1, reducer, grid_hw=GRID)
    model(pixel_values=images).last_hidden_state.square().sum().backward()
    assert reducer.sampler.head.to_coords.weight.grad.abs().sum() > 0
    hook.remove()
    torch.testing.assert_close(model(pixel_values=images).last_hidden_state, reference)


class Block(nn.Module):  # a plain [B, N, C] block, optionally returning a tuple like older HF layers
    def __init__(self, dim: int, as_tuple: bool = False):
        super().__init__()
        self.fc, self.as_tuple = nn.Linear(dim, dim), as_tuple

    def forward(self, x):
        y = x + self.fc(x)
        return (y, None) if self.as_tuple else y


class TinyViT(nn.Module):  # timm layout: .blocks, one CLS token
    def __init__(self, dim=16, depth=4, as_tuple=False):
        super().__init__()
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.blocks = nn.Sequential(
            *[Block(dim, as_tuple) if i == depth - 1 else Block(dim) for i in range(depth)]
        )

    def forward(self, patches):
        x = torch.cat([self.cls.expand(patches.shape[0], -1, -1), patches], dim=1)
        out = self.blocks(x)
        return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("layer", [0, 2, 4])
def test_prefix_tokens_pass_through_and_tuple_outputs(layer):
    model, patches = TinyViT(as_tuple=True), torch.randn(3, 16, 16)
    reducer = make_reducer("uniform", dim=16, num_tokens=2, num_prefix_tokens=1)
    with resample_at_layer(model, layer, reducer, grid_hw=(4, 4), num_prefix_tokens=1) as hook:
        out = model(patches)
    assert out.shape == (3, 3, 16)
    assert hook.last.tokens.shape == (3, 3, 16) and hook.last.coords.shape == (3, 2, 2)
    with torch.no_grad():  # the hidden states entering block `layer` (for layer 4, the last block's output)
        x = torch.cat([model.cls.expand(3, -1, -1), patches], dim=1)
        for block in model.blocks[:layer]:
            x = block(x)
        x = x[0] if isinstance(x, tuple) else x
        expected = make_reducer("uniform", dim=16, num_tokens=2, num_prefix_tokens=1)(x, grid_hw=(4, 4))
        rest = hook.last.tokens
        for block in model.blocks[layer:]:  # the blocks after the hook run on the reduced tokens
            rest = block(rest)
        rest = rest[0] if isinstance(rest, tuple) else rest
    if layer == 0:  # the CLS token entered the blocks untouched
        torch.testing.assert_close(hook.last.tokens[:, 0], model.cls.expand(3, -1, -1)[:, 0])
    torch.testing.assert_close(hook.last.tokens[:, 0], x[:, 0], rtol=0, atol=0)  # the prefix passed through
    torch.testing.assert_close(hook.last.tokens, expected.tokens, rtol=0, atol=0)  # reduced what block L sees
    torch.testing.assert_close(out, rest, rtol=0, atol=0)


def test_module_list_target_and_context():
    torch.manual_seed(0)
    blocks = nn.ModuleList([Block(8) for _ in range(3)])
    reducer = make_reducer("grids", dim=8, num_tokens=3, context_dim=5)
    hook = ResampleAtLayer(blocks, 1, reducer, grid_hw=(2, 2))
    images = torch.randn(2, 4, 8)

    def run(context):
        hook.context = context
        x = images
        for block in blocks:
            x = block(x)
        return x

    context = torch.randn(2, 5)
    assert run(context).shape == (2, 3, 8)
    first = hook.last.coords
    with torch.no_grad():  # the hook hands the reducer the context it was given, with block 0's output
        direct = reducer(blocks[0](images), grid_hw=(2, 2), context=context)
    torch.testing.assert_close(first, direct.coords, rtol=0, atol=0)
    run(torch.randn(2, 5) * 10)  # the same images, another context
    assert not torch.allclose(first, hook.last.coords)  # the context (alone) moved the points
    assert find_blocks(blocks) is blocks


def test_errors_name_the_problem():
    model = TinyViT()
    with pytest.raises(
        ValueError, match=r"layer=5 is not a block of a 4-block encoder: use an int in \[0, 4\]"
    ):
        resample_at_layer(model, 5, make_reducer("dense", dim=16), grid_hw=(4, 4))
    with pytest.raises(ValueError, match="layer must be a block index L >= 0, got None"):
        resample_at_layer(model, None, make_reducer("dense", dim=16), grid_hw=(4, 4))
    with pytest.raises(ValueError, match="num_prefix_tokens=1 but the reducer"):
        resample_at_layer(model, 0, make_reducer("dense", dim=16), grid_hw=(4, 4), num_prefix_tokens=1)
    with pytest.raises(TypeError, match="cannot find the blocks"):
        resample_at_layer(nn.Linear(2, 2), 0, make_reducer("dense", dim=16), grid_hw=(4, 4))
    with pytest.raises(ValueError, match="grid_hw"):  # CLS token not declared: N = 17 != 16
        with resample_at_layer(model, 0, make_reducer("uniform", dim=16, num_tokens=2), grid_hw=(4, 4)):
            model(torch.randn(1, 16, 16))


def test_a_mask_is_refused():
    from transformers import SiglipVisionModel  # noqa: F401  (the layer signature we mimic)

    class MaskedBlock(Block):
        def forward(self, hidden_states, attention_mask=None):
            return super().forward(hidden_states)

    blocks = nn.ModuleList([MaskedBlock(8), MaskedBlock(8)])
    ResampleAtLayer(blocks, 1, make_reducer("uniform", dim=8, num_tokens=2), grid_hw=(2, 2))
    x = blocks[0](torch.randn(1, 4, 8))
    blocks[1](x, None)  # no mask: fine
    with pytest.raises(ValueError, match="attention mask"):
        blocks[1](x, torch.ones(1, 1, 4, 4))


@pytest.mark.parametrize("layer", [0, 1, 3])
@pytest.mark.parametrize("name", ["grids", "random", "dense"])
def test_views_folded_into_the_batch_reach_a_multiview_reducer_unfolded(layer, name):
    """``num_views=V``: blocks run ``[B*V, N, C]``, the reducer sees ``[B, V, N, C]`` (the benchmark policy's ViT)."""
    torch.manual_seed(0)
    views, blocks = 2, nn.ModuleList([Block(8) for _ in range(3)])
    options = {"context_dim": 5} if name == "grids" else {}
    reducer = MultiViewReducer(name, num_views=views, dim=8, num_tokens=3, **options)
    hidden, context = torch.randn(4 * views, 16, 8), torch.randn(4, 5) if name == "grids" else None

    def encoder(x):
        for block in blocks:
            x = block(x)
        return x

    with resample_at_layer(blocks, layer, reducer, grid_hw=(4, 4), num_views=views) as hook:
        hook.context = context
        torch.manual_seed(1)  # the random reducer draws: the same draw below
        out = encoder(hidden)
    k = 16 if name == "dense" else 3
    assert out.shape == (4 * views, k, 8) and hook.last.coords.shape == (4, views, k, 2)
    torch.manual_seed(1)
    x = hidden
    for block in blocks[:layer]:
        x = block(x)
    expected = reducer(x.unflatten(0, (4, views)), grid_hw=(4, 4), context=context)
    torch.testing.assert_close(hook.last.tokens, expected.tokens, rtol=0, atol=0)
    rest = expected.tokens.flatten(0, 1)
    for block in blocks[layer:]:
        rest = block(rest)
    torch.testing.assert_close(out, rest, rtol=0, atol=0)
    out.square().sum().backward()  # gradients reach the blocks on both sides of the hook
    for block in (blocks[0], blocks[-1]):
        assert block.fc.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("value", "depth", "options", "message"),
    [
        (-1, 4, {}, "resample_at_layer must be None or a block index L >= 0, got -1"),
        (True, 4, {}, "resample_at_layer must be None or a block index L >= 0, got True"),
        (1.0, None, {}, "resample_at_layer must be None or a block index L >= 0, got 1.0"),
        (
            5,
            4,
            {},
            r"resample_at_layer=5 is not a block of a 4-block encoder: use None or an int in \[0, 4\]",
        ),
        (
            "before",
            None,
            {"name": "grids_placement", "output": "'after'"},
            "grids_placement must be 'after' or a",
        ),
        (
            3,
            2,
            {"encoder": "this 2-block SigLIP"},
            r"=3 is not a block of this 2-block SigLIP: use None or .*\[0, 2\]",
        ),
    ],
)
def test_the_one_validator_of_where_to_reduce(value, depth, options, message):
    with pytest.raises(ValueError, match=message):
        check_resample_at_layer(value, depth, **options)


def test_the_validator_passes_none_and_block_indices():
    assert check_resample_at_layer(None, 4) is None
    assert [check_resample_at_layer(layer, 4) for layer in range(5)] == [0, 1, 2, 3, 4]
    assert check_resample_at_layer(99) == 99  # the depth not known yet: the sign only
