"""Shapes of the VLA policies we count: π0, π0.5 (openpi / LeRobot) and SmolVLA (LeRobot).

Each shape names a vision tower, a projector, an LLM prefix and an action expert by their sizes only;
models are built from these with random weights, nothing is downloaded. Sources: openpi
``gemma.get_config("gemma_2b" | "gemma_300m")`` and ``siglip So400m/14``; LeRobot ``SmolVLAConfig``
(``num_vlm_layers=16``, ``expert_width_multiplier=0.75``, ``attention_mode="cross_attn"``,
``self_attn_every_n_layers=2``) over SmolVLM2-500M (SigLIP-B/16 at 512, pixel shuffle 4, SmolLM2).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class VisionShape:
    width: int
    depth: int
    heads: int
    mlp_dim: int
    patch_size: int
    image_size: int

    @property
    def grid_hw(self) -> tuple[int, int]:
        side = self.image_size // self.patch_size
        return side, side


@dataclass(frozen=True)
class DecoderShape:
    """A Gemma/Llama-style decoder: gated MLP (3 matrices), grouped-query attention."""

    width: int
    depth: int
    heads: int
    kv_heads: int
    head_dim: int
    mlp_dim: int
    activation: str = "gelu_pytorch_tanh"


@dataclass(frozen=True)
class VLAShape:
    name: str
    vision: VisionShape
    llm: DecoderShape
    expert: DecoderShape
    pixel_shuffle: int = 1  # SmolVLM connector: s x s neighbouring patches -> one token of width s*s*C
    text_tokens: int = 48
    state_in_prefix: bool = False  # SmolVLA: one projected state token in the prefix
    state_in_suffix: bool = False  # π0: one state token in front of the action tokens
    time_per_token: bool = True  # π0/SmolVLA: action-time MLP on every action token; π0.5: adaRMS, per sample
    cross_attn_every: int = 0  # SmolVLA: 2 -> odd expert layers attend to the (re-projected) prefix only
    action_dim: int = 32
    horizon: int = 50
    num_steps: int = 10

    @property
    def grid_hw(self) -> tuple[int, int]:
        """The token grid the reducer sees after the projector (8x8 for SmolVLA's pixel shuffle)."""
        height, width = self.vision.grid_hw
        return height // self.pixel_shuffle, width // self.pixel_shuffle

    @property
    def tokens_per_view(self) -> int:
        height, width = self.grid_hw
        return height * width

    @property
    def suffix_tokens(self) -> int:
        return self.horizon + int(self.state_in_suffix)

    def is_cross_layer(self, index: int) -> bool:
        return self.cross_attn_every > 0 and index % self.cross_attn_every != 0

    def scaled(self, *, vision_depth: int, llm_depth: int, expert_depth: int) -> VLAShape:
        """Same widths, fewer blocks (for CPU latency runs and small-config tests)."""
        return replace(
            self,
            name=f"{self.name}[v{vision_depth}/l{llm_depth}/e{expert_depth}]",
            vision=replace(self.vision, depth=vision_depth),
            llm=replace(self.llm, depth=llm_depth),
            expert=replace(self.expert, depth=expert_depth),
        )


SIGLIP_SO400M_224 = VisionShape(width=1152, depth=27, heads=16, mlp_dim=4304, patch_size=14, image_size=224)
GEMMA_2B = DecoderShape(width=2048, depth=18, heads=8, kv_heads=1, head_dim=256, mlp_dim=16384)
GEMMA_300M = DecoderShape(width=1024, depth=18, heads=8, kv_heads=1, head_dim=256, mlp_dim=4096)

SHAPES: dict[str, VLAShape] = {
    "pi0": VLAShape("pi0", SIGLIP_SO400M_224, GEMMA_2B, GEMMA_300M, text_tokens=48, state_in_suffix=True),
    # π0.5: the state is discretised into the prompt (openpi max_token_len=200), time enters via adaRMS.
    "pi05": VLAShape("pi05", SIGLIP_SO400M_224, GEMMA_2B, GEMMA_300M, text_tokens=200, time_per_token=False),
    "smolvla": VLAShape(
        "smolvla",
        VisionShape(width=768, depth=12, heads=12, mlp_dim=3072, patch_size=16, image_size=512),
        DecoderShape(width=960, depth=16, heads=15, kv_heads=5, head_dim=64, mlp_dim=2560, activation="silu"),
        DecoderShape(width=720, depth=16, heads=15, kv_heads=5, head_dim=64, mlp_dim=2048, activation="silu"),
        pixel_shuffle=4,
        text_tokens=48,
        state_in_prefix=True,
        cross_attn_every=2,
    ),
}


def get_shape(name: str) -> VLAShape:
    if name not in SHAPES:
        raise ValueError(f"unknown model shape {name!r}; known: {', '.join(SHAPES)}")
    return SHAPES[name]
