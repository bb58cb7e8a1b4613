"""Several camera views in one call: shared weights (views folded into the batch) or one reducer per view."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from grids.core.reducers import Reduced, make_reducer
from grids.core.validation import check_grid_hw, check_int, check_rank


class MultiViewReducer(nn.Module):
    """Apply a registered reducer to ``tokens [B, V, N, C]``, giving ``tokens [B, V, P + K', C]``.

    ``shared=True`` (the authors' choice) uses one reducer for every view in a single batched call;
    ``shared=False`` gives each view its own reducer (its own coordinate predictor for ``grids``).
    """

    def __init__(
        self, name: str, *, num_views: int, shared: bool = True, dim: int, num_tokens: int = 16, **options
    ):
        super().__init__()
        check_int(num_views, "num_views", minimum=1)
        self.num_views, self.shared = num_views, shared
        count = 1 if shared else num_views
        self.reducers = nn.ModuleList(
            make_reducer(name, dim=dim, num_tokens=num_tokens, **options) for _ in range(count)
        )

    def num_output_tokens(self, grid_hw: tuple[int, int]) -> int:
        return self.reducers[0].num_output_tokens(grid_hw)

    def forward(self, tokens: Tensor, *, grid_hw: tuple[int, int], context: Tensor | None = None) -> Reduced:
        check_rank(tokens, 4, "tokens", "[B, V, N, C]")
        batch, views = tokens.shape[:2]
        if views != self.num_views:
            raise ValueError(f"tokens has V={views} views, reducer built with num_views={self.num_views}")
        grid_hw = check_grid_hw(grid_hw)
        if context is not None:  # the views share their sample's context: its batch is B, not B * V
            check_rank(context, 2, "context", "[B, context_dim]")
            if context.shape[0] != batch:
                raise ValueError(
                    f"context must have shape [B={batch}, context_dim], got {tuple(context.shape)}"
                )
        if self.shared:
            view_context = None if context is None else context.repeat_interleave(views, dim=0)
            out = self.reducers[0](tokens.flatten(0, 1), grid_hw=grid_hw, context=view_context)
            unfold = lambda x: None if x is None else x.unflatten(0, (batch, views))  # noqa: E731
            return Reduced(unfold(out.tokens), unfold(out.coords), unfold(out.indices))
        outs = [r(tokens[:, v], grid_hw=grid_hw, context=context) for v, r in enumerate(self.reducers)]
        stack = lambda xs: None if xs[0] is None else torch.stack(xs, dim=1)  # noqa: E731
        return Reduced(
            stack([o.tokens for o in outs]), stack([o.coords for o in outs]), stack([o.indices for o in outs])
        )
