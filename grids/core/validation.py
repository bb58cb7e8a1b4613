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
