"""Where to reduce, and the one hook that reduces inside a ViT: blocks ``L..depth-1`` then see K tokens.

One concept, one name everywhere: ``resample_at_layer``, either ``None`` (reduce the encoder's output, the
paper's placement) or a block index ``L`` in ``[0, depth]`` (reduce the hidden states entering block ``L``).
:func:`check_resample_at_layer` is its one validator; :func:`resample_at_layer` its one hook, which the
adapters, the efficiency models, the benchmark policy and the LeRobot plugin all use.

The paper samples after the vision encoder, so the encoder still pays for every patch. Resampling
earlier saves the remaining blocks too:

    reducer = make_reducer("grids", dim=1152, num_tokens=16)
    with resample_at_layer(siglip, 0, reducer, grid_hw=(16, 16)) as hook:
        feats = siglip(pixel_values=images).last_hidden_state      # [B, 16, 1152]
    hook.last.coords                                               # [B, 16, 2], where it looked

``layer=L`` means "after block L-1": a forward *pre*-hook on block L replaces its input, so ``L = 0``
resamples after the patch embedding *and* the position embedding / prefix tokens (whatever the model
adds before its first block); ``L = depth`` resamples the last block's output (a forward hook).
Works with any ``nn.ModuleList`` / ``nn.Sequential`` of blocks taking ``[B, N, C]`` first, positionally
or as ``hidden_states=`` (HF SigLIP, timm ``VisionTransformer.blocks``, our benchmark ViT), and with
models that hold such a list at a known path (see :data:`BLOCK_PATHS`).
"""

from __future__ import annotations

from torch import Tensor, nn

from grids.core.reduced import Reduced
from grids.core.validation import check_grid_hw, check_int, is_int

# Where common ViTs keep their blocks: timm, HF SigLIP/CLIP/ViT (vision model or its wrapper), open_clip.
BLOCK_PATHS = (
    "blocks",
    "encoder.layers",
    "vision_model.encoder.layers",
    "encoder.layer",
    "vision_model.encoder.layer",
    "transformer.resblocks",
    "layers",
)


def check_resample_at_layer(
    layer: int | None,
    depth: int | None = None,
    *,
    name: str = "resample_at_layer",
    output: str | None = "None",
    encoder: str | None = None,
) -> int | None:
    """``layer`` if it says where to reduce: ``None`` (the encoder's output) or an int block index in ``[0, depth]``.

    ``depth=None`` checks the type and sign only (the encoder is not known yet). ``name`` and ``output`` are
    how the caller spells the setting and its "the encoder's output" value (the LeRobot plugin:
    ``grids_placement`` and ``'after'``; the hook itself, which needs a block: ``output=None``); ``encoder``
    describes the encoder in the message (default: "a {depth}-block encoder").
    """
    if layer is None and output is not None:
        return None
    allowed = "a block index L >= 0" if output is None else f"{output} or a block index L >= 0"
    if not is_int(layer) or layer < 0:
        raise ValueError(f"{name} must be {allowed}, got {layer!r}")
    if depth is not None and layer > depth:
        allowed = f"an int in [0, {depth}]" if output is None else f"{output} or an int in [0, {depth}]"
        raise ValueError(
            f"{name}={layer} is not a block of {encoder or f'a {depth}-block encoder'}: use {allowed}"
        )
    return int(layer)


def find_blocks(model: nn.Module) -> nn.ModuleList | nn.Sequential:
    """The transformer blocks of ``model`` (or ``model`` itself if it is a block list)."""
    if isinstance(model, (nn.ModuleList, nn.Sequential)):
        return model
    for path in BLOCK_PATHS:
        module = model
        for name in path.split("."):
            module = getattr(module, name, None)
            if module is None:
                break
        if isinstance(module, (nn.ModuleList, nn.Sequential)):
            return module
    raise TypeError(
        f"cannot find the blocks of {type(model).__name__}: pass the nn.ModuleList of blocks itself "
        f"(looked for {', '.join(BLOCK_PATHS)})"
    )


class ResampleAtLayer:
    """A removable hook that runs ``reducer`` on the hidden states entering block ``layer``.

    ``num_views=V``: the blocks run V camera views folded into the batch (``[B*V, N, C]``); the reducer
    sees them unfolded, ``[B, V, N, C]`` (a :class:`~grids.MultiViewReducer`), and its tokens are folded back.

    Attributes:
        last: the :class:`Reduced` of the latest forward (``coords`` for visualisation), or None.
        context: optional ``[B, context_dim]`` passed to the reducer (e.g. an instruction embedding);
            set it before the forward.
    """

    def __init__(
        self,
        model: nn.Module,
        layer: int,
        reducer: nn.Module,
        *,
        grid_hw: tuple[int, int],
        num_prefix_tokens: int = 0,
        num_views: int | None = None,
    ):
        blocks = find_blocks(model)
        depth = len(blocks)
        check_resample_at_layer(layer, depth, name="layer", output=None)
        check_int(num_views, "num_views", minimum=1, optional=True)
        reducer_prefix = getattr(reducer, "num_prefix_tokens", num_prefix_tokens)
        if reducer_prefix != num_prefix_tokens:
            raise ValueError(
                f"num_prefix_tokens={num_prefix_tokens} but the reducer was built with "
                f"num_prefix_tokens={reducer_prefix}"
            )
        self.layer, self.depth, self.reducer = layer, depth, reducer
        self.grid_hw, self.num_prefix_tokens, self.num_views = (
            check_grid_hw(grid_hw),
            num_prefix_tokens,
            num_views,
        )
        self.context: Tensor | None = None
        self.last: Reduced | None = None
        if layer < depth:
            self._handle = blocks[layer].register_forward_pre_hook(self._before_block, with_kwargs=True)
        else:
            self._handle = blocks[depth - 1].register_forward_hook(self._after_block)

    def _reduce(self, hidden: Tensor) -> Tensor:  # [B(*V), N, C] -> [B(*V), P + K', C]
        if self.num_views is not None:
            hidden = hidden.unflatten(0, (-1, self.num_views))  # [B, V, N, C]
        self.last = self.reducer(hidden, grid_hw=self.grid_hw, context=self.context)
        return self.last.tokens if self.num_views is None else self.last.tokens.flatten(0, 1)

    def _before_block(self, module, args, kwargs):
        if args:
            args = (self._reduce(args[0]), *args[1:])
        else:
            kwargs = {**kwargs, "hidden_states": self._reduce(kwargs["hidden_states"])}
        mask = args[1] if len(args) > 1 else kwargs.get("attention_mask")
        if isinstance(mask, Tensor):  # a mask sized for N tokens would silently mis-broadcast
            raise ValueError(
                f"block {self.layer} received an attention mask of shape {tuple(mask.shape)}; "
                "resampling cannot resize it: run the encoder without a mask"
            )
        return args, kwargs

    def _after_block(self, module, args, output):
        if isinstance(output, tuple):
            return (self._reduce(output[0]), *output[1:])
        return self._reduce(output)

    def remove(self) -> None:
        self._handle.remove()

    def __enter__(self) -> ResampleAtLayer:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def __repr__(self) -> str:
        return (
            f"ResampleAtLayer(layer={self.layer}/{self.depth}, grid_hw={self.grid_hw}, "
            f"num_prefix_tokens={self.num_prefix_tokens}, num_views={self.num_views}, "
            f"reducer={type(self.reducer).__name__})"
        )


def resample_at_layer(
    model: nn.Module,
    layer: int,
    reducer: nn.Module,
    *,
    grid_hw: tuple[int, int],
    num_prefix_tokens: int = 0,
    num_views: int | None = None,
) -> ResampleAtLayer:
    """Apply ``reducer`` to the ``[B, P + H*W, C]`` hidden states after block ``layer - 1`` of ``model``.

    ``model`` is a ViT (timm, HF SigLIP vision model, ...) or its list of blocks; ``layer`` in
    ``[0, depth]``; ``grid_hw`` the patch grid; ``num_prefix_tokens`` (CLS/registers) must match the
    reducer's and pass through; ``num_views`` for blocks that run views folded into the batch. Returns a
    :class:`ResampleAtLayer` (also a context manager); call ``.remove()`` to restore the dense encoder.
    """
    return ResampleAtLayer(
        model, layer, reducer, grid_hw=grid_hw, num_prefix_tokens=num_prefix_tokens, num_views=num_views
    )
