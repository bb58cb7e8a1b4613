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

import torch
from torch import Tensor, nn

from grids import list_reducers, make_reducer, resample_at_layer
from grids.core import check_resample_at_layer
from grids.core.in_encoder import find_blocks

GRIDS_REDUCERS = ("grids", "grids-heatmap", "grids-nearest")  # the reducers the typed point flags apply to
COORD_EMBEDDINGS = ("mlp", "fourier", "none")
COORD_HEADS = ("pooled", "heatmap")


@dataclass
class GridSFields:
    """Config flags a GridS variant adds to its parent's (``--policy.grids_num_tokens=16`` ...).

    ``grids_margin``, ``grids_coord_embedding`` and ``grids_coord_head`` are typed, validated forms of
    the reducer options that matter; they apply to the GridS reducers (``GRIDS_REDUCERS``) only.
    """

    grids_reducer: str = "grids"  # any of grids.list_reducers(); "dense" reproduces the parent exactly
    grids_num_tokens: int = 16  # K, tokens per camera image (π0/π0.5: of 256; SmolVLA: of 64)
    # GridS's points stay in [margin, 1 - margin], margin in [0, 0.5). Unset: the reducer's default (0).
    grids_margin: float | None = None
    # Coordinate embedding added to each GridS token: mlp, fourier or none. Unset: mlp (the paper's).
    grids_coord_embedding: str | None = None
    # What places GridS's points: pooled or heatmap (reducers grids, grids-nearest). Unset: pooled (the paper's).
    grids_coord_head: str | None = None
    # Any other reducer option, as JSON, e.g. {"init": "center"}.
    grids_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        super().__post_init__()
        if self.grids_reducer not in list_reducers():
            raise ValueError(
                f"grids_reducer={self.grids_reducer!r}; registered: {', '.join(list_reducers())}"
            )
        if not isinstance(self.grids_num_tokens, int) or self.grids_num_tokens < 1:
            raise ValueError(f"grids_num_tokens must be a positive int, got {self.grids_num_tokens!r}")
        if not isinstance(self.grids_options, dict):
            raise ValueError(f"grids_options must be a dict (JSON object), got {self.grids_options!r}")
        self.grids_reducer_options()  # validates the typed flags

    def grids_point_flags(self) -> dict[str, Any]:
        """The typed point flags that are set, by reducer option name."""
        flags = {
            "margin": self.grids_margin,
            "coord_embedding": self.grids_coord_embedding,
            "coord_head": self.grids_coord_head,
        }
        return {name: value for name, value in flags.items() if value is not None}

    def grids_reducer_options(self) -> dict[str, Any]:
        """``grids_options`` plus the typed flags that are set: the keyword arguments of ``make_reducer``."""
        flags = self.grids_point_flags()
        if flags and self.grids_reducer not in GRIDS_REDUCERS:
            names = ", ".join(f"grids_{name}" for name in flags)
            raise ValueError(
                f"{names} apply to the reducers {', '.join(GRIDS_REDUCERS)}, not grids_reducer={self.grids_reducer!r}"
            )
        twice = sorted(flags.keys() & self.grids_options.keys())
        if twice:
            name = twice[0]
            raise ValueError(
                f"{name} is set twice: grids_{name}={flags[name]!r} and grids_options[{name!r}]="
                f"{self.grids_options[name]!r}; keep the flag"
            )
        margin = flags.get("margin", 0.0)
        if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0.0 <= margin < 0.5:
            raise ValueError(f"grids_margin must be a number in [0, 0.5), got {margin!r}")
        if flags.get("coord_embedding", "mlp") not in COORD_EMBEDDINGS:
            raise ValueError(
                f"grids_coord_embedding must be one of {COORD_EMBEDDINGS}, got {flags['coord_embedding']!r}"
            )
        if flags.get("coord_head", "pooled") not in COORD_HEADS:
            raise ValueError(f"grids_coord_head must be one of {COORD_HEADS}, got {flags['coord_head']!r}")
        if "coord_head" in flags and self.grids_reducer == "grids-heatmap":
            raise ValueError("grids_coord_head: grids_reducer='grids-heatmap' is the heatmap head already")
        return {**self.grids_options, **flags}


@dataclass
class VLAGridSFields(GridSFields):
    """The flags of ``GridSFields`` plus two for the VLAs (π0, π0.5, SmolVLA): where SigLIP's tokens
    are reduced, and whether the reducer sees the instruction."""

    # Where to reduce (grids' resample_at_layer, under the plugin's name): "after" the vision tower and projector
    # (the paper's), or an int L: inside SigLIP, before its block L (0: right after the patch embedding), so later
    # blocks and the projector see K tokens.
    grids_placement: int | str = "after"
    # Task-aware points: the reducer also sees the instruction (the mean of its token embeddings).
    grids_task_context: bool = False

    def __post_init__(self):
        super().__post_init__()
        placement = self.grids_placement
        if isinstance(placement, str) and placement.isdigit():  # digits from the command line
            placement = int(placement)
        if placement != "after":  # grids' one validator; whether L is within SigLIP is checked at build time
            placement = check_resample_at_layer(placement, name="grids_placement", output="'after'")
        self.grids_placement = "after" if placement is None else placement
        if not isinstance(self.grids_task_context, bool):
            raise ValueError(f"grids_task_context must be true or false, got {self.grids_task_context!r}")

    def grids_resample_at_layer(self) -> int | None:
        """``grids_placement`` as grids spells it: None ("after") or the block index L."""
        return None if self.grids_placement == "after" else self.grids_placement


def build_reducer(config, *, dim: int, context_dim: int | None = None):
    """The configured reducer at width ``dim`` (task-aware: with ``context_dim``); an option it does not
    take is a ValueError naming it."""
    options = config.grids_reducer_options()
    if context_dim is not None:
        options["context_dim"] = context_dim
    try:
        # Reducers read values at init (their point layout): on CPU even inside torch.device("meta").
        with torch.device("cpu"):
            return make_reducer(config.grids_reducer, dim=dim, num_tokens=config.grids_num_tokens, **options)
    except (TypeError, ValueError) as err:  # the core names an option the reducer does not read, and its own
        raise ValueError(f"grids_reducer={config.grids_reducer!r}: {err}") from err


class ReducedImageEmbedding:
    """Mixed in front of a host embedder class: ``embed_image`` returns K tokens per image."""

    grids_resample_at_layer: int | None = None  # None: after the vision tower (grids_placement="after")
    grids_context: Tensor | None = None  # [B, D] instruction embedding, set by InstructionContext

    def grids_vision_tower(self) -> nn.Module:
        """The SigLIP whose blocks an int ``grids_placement`` indexes (hosts that allow one override this)."""
        raise NotImplementedError(f"{type(self).__name__} reduces after its vision tower only")

    def embed_image(self, image: Tensor) -> Tensor:
        if self.grids_resample_at_layer is None:
            return self._embed_then_reduce(image)
        return self._embed_reducing_inside(image)

    def _embed_reducing_inside(self, image: Tensor) -> Tensor:
        """The parent's embed_image with grids' in-encoder hook on SigLIP's block L for the call."""
        tower = self.grids_vision_tower()
        side = image.shape[-1] // tower.config.patch_size
        layer, reducer = self.grids_resample_at_layer, self.grids_reducer
        with resample_at_layer(tower, layer, reducer, grid_hw=(side, side)) as hook:
            hook.context = self.grids_context
            tokens = super().embed_image(image)  # [B, K, D]: blocks L.., post-norm, projector on K tokens
        self.grids_coords = hook.last.coords.detach()
        return tokens

    def _embed_then_reduce(self, image: Tensor) -> Tensor:
        tokens = super().embed_image(image)  # [B, N, D], N = side * side patch tokens
        side = math.isqrt(tokens.shape[1])
        if side * side != tokens.shape[1]:
            raise ValueError(f"expected a square grid of image tokens, got N={tokens.shape[1]}")
        reducer = self.grids_reducer
        dtype = next((p.dtype for p in reducer.parameters()), tokens.dtype)  # reducer stays float32
        reduced = reducer(tokens.to(dtype), grid_hw=(side, side), context=self.grids_context)
        self.grids_coords = reduced.coords.detach()  # [B, K, 2] of the last call, for inspection
        return reduced.tokens.to(tokens.dtype)


def instruction_embedding(embedder, tokens: Tensor, masks: Tensor) -> Tensor:
    """``[B, T]`` instruction tokens (+ their padding mask) -> ``[B, D]``, the mean of their embeddings."""
    embeddings = embedder.embed_language_tokens(tokens)  # [B, T, D]
    weights = masks[..., None].to(embeddings.dtype)
    return (embeddings * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1)


class InstructionContext:
    """Mixed in front of the host model class (``grids_task_context``): ``embed_prefix`` first hands the
    reducer the instruction, as grids' task-aware reducers take it (``context [B, context_dim]``).
    The context stays set after the call so that gradient checkpointing recomputes the same points."""

    grids_embedder: str  # the model's attribute holding the GridS embedder

    def embed_prefix(self, images, img_masks, tokens, masks, *args, **kwargs):
        embedder = getattr(self, self.grids_embedder)
        embedder.grids_context = instruction_embedding(embedder, tokens, masks)
        return super().embed_prefix(images, img_masks, tokens, masks, *args, **kwargs)


def vision_width(embedder) -> int:
    """SigLIP's width, once ``grids_placement=L`` is checked to be one of its block indices."""
    tower = embedder.grids_vision_tower()
    depth = len(find_blocks(tower))
    check_resample_at_layer(
        embedder.grids_resample_at_layer,
        depth,
        name="grids_placement",
        output="'after'",
        encoder=f"this {depth}-block SigLIP",
    )
    return tower.config.hidden_size


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
        embedder.grids_reducer = self.build_grids_reducer(config, embedder).to(config.device)

    def build_grids_reducer(self, config, embedder):
        return build_reducer(config, dim=self.image_token_dim(embedder))

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


class VLAGridSPolicyMixin(GridSPolicyMixin):
    """π0 / π0.5 / SmolVLA: the reducer may sit inside SigLIP (``grids_placement``) and see the
    instruction (``grids_task_context``)."""

    def __init__(self, config, **kwargs):
        super().__init__(config, **kwargs)
        if config.grids_task_context:
            self._pass_instruction_to_reducer()

    def build_grids_reducer(self, config, embedder):
        embedder.grids_resample_at_layer = config.grids_resample_at_layer()
        inside = embedder.grids_resample_at_layer is not None
        dim = vision_width(embedder) if inside else self.image_token_dim(embedder)
        # The projector's output width is the LM's token width: that of the instruction embedding.
        context_dim = self.image_token_dim(embedder) if config.grids_task_context else None
        return build_reducer(config, dim=dim, context_dim=context_dim)

    def _pass_instruction_to_reducer(self) -> None:
        model, name = self.embedder_path.rsplit(".", 1)
        model = operator.attrgetter(model)(self)
        model.__class__ = type(f"GridS{type(model).__name__}", (InstructionContext, type(model)), {})
        model.grids_embedder = name
