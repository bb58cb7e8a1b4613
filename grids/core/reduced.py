"""What every token reduction returns: the sampler, every registered reducer, the multi-view reducer and the
in-encoder hook alike."""

from __future__ import annotations

from dataclasses import dataclass, replace

from torch import Tensor


@dataclass(frozen=True)
class Reduced:
    """The tokens a reduction keeps and where they come from (immutable: derive a new one with :meth:`replace`).

    Attributes:
        tokens: ``[B, P + K', C]`` the output tokens, the P prefix tokens (CLS, registers) first.
        coords: ``[B, K', 2]`` where each output patch token looked, ``(x, y)`` in ``[0, 1]``
            (align-corners: ``0`` and ``1`` are the border patch centres).
        indices: ``[B, K']`` the flat patch index of each kept token, for discrete reducers; else None.

    A multi-view reduction adds a view axis after the batch: ``[B, V, ...]``.
    """

    tokens: Tensor
    coords: Tensor
    indices: Tensor | None = None

    def replace(self, **changes) -> Reduced:
        """A copy with some fields changed, e.g. ``out.replace(tokens=torch.cat([prefix, out.tokens], 1))``."""
        return replace(self, **changes)
