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
exactly. ``resample_at_layer=L`` (an int in ``[0, depth]``) reduces inside the SigLIP encoder before its
block L (``0``: right after the embeddings), so the remaining blocks, the post-norm, the pooling head and
the projector all run on K tokens. That runs the host's own forward with a :func:`grids.resample_at_layer`
hook on its encoder blocks for the duration of the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import transformers
from torch import Tensor, nn
from transformers import AutoConfig
from transformers.modeling_outputs import BaseModelOutputWithPooling

from grids.adapters.base import AdapterSpec, ReducingAdapter
from grids.core import check_resample_at_layer, resample_at_layer


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


def _siglip_blocks(vision_model: nn.Module) -> nn.ModuleList:
    return _siglip_core(vision_model).encoder.layers


class _HFAdapter(ReducingAdapter):
    """What the transformers adapters share: the host's config, token count, saving and loading."""

    patch_size: int

    @property
    def config(self):
        return self.host.config

    def num_output_tokens(self, image_hw: tuple[int, int]) -> int:
        return self.reducer.num_output_tokens(
            (image_hw[0] // self.patch_size, image_hw[1] // self.patch_size)
        )

    def _save_host(self, directory: Path) -> None:
        self.host.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path, host: nn.Module | None = None):
        """Rebuild from :meth:`save_pretrained`; the host class is read from its ``config.json``."""
        spec = cls.read_spec(directory)
        host = host if host is not None else _load_hf_host(directory)
        adapter = cls(host, spec.reducer, **cls.spec_arguments(spec))
        adapter.load_reducer_weights(directory)
        return adapter

    @staticmethod
    def spec_arguments(spec: AdapterSpec) -> dict:
        """The keyword arguments that rebuild an adapter of ``spec`` (besides host and reducer name)."""
        return dict(num_tokens=spec.num_tokens, resample_at_layer=spec.resample_at_layer, **spec.options)


class GridSVisionModel(_HFAdapter):
    """Wrap a ``SiglipVisionModel`` so that ``last_hidden_state`` holds K reduced tokens per image.

    Args:
        vision_model: the host (e.g. ``SiglipVisionModel``); wrapped, never copied.
        reducer: a registered reducer name (``grids.list_reducers()``).
        num_tokens: K.
        resample_at_layer: ``None`` (reduce after the post-norm; the pooling head still sees all tokens) or
            an int L, reducing inside the encoder before its block L.
        **options: passed to the reducer (e.g. ``context_dim=384`` for a task-aware ``grids``).
    """

    def __init__(
        self,
        vision_model: nn.Module,
        reducer: str = "grids",
        *,
        num_tokens: int = 16,
        resample_at_layer: int | None = None,
        **options,
    ):
        depth = len(_siglip_blocks(vision_model))  # checks that it is SigLIP-style first
        config = vision_model.config
        check_resample_at_layer(resample_at_layer, depth)
        spec = AdapterSpec(reducer, num_tokens, resample_at_layer, options)
        super().__init__(vision_model, spec.build(config.hidden_size), spec)
        self.patch_size = config.patch_size

    def forward(
        self,
        pixel_values: Tensor,
        *,
        context: Tensor | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs,
    ) -> ReducedVisionOutput:
        grid_hw = _grid_hw(pixel_values, self.patch_size)
        if self.spec.resample_at_layer is not None:
            if kwargs:
                raise TypeError(
                    f"resample_at_layer={self.spec.resample_at_layer} does not support {sorted(kwargs)}"
                )
            with resample_at_layer(
                _siglip_blocks(self.host), self.spec.resample_at_layer, self.reducer, grid_hw=grid_hw
            ) as hook:
                hook.context = context
                out = self.host(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
            return ReducedVisionOutput(
                out.last_hidden_state, out.pooler_output, coords=hook.last.coords, indices=hook.last.indices
            )
        out = self.host(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs)
        reduced = self.reducer(out.last_hidden_state, grid_hw=grid_hw, context=context)
        return ReducedVisionOutput(
            last_hidden_state=reduced.tokens,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
            coords=reduced.coords,
            indices=reduced.indices,
        )


class GridSImageFeatures(_HFAdapter):
    """PaliGemma's ``get_image_features`` returning K tokens per image in ``pooler_output``.

    π0 / π0.5 (LeRobot, openpi's PyTorch port) embed images with
    ``paligemma.model.get_image_features(pixel_values).pooler_output`` ``[B, 256, D_text]``; this module
    is a drop-in for that call.

    Args:
        vlm: ``PaliGemmaForConditionalGeneration`` or ``PaliGemmaModel`` (anything with
            ``vision_tower``, ``multi_modal_projector`` and ``get_image_features``, or whose ``.model``
            has them). Wrapped, never copied.
        resample_at_layer: ``None`` (after SigLIP) or an int L (inside SigLIP, before its block L).
        project_first: with ``resample_at_layer=None``, reduce the projected tokens (``True``, the default,
            as in the paper's code) or SigLIP's output, so that the projector runs on K tokens (``False``).
            With an int L the projector runs on K tokens anyway: ``True`` is then an error.
    """

    def __init__(
        self,
        vlm: nn.Module,
        reducer: str = "grids",
        *,
        num_tokens: int = 16,
        resample_at_layer: int | None = None,
        project_first: bool | None = None,
        **options,
    ):
        inner = getattr(vlm, "model", vlm)
        if not (hasattr(inner, "vision_tower") and hasattr(inner, "multi_modal_projector")):
            raise TypeError(f"expected a PaliGemma-style model, got {type(vlm).__name__}")
        vision_config = inner.config.vision_config
        check_resample_at_layer(resample_at_layer, len(_siglip_blocks(inner.vision_tower)))
        if project_first is None:
            project_first = resample_at_layer is None
        elif not isinstance(project_first, bool) or (project_first and resample_at_layer is not None):
            raise ValueError(
                f"project_first={project_first!r}: it must be a bool, and False with resample_at_layer="
                f"{resample_at_layer} (the reducer then runs inside SigLIP, before the projector)"
            )
        dim = vision_config.projection_dim if project_first else vision_config.hidden_size
        spec = AdapterSpec(reducer, num_tokens, resample_at_layer, options, project_first)
        super().__init__(vlm, spec.build(dim), spec)
        self.patch_size = vision_config.patch_size

    def forward(
        self, pixel_values: Tensor, *, context: Tensor | None = None, **kwargs
    ) -> ReducedVisionOutput:
        grid_hw = _grid_hw(pixel_values, self.patch_size)
        inner = getattr(self.host, "model", self.host)
        layer = self.spec.resample_at_layer
        if not self.spec.project_first and kwargs:
            raise TypeError(f"project_first=False ({self.spec}) does not support {sorted(kwargs)}")
        if self.spec.project_first:
            out = self.host.get_image_features(pixel_values, **kwargs)
            reduced = self.reducer(out.pooler_output, grid_hw=grid_hw, context=context)
            vision_tokens, projected = out.last_hidden_state, reduced.tokens
        elif layer is None:  # after SigLIP's post-norm, exactly what get_image_features projects
            reduced = self.reducer(
                inner.vision_tower(pixel_values).last_hidden_state, grid_hw=grid_hw, context=context
            )
            vision_tokens = reduced.tokens
            projected = inner.multi_modal_projector(vision_tokens)
        else:  # the host's get_image_features with K tokens from block L on
            with resample_at_layer(
                _siglip_blocks(inner.vision_tower), layer, self.reducer, grid_hw=grid_hw
            ) as hook:
                hook.context = context
                out = self.host.get_image_features(pixel_values)
            reduced = hook.last
            vision_tokens, projected = out.last_hidden_state, out.pooler_output
        return ReducedVisionOutput(
            last_hidden_state=vision_tokens,
            pooler_output=projected,
            coords=reduced.coords,
            indices=reduced.indices,
        )

    get_image_features = forward  # the name the host's callers use

    @staticmethod
    def spec_arguments(spec: AdapterSpec) -> dict:
        return dict(_HFAdapter.spec_arguments(spec), project_first=spec.project_first)


def _load_hf_host(directory: str | Path) -> nn.Module:
    config = AutoConfig.from_pretrained(directory)
    architectures = getattr(config, "architectures", None) or []
    if not architectures or not hasattr(transformers, architectures[0]):
        raise ValueError(f"{directory}/config.json names no known architecture ({architectures}); pass host=")
    return getattr(transformers, architectures[0]).from_pretrained(directory)
