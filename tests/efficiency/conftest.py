import pytest

from grids.efficiency.shapes import DecoderShape, VisionShape, VLAShape

TINY_VISION = VisionShape(width=32, depth=3, heads=4, mlp_dim=64, patch_size=4, image_size=32)  # 8x8 grid


def tiny_shapes() -> dict[str, VLAShape]:
    """Small copies of the three layouts: joint attention + state token (π0), adaRMS (π0.5),
    pixel shuffle + cross-attention layers + state in the prefix (SmolVLA)."""
    llm = DecoderShape(width=48, depth=2, heads=4, kv_heads=1, head_dim=16, mlp_dim=96)
    expert = DecoderShape(width=24, depth=2, heads=4, kv_heads=1, head_dim=16, mlp_dim=48)
    common = dict(text_tokens=5, action_dim=7, horizon=6, num_steps=3)
    return {
        "pi0": VLAShape("tiny-pi0", TINY_VISION, llm, expert, state_in_suffix=True, **common),
        "pi05": VLAShape("tiny-pi05", TINY_VISION, llm, expert, time_per_token=False, **common),
        "smolvla": VLAShape(
            "tiny-smolvla",
            TINY_VISION,
            DecoderShape(width=40, depth=3, heads=4, kv_heads=2, head_dim=8, mlp_dim=64, activation="silu"),
            DecoderShape(width=30, depth=3, heads=4, kv_heads=2, head_dim=8, mlp_dim=48, activation="silu"),
            pixel_shuffle=2,
            state_in_prefix=True,
            cross_attn_every=2,
            **common,
        ),
    }


@pytest.fixture(params=["pi0", "pi05", "smolvla"])
def tiny_shape(request) -> VLAShape:
    return tiny_shapes()[request.param]


@pytest.fixture
def tiny_pi0() -> VLAShape:
    return tiny_shapes()["pi0"]
