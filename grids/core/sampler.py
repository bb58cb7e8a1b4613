"""GridS: predict K continuous points from the dense map, read features there, inject geometry.

Feng et al., "See What Matters: Differentiable Grid Sample Pruning for Generalizable
Vision-Language-Action Model", ICML 2026 (arXiv 2605.11817).

    z      = LayerNorm(mean_{h,w} feature_map)            # [B, C]   (LayerNorm: against sigmoid saturation)
    coords = m + (1 - 2m) * sigmoid(MLP([z ; LayerNorm(context)]))  # [B, K, 2] (context: task-aware, optional)
    tokens = sample(feature_map, coords) + embed(coords)   # [B, K, C] ("geometry injection")
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from grids.core.sampling import MODES, sample_tokens, spread_layout
from grids.core.validation import check_feature_map, check_num_tokens, check_rank

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
        hidden_dim: width of the coordinate MLP (the authors use 512).
        coord_embedding: ``"mlp"`` (authors'), ``"fourier"``, or ``None`` (ablation: no geometry).
        margin: keep points in ``[margin, 1 - margin]``.
        normalize_input: LayerNorm on the pooled features (and on the context) before the MLP. For the
            context it matters: a unit-norm sentence embedding (MiniLM: 384 values of ~0.05) would
            otherwise reach the hidden layer ~20x weaker than the normalised visual features.
        mode: ``"bilinear"`` or ``"nearest"`` (ablation).
    """

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int,
        context_dim: int | None = None,
        hidden_dim: int = 512,
        coord_embedding: str | None = "mlp",
        margin: float = 0.0,
        normalize_input: bool = True,
        mode: str = "bilinear",
    ):
        super().__init__()
        check_num_tokens(num_tokens)
        if not 0.0 <= margin < 0.5:
            raise ValueError(f"margin must be in [0, 0.5), got {margin}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.dim, self.num_tokens, self.margin, self.mode = dim, num_tokens, margin, mode
        self.context_dim = context_dim
        self.norm = nn.LayerNorm(dim) if normalize_input else nn.Identity()
        self.hidden = nn.Linear(dim, hidden_dim)
        self.context_norm = nn.LayerNorm(context_dim) if context_dim and normalize_input else nn.Identity()
        self.context_proj = nn.Linear(context_dim, hidden_dim) if context_dim else None
        self.to_coords = nn.Linear(hidden_dim, 2 * num_tokens)
        self.coord_embed = make_coord_embedding(coord_embedding, dim)
        self.reset_coords()

    @torch.no_grad()
    def reset_coords(self) -> None:
        """Start with the K points spread over the image (small weights, bias = logit of a layout)."""
        nn.init.normal_(self.to_coords.weight, std=0.1 / math.sqrt(self.to_coords.in_features))
        layout = (spread_layout(self.num_tokens) - self.margin) / (1 - 2 * self.margin)
        self.to_coords.bias.copy_(torch.logit(layout.clamp(1e-3, 1 - 1e-3)).flatten())

    def predict_coords(self, feature_map: Tensor, context: Tensor | None = None) -> Tensor:
        """``[B, H, W, C]`` (+ ``[B, context_dim]``) -> ``[B, K, 2]`` coordinates in ``[0, 1]``."""
        pooled = self.norm(feature_map.mean(dim=(1, 2)))  # [B, C]
        hidden = self.hidden(pooled)
        if context is not None:
            if self.context_proj is None:
                raise ValueError("context was given but the sampler was built with context_dim=None")
            check_rank(context, 2, "context", "[B, context_dim]")
            hidden = hidden + self.context_proj(self.context_norm(context.to(hidden.dtype)))
        logits = self.to_coords(torch.relu(hidden)).unflatten(-1, (self.num_tokens, 2))
        return self.margin + (1 - 2 * self.margin) * torch.sigmoid(logits)

    def forward(self, feature_map: Tensor, context: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``feature_map: [B, H, W, C]`` (floating point, H, W >= 1) -> ``(tokens [B, K, C], coords [B, K, 2])``."""
        check_feature_map(feature_map)  # before pooling: an empty or integer map must not reach the MLP
        if feature_map.shape[-1] != self.dim:
            raise ValueError(
                f"feature_map has {feature_map.shape[-1]} channels, the sampler expects dim={self.dim}"
            )
        coords = self.predict_coords(feature_map, context)
        tokens = sample_tokens(feature_map, coords, mode=self.mode)
        if self.coord_embed is not None:
            tokens = tokens + self.coord_embed(coords.to(tokens.dtype)).to(tokens.dtype)
        return tokens, coords

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_tokens={self.num_tokens}, mode={self.mode!r}, margin={self.margin}"
