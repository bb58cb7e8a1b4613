"""GridS for timm Vision Transformers (``VisionTransformer`` and its registered variants).

    import timm
    from grids.adapters.timm import GridSTimmViT

    vit = timm.create_model("vit_small_patch16_224", pretrained=False, num_classes=0)
    model = GridSTimmViT(vit, "grids", num_tokens=16)
    feats = model.forward_features(images)    # [B, 1 + 16, 384]: CLS first, then 16 sampled tokens
    out = model.forward_reduced(images)       # the same tokens + out.coords [B, 16, 2] (+ out.indices)
    pooled = model(images)                    # the host's own head on the reduced tokens

Prefix tokens (CLS, registers: ``vit.num_prefix_tokens`` of them) are never reduced: they pass
through first, unchanged. With ``"dense"`` every output equals the host's exactly. ``resample_at_layer=L``
(an int in ``[0, depth]``) reduces inside the encoder before its block L (``0``: right after the
patch/position embedding and prefix tokens), so the remaining blocks and the final norm run on P + K
tokens: the host's own ``forward_features`` runs with a :func:`grids.resample_at_layer` hook on
``host.blocks`` for the duration of the call.
"""

from __future__ import annotations

import json
from pathlib import Path

import timm
from torch import Tensor, nn

from grids.adapters.base import AdapterSpec, ReducingAdapter
from grids.core import Reduced, check_resample_at_layer, resample_at_layer

TIMM_CONFIG = "timm_config.json"
HOST_WEIGHTS = "model.safetensors"  # the file name timm's own loader looks for


def _check_vit(model: nn.Module) -> None:
    needed = ("patch_embed", "_pos_embed", "patch_drop", "norm_pre", "blocks", "norm", "num_prefix_tokens")
    missing = [name for name in needed if not hasattr(model, name)]
    if missing:
        raise TypeError(f"expected a timm VisionTransformer, {type(model).__name__} lacks {missing}")


class GridSTimmViT(ReducingAdapter):
    """Wrap a timm ViT so its token features hold ``P + K`` tokens per image (P prefix tokens first).

    Args:
        model: the host ``timm`` ViT; wrapped, never copied.
        reducer: a registered reducer name (``grids.list_reducers()``).
        num_tokens: K, patch tokens kept per image.
        resample_at_layer: ``None`` (reduce after the final norm) or an int L (inside the encoder, before
            its block L).
        **options: passed to the reducer.
    """

    def __init__(
        self,
        model: nn.Module,
        reducer: str = "grids",
        *,
        num_tokens: int = 16,
        resample_at_layer: int | None = None,
        **options,
    ):
        _check_vit(model)
        check_resample_at_layer(resample_at_layer, len(model.blocks))
        spec = AdapterSpec(reducer, num_tokens, resample_at_layer, options)
        super().__init__(model, spec.build(model.embed_dim, num_prefix_tokens=model.num_prefix_tokens), spec)

    @property
    def num_prefix_tokens(self) -> int:
        return self.host.num_prefix_tokens

    def grid_hw(self, image_hw: tuple[int, int]) -> tuple[int, int]:
        patch_embed = self.host.patch_embed
        if hasattr(patch_embed, "dynamic_feat_size"):
            return tuple(patch_embed.dynamic_feat_size(tuple(image_hw)))
        return tuple(patch_embed.grid_size)

    def num_output_tokens(self, image_hw: tuple[int, int]) -> int:
        """K': patch tokens out per image (prefix tokens not counted)."""
        return self.reducer.num_output_tokens(self.grid_hw(image_hw))

    def forward_reduced(self, x: Tensor, *, context: Tensor | None = None) -> Reduced:
        """``x [B, 3, H, W]`` -> ``Reduced(tokens [B, P + K', C], coords [B, K', 2], indices)``."""
        if x.dim() != 4:
            raise ValueError(f"x must have shape [B, 3, H, W], got {tuple(x.shape)}")
        grid_hw = self.grid_hw(x.shape[-2:])
        layer = self.spec.resample_at_layer
        if layer is None:
            return self.reducer(self.host.forward_features(x), grid_hw=grid_hw, context=context)
        # The host's forward_features, with the reducer on the tokens entering blocks[L]. timm's
        # gradient checkpointing (checkpoint_seq) would recompute blocks[L] in the backward pass, after
        # the hook is gone, so it is off for this call.
        host, checkpointing = self.host, getattr(self.host, "grad_checkpointing", False)
        try:
            host.grad_checkpointing = False
            with resample_at_layer(
                host.blocks,
                layer,
                self.reducer,
                grid_hw=grid_hw,
                num_prefix_tokens=self.num_prefix_tokens,
            ) as hook:
                hook.context = context
                tokens = host.forward_features(x)
        finally:
            host.grad_checkpointing = checkpointing
        # The tokens after the remaining blocks and the final norm: [B, P + K', C].
        return hook.last.replace(tokens=tokens)

    def forward_features(self, x: Tensor, *, context: Tensor | None = None) -> Tensor:
        """Like ``timm``'s ``forward_features``: ``[B, P + K', C]``."""
        return self.forward_reduced(x, context=context).tokens

    def forward_head(self, x: Tensor, pre_logits: bool = False) -> Tensor:
        """The host's pooling and head (``global_pool="token"`` reads CLS, ``"avg"`` the K tokens)."""
        return self.host.forward_head(x, pre_logits=pre_logits)

    def forward(self, x: Tensor, *, context: Tensor | None = None) -> Tensor:
        return self.forward_head(self.forward_features(x, context=context))

    def forward_intermediates(self, x: Tensor, indices=None, *, context: Tensor | None = None, **kwargs):
        """``timm``'s ``forward_intermediates`` with the final features reduced.

        Intermediates come from the host untouched (dense maps, e.g. for a feature pyramid), so this
        needs ``resample_at_layer=None``. The result has the host's form: ``(final, intermediates)``, a
        list when ``intermediates_only=True``, or a dict whose ``image_features`` is reduced.
        """
        if self.spec.resample_at_layer is not None:
            raise NotImplementedError(
                f"forward_intermediates with resample_at_layer={self.spec.resample_at_layer}: intermediates "
                "from that block on are no longer a dense grid; use forward_reduced"
            )
        out = self.host.forward_intermediates(x, indices, **kwargs)
        if kwargs.get("intermediates_only"):
            return out
        reduce = lambda t: self.reducer(t, grid_hw=self.grid_hw(x.shape[-2:]), context=context).tokens  # noqa: E731
        if isinstance(out, dict):
            return {**out, "image_features": reduce(out["image_features"])}
        final, intermediates = out
        return reduce(final), intermediates

    # -- saving ---------------------------------------------------------------------------------
    def _save_host(self, directory: Path) -> None:
        from safetensors.torch import save_file

        state = {k: v.detach().contiguous() for k, v in self.host.state_dict().items()}
        save_file(state, directory / HOST_WEIGHTS)
        architecture = getattr(self.host, "pretrained_cfg", {}).get("architecture")
        (directory / TIMM_CONFIG).write_text(json.dumps({"architecture": architecture}, indent=2) + "\n")

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, host: nn.Module | None = None, **create_kwargs
    ) -> GridSTimmViT:
        """Rebuild from :meth:`save_pretrained`.

        ``host``: a freshly built model of the same shape; if omitted, ``timm.create_model(architecture,
        pretrained=False, **create_kwargs)`` with the saved architecture name (pass the same
        ``num_classes``, ``img_size``... you built the original with).
        """
        from safetensors.torch import load_file

        directory = Path(directory)
        spec = cls.read_spec(directory)
        if host is None:
            architecture = json.loads((directory / TIMM_CONFIG).read_text())["architecture"]
            if architecture is None:
                raise ValueError(f"{directory / TIMM_CONFIG} names no architecture; pass host=")
            host = timm.create_model(architecture, pretrained=False, **create_kwargs)
        host.load_state_dict(load_file(directory / HOST_WEIGHTS), strict=True)
        adapter = cls(
            host,
            spec.reducer,
            num_tokens=spec.num_tokens,
            resample_at_layer=spec.resample_at_layer,
            **spec.options,
        )
        adapter.load_reducer_weights(directory)
        return adapter
