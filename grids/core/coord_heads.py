"""Coordinate heads: where the K points go. One interface, ``head(feature_map, context) -> coords``.

    feature_map [B, H, W, C] (+ context [B, context_dim]) -> coords [B, K, 2], (x, y) in [0, 1]

- :class:`PooledHead` (default, the paper's): global average pool -> LayerNorm -> MLP -> sigmoid.
  A global pool is blind to *where* things are, so the points can only move as a function of
  *what* is in the image (DSNT, arXiv 1801.07372: fully connected coordinate regression "lacks
  inherent spatial generalization").
- :class:`HeatmapHead`: K score maps over the grid, softmax over positions, coordinates = expected
  patch centre (soft-argmax; spatial softmax of Finn et al., arXiv 1509.06113, and DSNT). A 1x1 map
  commutes with shifts, so content shifted by whole cells moves the points with it.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import Tensor, nn

from grids.core.sampling import patch_centers, spread_grid, spread_layout
from grids.core.validation import check_bool, check_context, check_int, check_number, check_options

COORD_HEADS = ("pooled", "heatmap")
INITS = ("spread", "center")


def _check_init(init: str) -> None:
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")


def _check_sizes(dim, num_tokens, context_dim, **sizes) -> None:
    check_int(dim, "dim", minimum=1)
    check_int(num_tokens, "num_tokens", minimum=1)
    check_int(context_dim, "context_dim", minimum=1, optional=True)
    for name, value in sizes.items():
        check_int(value, name, minimum=1)


def _context_term(head: nn.Module, context: Tensor | None, feature_map: Tensor, like: Tensor):
    """The context's term, or None for a head built without ``context_dim`` (given a context: an error)."""
    proj = head.context_proj
    context_dim = None if proj is None else proj.in_features
    check_context(context, context_dim, feature_map.shape[0], f"{type(head).__name__}")
    if proj is None:
        return None
    return proj(head.context_norm(context.to(like.dtype)))


class PooledHead(nn.Module):
    """The paper's head: ``m + (1 - 2m) * sigmoid(MLP([LayerNorm(mean_hw feature_map) ; LayerNorm(context)]))``.

    Args:
        init: ``"spread"`` (ours): small last-layer weights, bias at the logit of
            :func:`spread_layout`, so the K points start spread over the image. ``"center"`` (the
            authors'): zero bias, all K points start at the image centre (with the same small
            weights, so an initialisation study changes the layout only; the authors' flax code
            also draws the last layer with lecun-normal weights).
        image_input: ``False``: the points do not depend on the image — the pooled features are not read, so
            the K points are a learned layout (the last layer's bias), one per instruction with a ``context``.
            Points that stay put while the arm and the scene move, learned through the differentiable read.
        reach: ``None`` (the paper's): a point may go anywhere in the image. A number in ``(0, 0.5]``: anchored
            points — point k is its cell's centre in the :func:`spread_layout` plus a learned offset of at most
            ``reach`` cell widths, ``anchor + reach * cell * tanh(logits)`` (bounded offsets, as deformable
            attention's): the K points keep covering the image while each moves within its own cell
            (``0.5``: to the cell's border). Needs ``init="spread"``; the last layer's bias starts at 0.
        reset: initialise the last layer now. :class:`grids.GridSampler` defers it
            (``reset_coords()``) until its coordinate embedding is built, which keeps the random draws
            in their order from before coordinate heads: a seed still gives the same initial sampler.
        Other arguments: see :class:`grids.GridSampler`.
    """

    LAYERS = ("norm", "hidden", "context_norm", "context_proj", "to_coords")

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int,
        context_dim: int | None = None,
        hidden_dim: int = 512,
        margin: float = 0.0,
        normalize_input: bool = True,
        init: str = "spread",
        image_input: bool = True,
        reach: float | None = None,
        reset: bool = True,
    ):
        super().__init__()
        _check_init(init)
        _check_sizes(dim, num_tokens, context_dim, hidden_dim=hidden_dim)
        check_bool(image_input, "image_input")
        _check_reach(reach, init)
        self.num_tokens, self.margin, self.init, self.image_input = num_tokens, margin, init, image_input
        self.reach = None if reach is None else float(reach)
        if self.reach is not None:
            anchors = spread_layout(num_tokens)  # [K, 2]
            self.register_buffer("anchors", anchors, persistent=False)
            cols, rows = spread_grid(num_tokens)
            self.register_buffer("cell", torch.tensor([1 / cols, 1 / rows]), persistent=False)  # [2], (x, y)
        self.norm = nn.LayerNorm(dim) if normalize_input else nn.Identity()
        self.hidden = nn.Linear(dim, hidden_dim)  # kept without image input: the same random draws
        self.context_norm = nn.LayerNorm(context_dim) if context_dim and normalize_input else nn.Identity()
        self.context_proj = nn.Linear(context_dim, hidden_dim) if context_dim else None
        self.to_coords = nn.Linear(hidden_dim, 2 * num_tokens)
        if reset:
            self.reset_coords()

    @torch.no_grad()
    def reset_coords(self) -> None:
        """Small last-layer weights; bias at the logit of the spread layout, or 0 (the centre)."""
        nn.init.normal_(self.to_coords.weight, std=0.1 / math.sqrt(self.to_coords.in_features))
        if self.init == "center" or self.reach is not None:  # anchored: offsets start at 0
            self.to_coords.bias.zero_()
            return
        layout = (spread_layout(self.num_tokens) - self.margin) / (1 - 2 * self.margin)
        self.to_coords.bias.copy_(torch.logit(layout.clamp(1e-3, 1 - 1e-3)).flatten())

    def forward(self, feature_map: Tensor, context: Tensor | None = None) -> Tensor:
        pooled = self.norm(feature_map.mean(dim=(1, 2)))  # [B, C]
        if not self.image_input:
            pooled = torch.zeros_like(pooled)  # the layout, not the image: only the bias (and context) place points
        hidden = self.hidden(pooled)  # [B, hidden]
        task = _context_term(self, context, feature_map, hidden)
        if task is not None:
            hidden = hidden + task
        logits = self.to_coords(torch.relu(hidden)).unflatten(-1, (self.num_tokens, 2))  # [B, K, 2]
        if self.reach is not None:
            offsets = self.reach * self.cell.to(logits.dtype) * torch.tanh(logits)  # [B, K, 2], within the cell
            return (self.anchors.to(logits.dtype) + offsets).clamp(self.margin, 1 - self.margin)
        return self.margin + (1 - 2 * self.margin) * torch.sigmoid(logits)

    def extra_repr(self) -> str:
        reach = "" if self.reach is None else f", reach={self.reach}"
        return f"init={self.init!r}" + ("" if self.image_input else ", image_input=False") + reach


def _check_reach(reach, init: str) -> None:
    if reach is None:
        return
    check_number(reach, "reach", low=0, high=0.5, ends="(]", meaning="None or a number of cell widths")
    if init != "spread":
        raise ValueError(f"reach anchors the points at the spread layout: it needs init='spread', got {init!r}")


class HeatmapHead(nn.Module):
    """K score maps -> softmax over the H x W positions -> expected patch centre (soft-argmax).

        keys    = to_keys(LayerNorm(feature_map))                      # [B, H, W, D]  (a 1x1 conv)
        queries = queries_k + context_proj(LayerNorm(context))_k        # [B, K, D]     (task-conditioned)
        logits  = (keys . queries / sqrt(D) - |centre - mu_k|^2 / (2 width_k^2)) / temperature
        coords  = m + (1 - 2m) * softmax_hw(logits) @ patch_centres     # [B, K, 2]

    Initialisation (against collapse): with random weights the K maps are nearly flat, and the
    expectation of a flat map is the image centre for every point. Each point therefore carries a
    learnable Gaussian log-prior over positions, centred at ``mu_k`` with width ``width_k``: with
    ``init="spread"`` the ``mu_k`` start at :func:`spread_layout` and the width at half the layout's
    spacing, so the K points start spread (content moves them about a cell at init); training may move
    the centres and widen the prior to let content win. ``init="center"`` drops the prior (a plain
    spatial softmax; points start near the centre, told apart only by their random queries).
    The prior is written in ``[0, 1]`` coordinates, so one head serves any grid size.

    Args:
        key_dim: D, width of the keys and queries (the maps cost ``H*W*C*D`` multiply-adds).
        temperature: initial softmax temperature; learned (as a log) if ``learn_temperature``.
        prior_width: initial prior width in ``[0, 1]`` units; default ``0.5 / ceil(sqrt(K))``.
        Other arguments: see :class:`grids.GridSampler`.
    """

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int,
        context_dim: int | None = None,
        key_dim: int = 64,
        margin: float = 0.0,
        normalize_input: bool = True,
        init: str = "spread",
        temperature: float = 1.0,
        learn_temperature: bool = True,
        prior_width: float | None = None,
    ):
        super().__init__()
        _check_init(init)
        _check_sizes(dim, num_tokens, context_dim, key_dim=key_dim)
        check_number(temperature, "temperature", low=0, ends="()")
        if prior_width is not None and init != "spread":
            raise ValueError(
                f"prior_width={prior_width!r} is the width of the spread prior: it is read only with "
                f"init='spread', got init={init!r}"
            )
        self.num_tokens, self.key_dim, self.margin, self.init = num_tokens, key_dim, margin, init
        self.norm = nn.LayerNorm(dim) if normalize_input else nn.Identity()
        self.to_keys = nn.Linear(dim, key_dim)
        self.queries = nn.Parameter(torch.randn(num_tokens, key_dim))
        self.context_norm = nn.LayerNorm(context_dim) if context_dim and normalize_input else nn.Identity()
        self.context_proj = nn.Linear(context_dim, num_tokens * key_dim) if context_dim else None
        log_temperature = torch.tensor(math.log(temperature))
        if learn_temperature:
            self.log_temperature = nn.Parameter(log_temperature)
        else:
            self.register_buffer("log_temperature", log_temperature)
        if init == "spread":
            width = 0.5 / spread_grid(num_tokens)[0] if prior_width is None else prior_width
            check_number(width, "prior_width", low=0, ends="()", meaning="None or a number")
            self.prior_centers = nn.Parameter(spread_layout(num_tokens))  # [K, 2]
            self.prior_log_width = nn.Parameter(torch.full((num_tokens,), math.log(width)))
        else:
            self.prior_centers = self.prior_log_width = None

    def score_maps(self, feature_map: Tensor, context: Tensor | None = None) -> Tensor:
        """``[B, H, W, C]`` -> ``[B, K, H * W]`` logits over positions, in float32."""
        batch, height, width, _ = feature_map.shape
        keys = self.to_keys(self.norm(feature_map)).flatten(1, 2)  # [B, HW, D]
        queries = self.queries.expand(batch, -1, -1)  # [B, K, D]
        task = _context_term(self, context, feature_map, keys)
        if task is not None:
            queries = queries + task.unflatten(-1, (self.num_tokens, self.key_dim))
        logits = torch.einsum("bnd,bkd->bkn", keys, queries.to(keys.dtype)).float() / math.sqrt(self.key_dim)
        if self.prior_centers is not None:
            centers = patch_centers(height, width, device=feature_map.device)  # [HW, 2]
            distance2 = (centers - self.prior_centers.float().unsqueeze(1)).square().sum(-1)  # [K, HW]
            logits = logits - distance2 / (2 * (2 * self.prior_log_width.float()).exp().unsqueeze(-1))
        return logits / self.log_temperature.float().exp()

    def forward(self, feature_map: Tensor, context: Tensor | None = None) -> Tensor:
        logits = self.score_maps(feature_map, context)  # [B, K, HW]
        centers = patch_centers(*feature_map.shape[1:3], device=feature_map.device)  # [HW, 2]
        coords = logits.softmax(dim=-1) @ centers  # [B, K, 2], float32
        return self.margin + (1 - 2 * self.margin) * coords

    def extra_repr(self) -> str:
        return f"key_dim={self.key_dim}, init={self.init!r}"


def head_option_names(head: type[nn.Module]) -> tuple[str, ...]:
    """The keyword arguments of a head's constructor."""
    return tuple(
        p.name for p in inspect.signature(head.__init__).parameters.values() if p.kind is p.KEYWORD_ONLY
    )


def make_coord_head(kind: str, **options) -> nn.Module:
    """``"pooled"`` -> :class:`PooledHead`, ``"heatmap"`` -> :class:`HeatmapHead` (``options``: theirs)."""
    heads = {"pooled": PooledHead, "heatmap": HeatmapHead}
    if kind not in heads:
        raise ValueError(f"coord_head must be one of {COORD_HEADS}, got {kind!r}")
    check_options(f"coord_head={kind!r}", options, head_option_names(heads[kind]))
    return heads[kind](**options)
