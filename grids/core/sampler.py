"""GridS: predict K continuous points from the dense map, read features there, inject geometry.

Feng et al., "See What Matters: Differentiable Grid Sample Pruning for Generalizable
Vision-Language-Action Model", ICML 2026 (arXiv 2605.11817).

    coords = head(feature_map, context)                    # [B, K, 2] (context: task-aware, optional)
    tokens = sample(feature_map, coords) + embed(coords)   # [B, K, C] ("geometry injection")

The default head is the paper's, LayerNorm(mean_{h,w} feature_map) -> MLP -> sigmoid; the heatmap
head predicts K score maps and takes their soft-argmax (see ``grids/core/coord_heads.py``).
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import Tensor, nn

from grids.core.coord_heads import HeatmapHead, PooledHead, head_option_names, make_coord_head
from grids.core.reduced import Reduced
from grids.core.sampling import MODES, sample_tokens
from grids.core.validation import (
    check_context,
    check_feature_map,
    check_finite,
    check_int,
    check_num_tokens,
    check_number,
    check_same_dtype,
)

COORD_EMBEDDINGS = ("mlp", "fourier", None)


class FourierCoordEmbedding(nn.Module):
    """Fixed sin/cos features of (x, y) at octave frequencies, then a linear map to ``dim``."""

    def __init__(self, dim: int, *, num_frequencies: int = 8):
        super().__init__()
        self.register_buffer("frequencies", math.pi * 2.0 ** torch.arange(num_frequencies), persistent=False)
        self.proj = nn.Linear(4 * num_frequencies, dim)

    def forward(self, coords: Tensor) -> Tensor:  # [B, K, 2] -> [B, K, dim]
        angles = coords.unsqueeze(-1) * self.frequencies  # [B, K, 2, F]
        features = torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)
        return self.proj(features.to(self.proj.weight.dtype))


def make_coord_embedding(kind: str | None, dim: int, *, hidden_dim: int = 256) -> nn.Module | None:
    if kind == "mlp":  # the authors' coordinate encoder: Dense(256) -> ReLU -> Dense(C)
        return nn.Sequential(nn.Linear(2, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim))
    if kind == "fourier":
        return FourierCoordEmbedding(dim)
    if kind is None or kind == "none":
        return None
    raise ValueError(f"coord_embedding must be one of {COORD_EMBEDDINGS}, got {kind!r}")


class GridSampler(nn.Module):
    """Reduce a dense token map ``[B, H, W, C]`` to K tokens at learned continuous positions.

    Args:
        dim: channel width C of the feature map (and of the output tokens).
        num_tokens: K, the number of points (and tokens) per image.
        context_dim: width of an optional context vector (instruction embedding, robot state) that
            makes the coordinates task-aware. The authors' code sees pooled visual features only.
        coord_head: ``"pooled"`` (the paper's: pooled features -> MLP -> sigmoid) or ``"heatmap"``
            (K score maps -> soft-argmax; points can follow content). See ``grids.core.coord_heads``.
        init: ``"spread"`` (ours: the K points start spread over the image) or ``"center"`` (the
            authors': they all start at the centre).
        hidden_dim: width of the pooled head's MLP (default 512, the authors'); the heatmap head has none.
        coord_embedding: ``"mlp"`` (authors'), ``"fourier"``, or ``None`` (ablation: no geometry).
        margin: keep points in ``[margin, 1 - margin]``.
        normalize_input: LayerNorm on the features (and on the context) before the head. For the
            context it matters: a unit-norm sentence embedding (MiniLM: 384 values of ~0.05) would
            otherwise reach the head ~20x weaker than the normalised visual features.
        mode: ``"bilinear"``, ``"nearest"`` (ablation) or ``"area"`` (each point reads the mean over its
            share of the image, one cell of the K-point grid; see :func:`grids.core.sampling.box_filtered`).
        jitter: training only — Gaussian noise of this standard deviation, in cells of the grid, added to
            every predicted point before it reads (stochastic points, a regulariser akin to the fresh draws of
            ``random``); evaluation reads at the predicted points.
        redraw: training only — the probability that a point is dropped and read instead at a uniform random
            position (point dropout; ``redraw=1`` reads fresh uniform points every sample, as ``random`` draws
            fresh patches, but continuous and bilinear); the kept points learn, evaluation reads the predicted ones.
        head_options: passed to the head (pooled: ``image_input``, ``reach``; heatmap: ``key_dim``,
            ``temperature``, ``learn_temperature``, ``prior_width``).

    An option the chosen head does not read (``hidden_dim`` or ``key_dim`` with the other head) is an
    error, and so is a context that does not match ``context_dim`` (given without it, missing with it,
    or of another shape). ``feature_map`` must have the dtype of the sampler's parameters (or run under
    ``torch.autocast``).
    """

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int,
        context_dim: int | None = None,
        coord_head: str = "pooled",
        init: str = "spread",
        hidden_dim: int | None = None,
        coord_embedding: str | None = "mlp",
        margin: float = 0.0,
        normalize_input: bool = True,
        mode: str = "bilinear",
        jitter: float = 0.0,
        redraw: float = 0.0,
        **head_options,
    ):
        super().__init__()
        check_int(dim, "dim", minimum=1)
        check_num_tokens(num_tokens)
        check_int(context_dim, "context_dim", minimum=1, optional=True)
        check_number(margin, "margin", low=0, high=0.5, ends="[)")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        check_number(jitter, "jitter", low=0, ends="[)", meaning="a number of cells")
        check_number(redraw, "redraw", low=0, high=1, meaning="a probability")
        self.jitter, self.redraw = float(jitter), float(redraw)
        self.dim, self.num_tokens, self.margin, self.mode = dim, num_tokens, margin, mode
        self.context_dim, self.coord_head = context_dim, coord_head
        if coord_head == "pooled":
            head_options.update(hidden_dim=512 if hidden_dim is None else hidden_dim, reset=False)
        elif hidden_dim is not None:
            raise ValueError(
                f"hidden_dim={hidden_dim!r} is the width of the pooled head's MLP; coord_head={coord_head!r} "
                "has none (its options: key_dim, temperature, learn_temperature, prior_width)"
            )
        self.head = make_coord_head(
            coord_head,
            dim=dim,
            num_tokens=num_tokens,
            context_dim=context_dim,
            margin=margin,
            normalize_input=normalize_input,
            init=init,
            **head_options,
        )
        self.coord_embed = make_coord_embedding(coord_embedding, dim)
        if coord_head == "pooled":  # drawn last, as before coordinate heads: same seed, same sampler
            self.head.reset_coords()

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Every keyword it takes besides ``dim`` and ``num_tokens``, its heads' options included."""
        own = tuple(
            p.name for p in inspect.signature(cls.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY
        )
        heads = {*head_option_names(PooledHead), *head_option_names(HeatmapHead)}
        return tuple(sorted({*own, *heads} - {"dim", "num_tokens", "reset"}))

    def predict_coords(self, feature_map: Tensor, context: Tensor | None = None) -> Tensor:
        """``[B, H, W, C]`` (+ ``[B, context_dim]``) -> ``[B, K, 2]`` coordinates in ``[0, 1]``."""
        self._check_inputs(feature_map, context)
        return self.head(feature_map, context)

    def forward(self, feature_map: Tensor, context: Tensor | None = None) -> Reduced:
        """``feature_map: [B, H, W, C]`` (floating point, H, W >= 1) -> ``Reduced(tokens [B, K, C], coords [B, K, 2])``."""
        coords = self.predict_coords(feature_map, context)
        if self.training and self.jitter:
            coords = self._jittered(coords, feature_map.shape[1:3])
        if self.training and self.redraw:
            coords = self._redrawn(coords)
        tokens = sample_tokens(feature_map, coords, mode=self.mode)
        if self.coord_embed is not None:
            tokens = tokens + self.coord_embed(coords.to(tokens.dtype)).to(tokens.dtype)
        return Reduced(tokens, coords)

    def _jittered(self, coords: Tensor, grid_hw: tuple[int, int]) -> Tensor:  # [B, K, 2] -> [B, K, 2]
        height, width = grid_hw
        cell = coords.new_tensor([1 / max(width - 1, 1), 1 / max(height - 1, 1)])  # one cell in (x, y)
        return (coords + torch.randn_like(coords) * self.jitter * cell).clamp(self.margin, 1 - self.margin)

    def _redrawn(self, coords: Tensor) -> Tensor:  # [B, K, 2] -> [B, K, 2]
        dropped = torch.rand(coords.shape[:2], device=coords.device) < self.redraw  # [B, K]
        uniform = self.margin + torch.rand_like(coords) * (1 - 2 * self.margin)
        return torch.where(dropped[..., None], uniform, coords)

    def _check_inputs(self, feature_map: Tensor, context: Tensor | None) -> None:
        check_feature_map(feature_map)  # before pooling: an empty or integer map must not reach the MLP
        if feature_map.shape[-1] != self.dim:
            raise ValueError(
                f"feature_map has {feature_map.shape[-1]} channels, the sampler expects dim={self.dim}"
            )
        check_same_dtype(feature_map, self, "feature_map")
        # NaN features would reach the head and surface as points outside [0, 1]: name the cause instead.
        check_finite(feature_map, "feature_map")
        check_context(context, self.context_dim, feature_map.shape[0], "GridSampler")

    def extra_repr(self) -> str:
        jitter = f", jitter={self.jitter}" if self.jitter else ""
        redraw = f", redraw={self.redraw}" if self.redraw else ""
        return (
            f"dim={self.dim}, num_tokens={self.num_tokens}, mode={self.mode!r}, margin={self.margin}{jitter}{redraw}"
        )
