"""Where did the sampler look? Pure functions on coordinates and tokens, for logs, tests and figures.

Coordinates are ``(x, y)`` in ``[0, 1]``, align-corners (``0`` and ``1`` are the border patch
centres), so one cell of an ``H x W`` grid is ``1 / (W - 1)`` along x and ``1 / (H - 1)`` along y.
Distances below are measured in cells, so the thresholds mean the same on any grid.

    stats = check_points(coords, grid_hw=(16, 16))  # warns PointsWarning on collapse / border saturation

Bad input: ``grid_hw`` must be two ints >= 1 and coordinates must lie in ``[0, 1]`` (a point outside
would give distances larger than the grid): both raise ``ValueError``. NaN/Inf input is not an error here
(a diagnostic should report a diverged sampler, not crash the log), but it makes the statistics NaN, so it
warns :class:`NonFiniteWarning` naming how many values are bad.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

from grids.core.validation import check_grid_hw, check_rank

RANGE_TOLERANCE = 1e-4  # weighted means of patch centres (ToMe, Perceiver) may round a hair past 0 or 1


class PointsWarning(UserWarning):
    """The sampler's points have collapsed onto each other or sit on the image border."""


class NonFiniteWarning(UserWarning):
    """A diagnostic was given NaN/Inf values: the statistics it returns are NaN."""


def _warn_non_finite(x: Tensor, name: str) -> None:
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        warnings.warn(
            f"{name} contains {bad} NaN/Inf value(s) of {x.numel()} (shape {tuple(x.shape)}): the statistics "
            "computed from it are NaN",
            NonFiniteWarning,
            stacklevel=3,
        )


def _as_batch(coords: Tensor, name: str = "coords", *, unit_square: bool = True) -> Tensor:
    """``[K, 2]`` or ``[N, K, 2]`` -> ``[N, K, 2]`` float32; warns on NaN, refuses points outside ``[0, 1]``."""
    if isinstance(coords, Tensor) and coords.dim() == 2:
        coords = coords.unsqueeze(0)
    check_rank(coords, 3, name, "[N, K, 2]")
    if coords.shape[-1] != 2:
        raise ValueError(f"{name} must have shape [N, K, 2], got {tuple(coords.shape)}")
    coords = coords.detach().float()
    _warn_non_finite(coords, name)
    outside = (coords < -RANGE_TOLERANCE) | (coords > 1 + RANGE_TOLERANCE)  # NaN is neither
    if unit_square and bool(outside.any()):
        bad = coords[outside.any(-1)][0].tolist()
        raise ValueError(
            f"{name} must lie in [0, 1] (x, y as fractions of the grid); got e.g. (x, y) = {bad}, "
            f"{int(outside.any(-1).sum())} such point(s)"
        )
    return coords


def _in_cells(coords: Tensor, grid_hw: tuple[int, int]) -> Tensor:  # [0, 1] -> patch units
    height, width = check_grid_hw(grid_hw)
    return coords * coords.new_tensor([max(width - 1, 1), max(height - 1, 1)])


def point_spread(coords: Tensor, grid_hw: tuple[int, int], *, tie_cells: float = 0.1) -> dict[str, float]:
    """Collapse: how far apart the K points are, over N images.

    Args:
        coords: ``[N, K, 2]`` (or ``[K, 2]``).
        grid_hw: the ``(H, W)`` grid the points were read from.
        tie_cells: two points closer than this (in cells) count as tied.

    Returns:
        ``mean_distance`` and ``min_distance`` (in cells, over all pairs and images; NaN when K = 1),
        ``tied_fraction`` (of the pairs; 0 when K = 1).
    """
    return _spread(_in_cells(_as_batch(coords), grid_hw), tie_cells)


def _spread(points: Tensor, tie_cells: float) -> dict[str, float]:  # points [N, K, 2] in cells
    num_points = points.shape[1]
    if num_points < 2:
        return {"mean_distance": float("nan"), "min_distance": float("nan"), "tied_fraction": 0.0}
    pairs = torch.triu_indices(num_points, num_points, offset=1)
    distances = torch.cdist(points, points)[:, pairs[0], pairs[1]]  # [N, K (K - 1) / 2]
    return {
        "mean_distance": distances.mean().item(),
        "min_distance": distances.min().item(),
        "tied_fraction": (distances < tie_cells).float().mean().item(),
    }


def border_saturation(coords: Tensor, grid_hw: tuple[int, int]) -> float:
    """Fraction of points within half a cell of the border (x or y), over all N x K points."""
    return _border(_in_cells(_as_batch(coords), grid_hw), check_grid_hw(grid_hw))


def _border(points: Tensor, grid_hw: tuple[int, int]) -> float:  # points [N, K, 2] in cells
    height, width = grid_hw
    last = points.new_tensor([width - 1, height - 1])
    return ((points < 0.5) | (points > last - 0.5)).any(dim=-1).float().mean().item()


def follows_content(coords: Tensor, positions: Tensor, *, eps: float = 1e-6) -> dict[str, Tensor]:
    """Does each point move with something that matters? Pearson correlation over N frames.

    Args:
        coords: ``[N, K, 2]`` the sampler's points over N frames.
        positions: ``[N, M, 2]`` privileged image positions over the same frames (object, gripper,
            goal), in the same ``[0, 1]`` convention.

    Returns:
        ``per_axis`` ``[K, M, 2]``: correlation of point k's x (y) with position m's x (y); NaN where
        position m does not move along that axis; 0 where point k does not move.
        ``correlation`` ``[K]``: the best over m of the mean over the axes along which m moves.
        ``best`` ``[K]``: that m (-1 where no position moves at all).
    """
    # positions are image fractions of things that may leave the view: not held to [0, 1]
    coords, positions = _as_batch(coords), _as_batch(positions, "positions", unit_square=False)
    if coords.shape[0] != positions.shape[0] or coords.shape[0] < 2:
        raise ValueError(
            f"coords {tuple(coords.shape)} and positions {tuple(positions.shape)} need the same N >= 2 frames"
        )
    a = coords - coords.mean(dim=0)  # [N, K, 2]
    b = positions - positions.mean(dim=0)  # [N, M, 2]
    covariance = torch.einsum("nka,nma->kma", a, b)
    a_norm, b_norm = a.norm(dim=0), b.norm(dim=0)  # [K, 2], [M, 2]
    per_axis = covariance / (a_norm[:, None] * b_norm[None]).clamp_min(eps)
    per_axis = per_axis.masked_fill(b_norm[None].expand_as(per_axis) < eps, float("nan"))
    mean_over_axes = per_axis.nanmean(dim=-1)  # [K, M]
    best = mean_over_axes.nan_to_num(-2.0).argmax(dim=-1)
    correlation = mean_over_axes.gather(1, best[:, None]).squeeze(1)
    return {
        "correlation": correlation,
        "best": best.masked_fill(correlation.isnan(), -1),
        "per_axis": per_axis,
    }


def retention_map(feature_map: Tensor, tokens: Tensor) -> Tensor:
    """The paper's information-retention map: per dense token, its largest cosine similarity to a kept token.

    ``feature_map [B, H, W, C]``, ``tokens [B, K, C]`` -> ``[B, H, W]`` in ``[-1, 1]``. Pass the sampled
    features (``sample_tokens(feature_map, coords)``), not the sampler's output, which carries the
    coordinate embedding.
    """
    check_rank(feature_map, 4, "feature_map", "[B, H, W, C]")
    check_rank(tokens, 3, "tokens", "[B, K, C]")
    if tokens.shape[0] != feature_map.shape[0] or tokens.shape[-1] != feature_map.shape[-1]:
        raise ValueError(
            f"tokens {tuple(tokens.shape)} must be [B, K, C] for feature_map {tuple(feature_map.shape)}"
        )
    _warn_non_finite(feature_map.detach(), "feature_map")
    _warn_non_finite(tokens.detach(), "tokens")
    dense = F.normalize(feature_map.detach().float().flatten(1, 2), dim=-1)  # [B, HW, C]
    kept = F.normalize(tokens.detach().float(), dim=-1)  # [B, K, C]
    similarity = dense @ kept.transpose(1, 2)  # [B, HW, K]
    return similarity.amax(dim=-1).unflatten(1, feature_map.shape[1:3])


def check_points(
    coords: Tensor,
    grid_hw: tuple[int, int],
    *,
    max_tied_fraction: float = 0.2,
    max_border_fraction: float = 0.5,
    tie_cells: float = 0.1,
) -> dict[str, float]:
    """:func:`point_spread` and :func:`border_saturation`; warns :class:`PointsWarning` past a threshold
    (and :class:`NonFiniteWarning` on NaN/Inf coordinates, whose statistics are NaN)."""
    grid_hw = check_grid_hw(grid_hw)
    points = _in_cells(_as_batch(coords), grid_hw)
    stats = _spread(points, tie_cells)
    stats["border_fraction"] = _border(points, grid_hw)
    problems = []
    if stats["tied_fraction"] > max_tied_fraction:
        problems.append(
            f"collapsed: {stats['tied_fraction']:.0%} of point pairs within {tie_cells} cell "
            f"(mean distance {stats['mean_distance']:.2f} cells)"
        )
    if stats["border_fraction"] > max_border_fraction:
        problems.append(f"at the border: {stats['border_fraction']:.0%} of points within half a cell of it")
    if problems:
        warnings.warn(f"sampler points {'; '.join(problems)}", PointsWarning, stacklevel=2)
    return stats


def point_shift(clean: Tensor, shifted: Tensor, grid_hw: tuple[int, int]) -> dict[str, float]:
    """How far a perturbation of the image moves the points: the same N frames, clean and perturbed.

    Args:
        clean, shifted: ``[N, K, 2]`` (or ``[K, 2]``) the points read from each frame and its perturbed copy.
        grid_hw: the ``(H, W)`` grid the points were read from.

    Returns (in cells): ``matched`` the mean distance between point k clean and point k perturbed (what
    the coordinate embedding sees: GridS's points keep their index); ``set`` the symmetric mean distance
    from each point to the nearest point of the other set (order-free: top-K's ranks may swap).
    """
    a, b = _in_cells(_as_batch(clean, "clean"), grid_hw), _in_cells(_as_batch(shifted, "shifted"), grid_hw)
    if a.shape != b.shape:
        raise ValueError(f"clean {tuple(a.shape)} and shifted {tuple(b.shape)}: not the same shape")
    nearest = torch.cdist(a, b)  # [N, K, K]
    return {
        "matched": (a - b).norm(dim=-1).mean().item(),
        "set": 0.5 * (nearest.amin(dim=2).mean() + nearest.amin(dim=1).mean()).item(),
    }


def token_cosine(clean: Tensor, shifted: Tensor) -> float:
    """Mean cosine similarity of matched features ``[..., C]`` (tokens or dense cells), clean vs perturbed."""
    if clean.shape != shifted.shape:
        raise ValueError(f"clean {tuple(clean.shape)} and shifted {tuple(shifted.shape)}: not the same shape")
    _warn_non_finite(clean.detach(), "clean")
    _warn_non_finite(shifted.detach(), "shifted")
    return F.cosine_similarity(clean.detach().float(), shifted.detach().float(), dim=-1).mean().item()


def point_motion(coords: Tensor, grid_hw: tuple[int, int]) -> dict[str, float]:
    """How the points move over one episode: ``coords [T, K, 2]``, frame t's points, T >= 2 frames in order.

    Returns (in cells): ``median_step`` and ``p95_step`` of the distance point k moves from one frame to the next
    (over the T - 1 steps and K points); ``std`` the spread of point k's positions over the episode (norm of its
    x / y standard deviations, averaged over K); ``mean_position`` ``[K, 2]`` the points' mean over the episode,
    in ``[0, 1]``. A fixed layout gives 0, 0, 0.
    """
    coords = _as_batch(coords)
    points = _in_cells(coords, grid_hw)  # [T, K, 2]
    if points.shape[0] < 2:
        raise ValueError(f"point_motion needs at least 2 frames, got coords of shape {tuple(coords.shape)}")
    steps = (points[1:] - points[:-1]).norm(dim=-1).flatten().float()  # [(T - 1) K]
    return {
        "median_step": steps.median().item(),
        "p95_step": steps.quantile(0.95).item(),
        "std": points.std(dim=0, unbiased=False).norm(dim=-1).mean().item(),
        "mean_position": coords.mean(dim=0).tolist(),
    }
