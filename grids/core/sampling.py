"""Differentiable reading of a dense token map at continuous (x, y) points.

Convention (align-corners, as in the authors' JAX code): ``x = 0`` is the centre of the first patch
column and ``x = 1`` the centre of the last, likewise ``y`` for rows. A uniform ``H x W`` grid of
coordinates therefore reproduces the dense tokens exactly, and ``0`` / ``1`` return the border tokens
(the authors' PyTorch port returns a zero vector with zero gradient at ``1.0``; we do not).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from grids.core.validation import check_feature_map, check_finite, check_rank, value_checks_enabled

MODES = ("bilinear", "nearest", "area")


def sample_tokens(feature_map: Tensor, coords: Tensor, *, mode: str = "bilinear") -> Tensor:
    """Read ``feature_map`` at continuous ``coords``.

    Args:
        feature_map: ``[B, H, W, C]`` dense tokens, channels last, in a floating-point dtype: integer
            maps **raise** ``ValueError`` (bilinear weights would be truncated to integers). H and W must
            be >= 1; ``B = 0`` returns ``[0, K, C]``.
        coords: ``[B, K, 2]`` points ``(x, y)`` in ``[0, 1]``, ``x`` along the width.
            Points outside ``[0, 1]`` (or NaN) **raise** ``ValueError``; they are never clamped
            silently, since a sampler that drifts out of the image is a bug worth seeing.
        mode: ``"bilinear"`` (differentiable w.r.t. features and coords), ``"nearest"`` (the
            paper's ablation: gradients reach the features only) or ``"area"`` (each point reads the mean
            over a box the size of one cell of :func:`spread_layout`'s K-point grid, 4 x 4 patches for K = 16
            on 16 x 16, bilinearly in the box's centre: the K points together cover the image; see
            :func:`box_filtered`).

    Returns:
        ``[B, K, C]`` sampled tokens, in ``feature_map``'s dtype.
    """
    _check_inputs(feature_map, coords, mode)
    # Index arithmetic in at least float32, so bf16 coords do not land on the wrong patch.
    coords = coords.to(torch.promote_types(coords.dtype, torch.float32))
    if mode == "area":
        feature_map, coords = box_filtered(feature_map, coords)
    batch, height, width, channels = feature_map.shape
    x = coords[..., 0] * (width - 1)  # [B, K], in patch units
    y = coords[..., 1] * (height - 1)
    # Points within rounding error of a patch centre snap onto it (value only; the gradient is kept),
    # so the identity grid reproduces the dense tokens bit for bit.
    tolerance = 64 * torch.finfo(coords.dtype).eps * max(height, width)
    x = x + ((x.round() - x) * ((x.round() - x).abs() < tolerance)).detach()
    y = y + ((y.round() - y) * ((y.round() - y).abs() < tolerance)).detach()
    flat = feature_map.reshape(batch, height * width, channels)

    def gather(row: Tensor, col: Tensor) -> Tensor:  # [B, K] long -> [B, K, C]
        index = (row * width + col).unsqueeze(-1).expand(-1, -1, channels)
        return torch.gather(flat, 1, index)

    if mode == "nearest":
        return gather(y.round().long(), x.round().long())

    # Left/top neighbour clamped to W-2 so that x = W-1 gives weight 1 on the last column.
    x0 = x.detach().floor().clamp(0, max(width - 2, 0))
    y0 = y.detach().floor().clamp(0, max(height - 2, 0))
    wx = (x - x0).unsqueeze(-1).to(feature_map.dtype)  # [B, K, 1] in [0, 1]
    wy = (y - y0).unsqueeze(-1).to(feature_map.dtype)
    x0, y0 = x0.long(), y0.long()
    x1 = (x0 + 1).clamp(max=width - 1)
    y1 = (y0 + 1).clamp(max=height - 1)
    top = gather(y0, x0) * (1 - wx) + gather(y0, x1) * wx
    bottom = gather(y1, x0) * (1 - wx) + gather(y1, x1) * wx
    return top * (1 - wy) + bottom * wy


def box_filtered(feature_map: Tensor, coords: Tensor) -> tuple[Tensor, Tensor]:
    """The map averaged over a box of one cell of the K-point spread grid, and ``coords`` on that map.

    ``[B, H, W, C]``, ``[B, K, 2]`` -> ``[B, H', W', C]``, ``[B, K, 2]``: a box of ``k = round(H / rows)`` by
    ``round(W / cols)`` patches (at least 1), stride 1, borders averaged over the patches inside the image. An odd
    box is centred on a patch (``H' = H``); an even one between two (``H' = H + 1``, entry ``j`` centred half a
    patch before patch ``j``), and the coordinates shift by that half patch, so a bilinear read of the result at
    the returned coordinates is the box mean centred on the original point. ``coords`` in float32 or wider
    (:func:`sample_tokens` promotes them first): the index arithmetic here is done in their dtype.
    """
    _, height, width, _ = feature_map.shape
    cols, rows = spread_grid(coords.shape[1])
    box = (max(1, round(height / rows)), max(1, round(width / cols)))
    padding = (box[0] // 2, box[1] // 2)
    boxed = torch.nn.functional.avg_pool2d(
        feature_map.permute(0, 3, 1, 2), box, stride=1, padding=padding, count_include_pad=False
    ).permute(0, 2, 3, 1)  # [B, H', W', C]
    moved = []
    for axis, (size, new_size, k) in enumerate([(width, boxed.shape[2], box[1]), (height, boxed.shape[1], box[0])]):
        patch = coords[..., axis] * (size - 1) + (0.5 if k % 2 == 0 else 0.0)  # [B, K], in the box map's units
        moved.append(patch / (new_size - 1) if new_size > 1 else torch.zeros_like(patch))
    return boxed, torch.stack(moved, dim=-1)


def _check_inputs(feature_map: Tensor, coords: Tensor, mode: str) -> None:
    check_feature_map(feature_map)
    check_rank(coords, 3, "coords", "[B, K, 2]")
    if coords.shape[-1] != 2 or coords.shape[0] != feature_map.shape[0]:
        raise ValueError(
            f"coords must have shape [B={feature_map.shape[0]}, K, 2], got {tuple(coords.shape)}"
        )
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    check_finite(feature_map, "feature_map")
    if value_checks_enabled():
        outside = ~((coords >= 0) & (coords <= 1))  # also catches NaN
        if bool(outside.any()):
            bad = coords[outside.any(-1)][0].tolist()
            raise ValueError(f"coords must lie in [0, 1]; got e.g. (x, y) = {bad}")


def patch_centers(height: int, width: int, *, device=None, dtype=torch.float32) -> Tensor:
    """``[H * W, 2]`` coordinates ``(x, y)`` of every patch centre, row-major (the identity grid)."""
    ys = (
        torch.linspace(0, 1, height, device=device, dtype=dtype)
        if height > 1
        else torch.zeros(1, device=device, dtype=dtype)
    )
    xs = (
        torch.linspace(0, 1, width, device=device, dtype=dtype)
        if width > 1
        else torch.zeros(1, device=device, dtype=dtype)
    )
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1).reshape(height * width, 2)


def spread_grid(num_points: int) -> tuple[int, int]:
    """``(cols, rows)`` of :func:`spread_layout`'s near-square grid of cells (the last row may be partly empty)."""
    cols = math.ceil(math.sqrt(num_points))
    return cols, -(-num_points // cols)


def spread_layout(num_points: int, *, dtype=torch.float32) -> Tensor:
    """``[K, 2]`` points spread evenly over ``[0, 1]^2``: the centres of a near-square grid of cells.

    Used to initialise the sampler (so the K points start spread, not collapsed) and by the
    ``uniform`` reducer. K = 1 gives the image centre.
    """
    cols, rows = spread_grid(num_points)
    index = torch.arange(num_points)
    x = (index % cols + 0.5) / cols
    y = (index // cols + 0.5) / rows
    return torch.stack([x, y], dim=-1).to(dtype)
