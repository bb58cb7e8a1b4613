"""GridS for Hugging Face transformers: SigLIP vision towers and PaliGemma's image path.

    from transformers import SiglipVisionConfig, SiglipVisionModel
    from grids.adapters.transformers import GridSVisionModel

    siglip = SiglipVisionModel(SiglipVisionConfig(image_size=224, patch_size=14))  # or .from_pretrained
    model = GridSVisionModel(siglip, "grids", num_tokens=16)
    out = model(pixel_values)          # out.last_hidden_state [B, 16, C], out.coords [B, 16, 2]

    vlm = PaliGemmaForConditionalGeneration.from_pretrained(...)
    images = GridSImageFeatures(vlm, "grids", num_tokens=16)
    out = images(pixel_values)         # like vlm.get_image_features: out.pooler_output [B, 16, D_text]

Both wrap the host (``model.host is siglip``); with ``"dense"`` they return the host's outputs
exactly. ``placement=L`` (an int) reduces inside the SigLIP encoder after its first L blocks, so the
remaining blocks, the post-norm, the pooling head and the projector all run on K tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import transformers
from torch import Tensor, nn
from transformers import AutoConfig
from transformers.modeling_outputs import BaseModelOutputWithPooling

from grids.adapters.base import AdapterSpec, ReducingAdapter, check_placement
from grids.core import Reduced


@dataclass
class ReducedVisionOutput(BaseModelOutputWithPooling):
    """The host's output with reduced tokens, plus where the reducer looked."""

    coords: Tensor | None = None  # [B, K', 2] (x, y) in [0, 1]
    indices: Tensor | None = None  # [B, K'] for discrete reducers


def _siglip_core(vision_model: nn.Module) -> nn.Module:
    """The module holding ``embeddings``/``encoder``/``post_layernorm`` (transformers 5.x flattened
    ``SiglipVisionModel``; older versions nest it under ``.vision_model``)."""
    core = vision_model if hasattr(vision_model, "encoder") else getattr(vision_model, "vision_model", None)
    if core is None or not all(hasattr(core, a) for a in ("embeddings", "encoder", "post_layernorm")):
        raise TypeError(
            f"expected a SigLIP-style vision model (embeddings, encoder.layers, post_layernorm), "
            f"got {type(vision_model).__name__}"
        )
    return core


def _grid_hw(pixel_values: Tensor, patch_size: int) -> tuple[int, int]:
    if pixel_values.dim() != 4:
        raise ValueError(f"pixel_values must have shape [B, 3, H, W], got {tuple(pixel_values.shape)}")
    return pixel_values.shape[-2] // patch_size, pixel_values.shape[-1] // patch_size


def siglip_forward_in_encoder(
    vision_model: nn.Module,
    pixel_values: Tensor,
    reduce,
    *,
    layer: int,
    interpolate_pos_encoding: bool = False,
) -> tuple[Tensor, Tensor | None, Reduced]:
    """SigLIP's forward with ``reduce(tokens) -> Reduced`` applied after the first ``layer`` blocks.

    The host's own submodules run in the host's order (embeddings, blocks, post-norm, head); only the
    token count changes between blocks. Returns ``(last_hidden_state, pooler_output, reduced)``.
    """
    core = _siglip_core(vision_model)
    hidden = core.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
    blocks = core.encoder.layers
    reduced = None
    for index, block in enumerate(blocks):
        if index == layer:
            reduced = reduce(hidden)
            hidden = reduced.tokens
        hidden = block(hidden, None)
    if reduced is None:  # layer == depth: after the last block, before the post-norm
        reduced = reduce(hidden)
        hidden = reduced.tokens
    hidden = core.post_layernorm(hidden)
    pooled = core.head(hidden) if getattr(core, "use_head", False) else None
    return hidden, pooled, reduced


class GridSVisionModel(ReducingAdapter):
    """Wrap a ``SiglipVisionModel`` so that ``last_hidden_state`` holds K reduced tokens per image.

    Args:
        vision_model: the host (e.g. ``SiglipVisionModel``); wrapped, never copied.
        reducer: a registered reducer name (``grids.list_reducers()``).
        num_tokens: K.
        placement: ``"output"`` (after the post-norm; the pooling head still sees all tokens) or an
            int L, reducing inside the encoder after block L.
        **options: passed to the reducer (e.g. ``context_dim=384`` for a task-aware ``grids``).
    """

    def __init__(
        self,
        vision_model: nn.Module,
        reducer: str = "grids",
        *,
        num_tokens: int = 16,
        placement: str | int = "output",
        **options,
    ):
        core = _siglip_core(vision_model)
        config = vision_model.config
        check_placement(placement, ("output",), len(core.encoder.layers))
        spec = AdapterSpec(reducer, num_tokens, placement, options)
        super().__init__(vision_model, spec.build(config.hidden_size), spec)
        self.patch_size = config.patch_size

    @property
    def config(self):
        return self.host.config

    def num_output_tokens(self, image_hw: tuple[int, int]) -> int:
        return self.reducer.num_output_tokens(
            (image_hw[0] // self.patch_size, image_hw[1] // self.patch_size)
        )

    def forward(
        self,
        pixel_values: Tensor,
        *,
        context: Tensor | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs,
    ) -> ReducedVisionOutput:
        grid_hw = _grid_hw(pixel_values, self.patch_size)
        reduce = lambda tokens: self.reducer(tokens, grid_hw=grid_hw, context=context)  # noqa: E731
        if isinstance(self.spec.placement, int):
            if kwargs:
                raise TypeError(f"in-encoder placement does not support {sorted(kwargs)}")
            hidden, pooled, reduced = siglip_forward_in_encoder(
                self.host,
                pixel_values,
                reduce,
                layer=self.spec.placement,
                interpolate_pos_encoding=interpolate_pos_encoding,
            )
            return ReducedVisionOutput(hidden, pooled, coords=reduced.coords, indices=reduced.indices)
        out = self.host(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs)
        reduced = reduce(out.last_hidden_state)
        return ReducedVisionOutput(
            last_hidden_state=reduced.tokens,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
            coords=reduced.coords,
            indices=reduced.indices,
        )

    def _save_host(self, directory: Path) -> None:
        self.host.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, host: nn.Module | None = None) -> GridSVisionModel:
        """Rebuild from :meth:`save_pretrained`; the host class is read from its ``config.json``."""
        spec = cls.read_spec(directory)
        host = host if host is not None else _load_hf_host(directory)
        adapter = cls(
            host, spec.reducer, num_tokens=spec.num_tokens, placement=spec.placement, **spec.options
        )
        adapter.load_reducer_weights(directory)
        return adapter


class GridSImageFeatures(ReducingAdapter):
    """PaliGemma's ``get_image_features`` returning K tokens per image in ``pooler_output``.

    π0 / π0.5 (LeRobot, openpi's PyTorch port) embed images with
    ``paligemma.model.get_image_features(pixel_values).pooler_output`` ``[B, 256, D_text]``; this module
    is a drop-in for that call.

    Args:
        vlm: ``PaliGemmaForConditionalGeneration`` or ``PaliGemmaModel`` (anything with
            ``vision_tower``, ``multi_modal_projector`` and ``get_image_features``, or whose ``.model``
            has them). Wrapped, never copied.
        placement: ``"projected"`` (after the projector, as in the paper's code), ``"vision"`` (after
            SigLIP, so the projector runs on K tokens), or an int L (inside SigLIP after block L).
    """

    def __init__(
        self,
        vlm: nn.Module,
        reducer: str = "grids",
        *,
        num_tokens: int = 16,
        placement: str | int = "projected",
        **options,
    ):
        inner = getattr(vlm, "model", vlm)
        if not (hasattr(inner, "vision_tower") and hasattr(inner, "multi_modal_projector")):
            raise TypeError(f"expected a PaliGemma-style model, got {type(vlm).__name__}")
        vision_config = inner.config.vision_config
        depth = len(_siglip_core(inner.vision_tower).encoder.layers)
        check_placement(placement, ("projected", "vision"), depth)
        dim = vision_config.projection_dim if placement == "projected" else vision_config.hidden_size
        spec = AdapterSpec(reducer, num_tokens, placement, options)
        super().__init__(vlm, spec.build(dim), spec)
        self.patch_size = vision_config.patch_size

    @property
    def config(self):
        return self.host.config

    def num_output_tokens(self, image_hw: tuple[int, int]) -> int:
        return self.reducer.num_output_tokens(
            (image_hw[0] // self.patch_size, image_hw[1] // self.patch_size)
        )

    def forward(
        self, pixel_values: Tensor, *, context: Tensor | None = None, **kwargs
    ) -> ReducedVisionOutput:
        grid_hw = _grid_hw(pixel_values, self.patch_size)
        reduce = lambda tokens: self.reducer(tokens, grid_hw=grid_hw, context=context)  # noqa: E731
        inner = getattr(self.host, "model", self.host)
        placement = self.spec.placement
        if placement == "projected":
            out = self.host.get_image_features(pixel_values, **kwargs)
            reduced = reduce(out.pooler_output)
            vision_tokens = out.last_hidden_state
        else:
            if kwargs:
                raise TypeError(f"placement={placement!r} does not support {sorted(kwargs)}")
            if placement == "vision":  # after SigLIP's post-norm, exactly what get_image_features projects
                reduced = reduce(inner.vision_tower(pixel_values).last_hidden_state)
            else:
                hidden, _, reduced = siglip_forward_in_encoder(
                    inner.vision_tower, pixel_values, reduce, layer=placement
                )
                reduced.tokens = hidden  # the post-norm tokens, K of them
            vision_tokens = reduced.tokens
            reduced.tokens = inner.multi_modal_projector(vision_tokens)
        return ReducedVisionOutput(
            last_hidden_state=vision_tokens,
            pooler_output=reduced.tokens,
            coords=reduced.coords,
            indices=reduced.indices,
        )

    get_image_features = forward  # the name the host's callers use

    def _save_host(self, directory: Path) -> None:
        self.host.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, host: nn.Module | None = None) -> GridSImageFeatures:
        spec = cls.read_spec(directory)
        host = host if host is not None else _load_hf_host(directory)
        adapter = cls(
            host, spec.reducer, num_tokens=spec.num_tokens, placement=spec.placement, **spec.options
        )
        adapter.load_reducer_weights(directory)
        return adapter


def _load_hf_host(directory: str | Path) -> nn.Module:
    config = AutoConfig.from_pretrained(directory)
    architectures = getattr(config, "architectures", None) or []
    if not architectures or not hasattr(transformers, architectures[0]):
        raise ValueError(f"{directory}/config.json names no known architecture ({architectures}); pass host=")
    return getattr(transformers, architectures[0]).from_pretrained(directory)
