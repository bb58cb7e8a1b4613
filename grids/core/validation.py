"""Input checks shared by the public functions and modules.

Value checks (NaN/Inf, coordinate range) read tensor values, which costs a device sync and cannot be
traced, so they are skipped while ``torch.compile`` traces and can be switched off globally with
``grids.set_value_checks(False)`` for deployment. Shape checks are always on: they are free.
"""

from __future__ import annotations

import torch
from torch import Tensor

_VALUE_CHECKS = True


def set_value_checks(enabled: bool) -> None:
    """Turn the NaN/Inf and coordinate-range checks on or off (on by default)."""
    global _VALUE_CHECKS
    _VALUE_CHECKS = bool(enabled)


def value_checks_enabled() -> bool:
    return _VALUE_CHECKS and not torch.compiler.is_compiling()


def check_rank(x: Tensor, rank: int, name: str, layout: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != rank:
        raise ValueError(f"{name} must have shape {layout} (rank {rank}), got shape {tuple(x.shape)}")


def check_floating(x: Tensor, name: str) -> None:
    # Integer maps would be interpolated in integer arithmetic: values silently truncated, not an error.
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; convert it first, e.g. .float()"
        )


def check_grid_size(height: int, width: int, where: str) -> None:
    if height < 1 or width < 1:
        raise ValueError(
            f"{where}: an empty {height}x{width} grid has no token to read; H and W must be >= 1"
        )


def check_feature_map(feature_map: Tensor) -> None:
    """``[B, H, W, C]``, floating point, H and W >= 1 (B = 0 is allowed: an empty batch gives empty outputs)."""
    check_rank(feature_map, 4, "feature_map", "[B, H, W, C]")
    check_floating(feature_map, "feature_map")
    check_grid_size(*feature_map.shape[1:3], where=f"feature_map [B, H, W, C] = {tuple(feature_map.shape)}")


def check_finite(x: Tensor, name: str) -> None:
    if value_checks_enabled() and not bool(torch.isfinite(x).all()):
        bad = (~torch.isfinite(x)).sum().item()
        raise ValueError(f"{name} contains {bad} NaN/Inf value(s) (shape {tuple(x.shape)})")


def check_num_tokens(
    num_tokens: int, *, minimum: int = 1, maximum: int | None = None, what: str = ""
) -> None:
    if not isinstance(num_tokens, int) or isinstance(num_tokens, bool):
        raise TypeError(f"num_tokens must be an int, got {num_tokens!r}")
    if num_tokens < minimum:
        raise ValueError(f"num_tokens must be >= {minimum}, got {num_tokens}")
    if maximum is not None and num_tokens > maximum:
        raise ValueError(f"num_tokens={num_tokens} exceeds the {maximum} patch tokens {what}".rstrip())
