"""Input checks shared by the public functions and modules: every error names the argument and its value.

Value checks (NaN/Inf in features and contexts, coordinate range) read tensor values, which costs a device
sync and cannot be traced, so they are skipped while ``torch.compile`` traces and can be switched off
globally with ``grids.set_value_checks(False)`` for deployment. Shape, dtype, type and configuration checks
are always on: they are free. (``docs/validation.md`` lists what is checked where.)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import torch
from torch import Tensor, nn

_VALUE_CHECKS = True


def set_value_checks(enabled: bool) -> None:
    """Turn the NaN/Inf and coordinate-range checks on or off (on by default)."""
    global _VALUE_CHECKS
    _VALUE_CHECKS = bool(enabled)


def value_checks_enabled() -> bool:
    return _VALUE_CHECKS and not torch.compiler.is_compiling()


def is_int(value) -> bool:
    """An integer (Python or numpy), not a bool: ``True`` as a size or a seed is a mistake, not 1."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(value, name: str, *, minimum: int | None = None, optional: bool = False) -> None:
    """``value`` is an int (``None`` too if ``optional``) and at least ``minimum``."""
    if optional and value is None:
        return
    bound = "" if minimum is None else f" >= {minimum}"
    if not is_int(value) or (minimum is not None and value < minimum):
        raise ValueError(f"{name} must be an int{bound}{' or None' if optional else ''}, got {value!r}")


def check_number(value, name: str, *, low: float, high: float = math.inf, ends: str = "[]", meaning: str = "a number") -> None:
    """``value`` is a real number (not a bool) between ``low`` and ``high``; ``ends`` says which ends are included:
    ``"[]"``, ``"[)"``, ``"(]"`` or ``"()"``."""
    above = is_real(value) and (low <= value if ends[0] == "[" else low < value)
    if not (above and (value <= high if ends[1] == "]" else value < high)):
        raise ValueError(f"{name} must be {meaning} in {ends[0]}{low}, {high}{ends[1]}, got {value!r}")


def is_real(value) -> bool:
    """A real number (Python or numpy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_bool(value, name: str) -> None:
    """``value`` is ``True`` or ``False`` (not a truthy string or number)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def check_rank(x: Tensor, rank: int, name: str, layout: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {layout}, got {type(x).__name__}")
    if x.dim() != rank:
        raise ValueError(f"{name} must have shape {layout} (rank {rank}), got shape {tuple(x.shape)}")


def check_floating(x: Tensor, name: str) -> None:
    # Integer maps would be interpolated in integer arithmetic: values silently truncated, not an error.
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; convert it first, e.g. .float()"
        )


def check_same_dtype(x: Tensor, module: nn.Module, name: str) -> None:
    """``x`` has the dtype of ``module``'s parameters, which read it (under autocast any float dtype will do)."""
    weight = next((p for p in module.parameters() if p.is_floating_point()), None)
    if weight is None or x.dtype == weight.dtype or torch.is_autocast_enabled(x.device.type):
        return
    raise ValueError(
        f"{name} has dtype {x.dtype} but {type(module).__name__}'s parameters are {weight.dtype}: cast one to "
        f"the other ({name}.to({weight.dtype}) or module.to({x.dtype})), or run under torch.autocast"
    )


def check_grid_size(height: int, width: int, where: str) -> None:
    if height < 1 or width < 1:
        raise ValueError(
            f"{where}: an empty {height}x{width} grid has no token to read; H and W must be >= 1"
        )


def check_grid_hw(grid_hw) -> tuple[int, int]:
    """``grid_hw``: ``(H, W)``, two ints >= 1 (a tuple, list or ``torch.Size``); returns it as a tuple."""
    if not isinstance(grid_hw, (tuple, list)) or len(grid_hw) != 2 or not all(is_int(v) for v in grid_hw):
        raise ValueError(f"grid_hw must be (H, W), two ints >= 1, got {grid_hw!r}")
    height, width = (int(v) for v in grid_hw)
    check_grid_size(height, width, where=f"grid_hw={(height, width)}")
    return height, width


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
    if not is_int(num_tokens):
        raise TypeError(f"num_tokens must be an int, got {num_tokens!r}")
    if num_tokens < minimum:
        raise ValueError(f"num_tokens must be >= {minimum}, got {num_tokens}")
    if maximum is not None and num_tokens > maximum:
        raise ValueError(f"num_tokens={num_tokens} exceeds the {maximum} patch tokens {what}".rstrip())


def check_context(context: Tensor | None, context_dim: int | None, batch: int, owner: str) -> None:
    """A module that can read a context reads one exactly when it was built for it (``context_dim``).

    Without this, a module built with ``context_dim`` and run without a context computes its points
    without it (the user believes them task-aware), and one built without it ignores the context it is given.
    """
    if context_dim is None:
        if context is not None:
            shape = tuple(context.shape) if isinstance(context, Tensor) else type(context).__name__
            raise ValueError(
                f"{owner} was built with context_dim=None but was given a context ({shape}); build it with "
                "context_dim to read one, or pass context=None"
            )
        return
    if context is None:
        raise ValueError(
            f"{owner} was built with context_dim={context_dim} but was given context=None; pass the context "
            f"[B, {context_dim}] (e.g. the instruction embedding) or build it with context_dim=None"
        )
    check_rank(context, 2, "context", f"[B, context_dim={context_dim}]")
    check_floating(context, "context")
    if tuple(context.shape) != (batch, context_dim):
        raise ValueError(
            f"context must have shape [B={batch}, context_dim={context_dim}] for {owner}, "
            f"got {tuple(context.shape)}"
        )
    check_finite(context, "context")


def check_options(owner: str, options: dict, accepted: Iterable[str]) -> None:
    """Refuse options that ``owner`` would not read (a typo, or an option of another reducer or head)."""
    accepted = sorted(accepted)
    unknown = {name: value for name, value in options.items() if name not in accepted}
    if unknown:
        raise ValueError(
            f"{owner} does not take the options {unknown}; it takes {', '.join(accepted) or 'none'}"
        )
