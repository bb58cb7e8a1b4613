"""The pieces every GridS variant shares: three config flags and one overridden method.

A GridS policy is its parent policy, built by the parent's own ``__init__``, whose image embedder
(``PaliGemmaWithExpertModel`` for π0/π0.5, ``SmolVLMWithExpertModel`` for SmolVLA) then becomes an
instance of a subclass that overrides only ``embed_image``: dense tokens ``[B, N, D]`` from the parent
code, then a reducer, so every camera contributes K tokens to the prefix instead of N. Everything
downstream (masks, KV cache, action expert) already sizes itself from ``img_emb.shape[1]``.
"""

from __future__ import annotations

import logging
import math
import operator
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from grids import list_reducers, make_reducer


@dataclass
class GridSFields:
    """Config flags a GridS variant adds to its parent's (``--policy.grids_num_tokens=16`` ...)."""

    grids_reducer: str = "grids"  # any of grids.list_reducers(); "dense" reproduces the parent exactly
    grids_num_tokens: int = 16  # K, tokens per camera image (π0/π0.5: of 256; SmolVLA: of 64)
    grids_options: dict[str, Any] = field(default_factory=dict)  # reducer options, e.g. {"margin": 0.05}

    def __post_init__(self):
        super().__post_init__()
        if self.grids_reducer not in list_reducers():
            raise ValueError(
                f"grids_reducer={self.grids_reducer!r}; registered: {', '.join(list_reducers())}"
            )
        if not isinstance(self.grids_num_tokens, int) or self.grids_num_tokens < 1:
            raise ValueError(f"grids_num_tokens must be a positive int, got {self.grids_num_tokens!r}")


class ReducedImageEmbedding:
    """Mixed in front of a host embedder class: ``embed_image`` returns K tokens per image."""

    def embed_image(self, image: Tensor) -> Tensor:
        tokens = super().embed_image(image)  # [B, N, D], N = side * side patch tokens
        side = math.isqrt(tokens.shape[1])
        if side * side != tokens.shape[1]:
            raise ValueError(f"expected a square grid of image tokens, got N={tokens.shape[1]}")
        reducer = self.grids_reducer
        dtype = next((p.dtype for p in reducer.parameters()), tokens.dtype)  # reducer stays float32
        reduced = reducer(tokens.to(dtype), grid_hw=(side, side))
        self.grids_coords = reduced.coords.detach()  # [B, K, 2] of the last call, for inspection
        return reduced.tokens.to(tokens.dtype)


class GridSPolicyMixin:
    """Mixed in front of a LeRobot policy class. Subclasses name the embedder and its GridS class."""

    embedder_path: str  # attribute path from the policy to the embedder, e.g. "model.paligemma_with_expert"
    embedder_class: type  # ReducedImageEmbedding + the embedder's own class

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        embedder = operator.attrgetter(self.embedder_path)(self)
        host_class = self.embedder_class.__bases__[-1]  # (ReducedImageEmbedding, host class)
        if type(embedder) is not host_class:
            raise TypeError(
                f"{self.embedder_path} is {type(embedder).__name__}, expected {host_class.__name__}"
            )
        # Same object, same weights, same parent code: only embed_image now resolves to the GridS one.
        embedder.__class__ = self.embedder_class
        embedder.grids_reducer = make_reducer(
            config.grids_reducer,
            dim=self.image_token_dim(embedder),
            num_tokens=config.grids_num_tokens,
            **config.grids_options,
        ).to(config.device)

    def image_token_dim(self, embedder) -> int:
        raise NotImplementedError

    @property
    def grids_reducer(self):
        return operator.attrgetter(self.embedder_path)(self).grids_reducer

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Like the parent's, but a checkpoint of the parent policy (no reducer weights) loads too:
        fine-tuning starts from e.g. ``lerobot/pi05_base`` with a freshly initialised reducer."""
        result = super().load_state_dict(state_dict, strict=False, assign=assign)
        missing = [key for key in result.missing_keys if ".grids_reducer." not in key]
        if strict and (missing or result.unexpected_keys):
            raise RuntimeError(
                f"{type(self).__name__}: missing keys {missing[:5]}, unexpected keys {result.unexpected_keys[:5]}"
            )
        if len(missing) < len(result.missing_keys):
            logging.info("GridS: the checkpoint has no reducer weights; the reducer starts from its init")
        return result
