"""Token reducers behind one interface, registered by name: comparing methods is one flag.

Every reducer maps patch tokens ``[B, N, C]`` laid out on an ``H x W`` grid (``N = P + H*W`` with P
prefix tokens such as CLS/registers, which pass through untouched and come first) to ``[B, P + K', C]``
and reports where it looked as ``coords [B, K', 2]`` (x, y in [0, 1], align-corners convention) and,
for discrete reducers, the chosen flat patch ``indices [B, K']``: a :class:`~grids.Reduced`, which is also
what :class:`~grids.GridSampler` returns.

    reducer = make_reducer("grids", dim=768, num_tokens=16)
    out = reducer(tokens, grid_hw=(16, 16))          # out.tokens [B, 16, 768], out.coords [B, 16, 2]

Every reducer takes a ``context`` (``[B, context_dim]``, e.g. the instruction embedding): the uniform
interface. Those that can read one (``grids*``, ``topk`` with ``score="query"``) read it exactly when
built with ``context_dim`` (a context missing, or given to one built without it, is an error); the others
accept it and ignore it. Options a reducer does not read are an error too (``make_reducer``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grids.core.reduced import Reduced
from grids.core.sampler import GridSampler
from grids.core.sampling import patch_centers, sample_tokens, spread_layout
from grids.core.validation import (
    check_bool,
    check_context,
    check_finite,
    check_floating,
    check_grid_hw,
    check_int,
    check_num_tokens,
    check_options,
    check_rank,
    check_same_dtype,
)


class TokenReducer(nn.Module):
    """Base class: validates input, splits off prefix tokens, calls :meth:`reduce`.

    A subclass that reads the context sets ``reads_context`` and ``context_dim`` (the base class then
    checks the context against it); one whose parameters read the tokens sets ``matches_dtype`` (tokens of
    another dtype than its parameters are refused, naming both).
    """

    discrete = False  # True: K may not exceed H * W
    reads_context = False
    matches_dtype = False
    context_dim: int | None = None

    def __init__(self, *, dim: int, num_tokens: int, num_prefix_tokens: int = 0):
        super().__init__()
        check_int(dim, "dim", minimum=1)
        check_num_tokens(num_tokens)
        check_int(num_prefix_tokens, "num_prefix_tokens", minimum=0)
        self.dim, self.num_tokens, self.num_prefix_tokens = dim, num_tokens, num_prefix_tokens

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """The options :func:`make_reducer` passes on (every keyword of ``__init__`` but ``dim``, ``num_tokens``)."""
        return _keywords(cls.__init__)

    def num_output_tokens(self, grid_hw: tuple[int, int]) -> int:
        """K': patch tokens out for an ``H x W`` grid (prefix tokens not counted)."""
        return self.num_tokens

    def check_grid(self, grid_hw: tuple[int, int]) -> None:
        """Raise ``ValueError`` if this reducer cannot reduce an ``H x W`` grid (not two ints, empty, K > H * W)."""
        height, width = check_grid_hw(grid_hw)
        if self.discrete:
            check_num_tokens(self.num_tokens, maximum=height * width, what=f"of a {height}x{width} grid")

    def forward(self, tokens: Tensor, *, grid_hw: tuple[int, int], context: Tensor | None = None) -> Reduced:
        """``tokens [B, N, C]`` (floating point; ``B = 0`` gives empty outputs) -> :class:`Reduced`."""
        self._check_tokens(tokens, grid_hw)
        grid_hw = check_grid_hw(grid_hw)
        if self.reads_context:
            check_context(context, self.context_dim, tokens.shape[0], f"reducer {type(self).__name__}")
        prefix, patches = tokens[:, : self.num_prefix_tokens], tokens[:, self.num_prefix_tokens :]
        out = self.reduce(patches, tuple(grid_hw), context)
        if self.num_prefix_tokens:
            out = out.replace(tokens=torch.cat([prefix, out.tokens], dim=1))
        return out

    def _check_tokens(self, tokens: Tensor, grid_hw: tuple[int, int]) -> None:
        check_rank(tokens, 3, "tokens", "[B, N, C]")
        check_floating(tokens, "tokens")
        self.check_grid(grid_hw)
        height, width = grid_hw
        expected = self.num_prefix_tokens + height * width
        if tokens.shape[1] != expected:
            raise ValueError(
                f"tokens has N={tokens.shape[1]} but grid_hw={tuple(grid_hw)} with "
                f"{self.num_prefix_tokens} prefix token(s) needs N={expected}"
            )
        if tokens.shape[2] != self.dim:
            raise ValueError(f"tokens has C={tokens.shape[2]}, reducer built with dim={self.dim}")
        if self.matches_dtype:
            check_same_dtype(tokens, self, "tokens")
        check_finite(tokens, "tokens")

    def reduce(self, patches: Tensor, grid_hw: tuple[int, int], context: Tensor | None) -> Reduced:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_tokens={self.num_tokens}, num_prefix_tokens={self.num_prefix_tokens}"


_REGISTRY: dict[str, Callable[..., TokenReducer]] = {}


def register_reducer(name: str):
    def wrap(cls):
        _REGISTRY[name] = cls
        return cls

    return wrap


def list_reducers() -> list[str]:
    return sorted(_REGISTRY)


def make_reducer(name: str, *, dim: int, num_tokens: int = 16, **options) -> TokenReducer:
    """Build a registered reducer by name (see :func:`list_reducers`); an option it does not read is an error."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown reducer {name!r}; registered: {', '.join(list_reducers())}")
    factory = _REGISTRY[name]
    accepted = factory.option_names() if hasattr(factory, "option_names") else _keywords(factory)
    if accepted is not None:
        check_options(f"reducer {name!r}", options, accepted)
    return factory(dim=dim, num_tokens=num_tokens, **options)


def _keywords(function: Callable) -> tuple[str, ...] | None:
    """The keywords ``function`` takes besides ``dim`` and ``num_tokens``; None if it takes any (``**kwargs``)."""
    parameters = list(inspect.signature(function).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    named = (p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
    return tuple(name for name in named if name not in ("self", "dim", "num_tokens"))


def _gather_patches(patches: Tensor, indices: Tensor) -> Tensor:  # [B, N, C], [B, K] -> [B, K, C]
    return torch.gather(patches, 1, indices.unsqueeze(-1).expand(-1, -1, patches.shape[-1]))


def _index_coords(indices: Tensor, grid_hw: tuple[int, int]) -> Tensor:  # [B, K] -> [B, K, 2]
    return patch_centers(*grid_hw, device=indices.device)[indices]


@register_reducer("dense")
class Dense(TokenReducer):
    """Identity: every patch token (the baseline). ``num_tokens`` and a context are accepted and ignored.

    ``train_tokens``: token dropout — in training each sample keeps a fresh random subset of that many patch
    tokens (in grid order), as ``random`` does with the same K; in evaluation every token. The control that
    tells a reducer's own merit from the regularisation of drawing new patches for every sample. A pair
    ``(low, high)`` draws the count per training batch, uniform in ``low..high`` (``high`` at the grid's size:
    some batches keep every token), so evaluation on the whole grid stays inside the training distribution.
    """

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int = 1,
        num_prefix_tokens: int = 0,
        train_tokens: int | tuple[int, int] | None = None,
    ):
        super().__init__(dim=dim, num_tokens=max(num_tokens, 1), num_prefix_tokens=num_prefix_tokens)
        self.train_tokens = _token_range(train_tokens)

    def num_output_tokens(self, grid_hw: tuple[int, int]) -> int:
        return grid_hw[0] * grid_hw[1]

    def reduce(self, patches, grid_hw, context):
        batch, num_patches, _ = patches.shape
        keep = num_patches
        if self.training and self.train_tokens is not None:
            low, high = self.train_tokens
            drawn = low if low == high else int(torch.randint(low, high + 1, ()))  # one count per batch
            keep = min(drawn, num_patches)
        if keep < num_patches:
            scores = torch.rand(batch, num_patches, device=patches.device)
            indices = scores.topk(keep, dim=1).indices.sort(dim=1).values  # [B, keep]
            return Reduced(_gather_patches(patches, indices), _index_coords(indices, grid_hw), indices)
        coords = patch_centers(*grid_hw, device=patches.device).expand(batch, -1, -1)
        return Reduced(patches, coords)


def _token_range(train_tokens) -> tuple[int, int] | None:
    """``None``, ``K`` or ``(low, high)`` -> ``None`` or ``(low, high)``, named when it is neither."""
    if isinstance(train_tokens, list | tuple):
        if len(train_tokens) != 2:
            raise ValueError(f"train_tokens must be an int or a pair (low, high), got {train_tokens!r}")
        low, high = train_tokens
        check_int(low, "train_tokens low", minimum=1)
        check_int(high, "train_tokens high", minimum=low)
        return int(low), int(high)
    check_int(train_tokens, "train_tokens", minimum=1, optional=True)
    return None if train_tokens is None else (train_tokens, train_tokens)


@register_reducer("grids")
class GridS(TokenReducer):
    """The differentiable grid sampler (:class:`GridSampler`) as a reducer; reads a context iff ``context_dim``."""

    reads_context = True
    matches_dtype = True

    def __init__(self, *, dim: int, num_tokens: int = 16, num_prefix_tokens: int = 0, **sampler_options):
        super().__init__(dim=dim, num_tokens=num_tokens, num_prefix_tokens=num_prefix_tokens)
        self.sampler = GridSampler(dim=dim, num_tokens=num_tokens, **sampler_options)
        self.context_dim = self.sampler.context_dim

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return ("num_prefix_tokens", *GridSampler.option_names())

    def reduce(self, patches, grid_hw, context):
        return self.sampler(patches.unflatten(1, grid_hw), context)  # [B, H, W, C] -> Reduced


@register_reducer("grids-nearest")
class GridSNearest(GridS):
    """Ablation: nearest-patch reading (no gradient to the coordinates through the features)."""

    def __init__(self, **options):
        super().__init__(mode="nearest", **options)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(name for name in super().option_names() if name != "mode")


@register_reducer("grids-heatmap")
class GridSHeatmap(GridS):
    """GridS with the heatmap coordinate head: K score maps, soft-argmax (points can follow content)."""

    def __init__(self, **options):
        super().__init__(coord_head="heatmap", **options)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(name for name in super().option_names() if name not in ("coord_head", "hidden_dim"))


@register_reducer("uniform")
class Uniform(TokenReducer):
    """K fixed points spread evenly over the image, read bilinearly (no parameters; a context is ignored)."""

    def reduce(self, patches, grid_hw, context):
        coords = spread_layout(self.num_tokens).to(patches.device).expand(patches.shape[0], -1, -1)
        return Reduced(sample_tokens(patches.unflatten(1, grid_hw), coords), coords)


@register_reducer("random")
class RandomSelect(TokenReducer):
    """K random patches: fresh per sample in training, the same fixed draw (``seed``) in eval; a context is ignored.

    ``fixed=True``: one seeded draw of K patches for every sample and view, in training as in evaluation — a
    fixed random layout, the control that tells the fresh training draws' effect from the layout's.
    """

    discrete = True

    def __init__(
        self, *, dim: int, num_tokens: int = 16, num_prefix_tokens: int = 0, seed: int = 0, fixed: bool = False
    ):
        super().__init__(dim=dim, num_tokens=num_tokens, num_prefix_tokens=num_prefix_tokens)
        check_int(seed, "seed", minimum=0)
        check_bool(fixed, "fixed")
        self.seed, self.fixed = seed, fixed

    def reduce(self, patches, grid_hw, context):
        batch, num_patches, _ = patches.shape
        generator = None
        if self.fixed or not self.training:
            generator = torch.Generator(device=patches.device).manual_seed(self.seed)
        rows = 1 if self.fixed else batch
        scores = torch.rand(rows, num_patches, generator=generator, device=patches.device).expand(batch, -1)
        indices = scores.topk(self.num_tokens, dim=1).indices.sort(dim=1).values
        return Reduced(_gather_patches(patches, indices), _index_coords(indices, grid_hw), indices)


@register_reducer("topk")
class TopK(TokenReducer):
    """Saliency top-K: by token norm (``score="norm"``), or by attention from a query (``"query"``).

    The query is a learned vector, plus a projection of ``context`` (e.g. the instruction embedding)
    when ``context_dim`` is set: FastV-style text-to-image attention. Kept tokens are scaled by
    ``1 + s - s.detach()`` (value unchanged) so the scorer receives a straight-through gradient.
    ``context_dim`` needs ``score="query"``; the context is then required, and refused without it.
    """

    discrete = True
    reads_context = True

    def __init__(
        self,
        *,
        dim: int,
        num_tokens: int = 16,
        num_prefix_tokens: int = 0,
        score: str = "norm",
        context_dim: int | None = None,
    ):
        super().__init__(dim=dim, num_tokens=num_tokens, num_prefix_tokens=num_prefix_tokens)
        if score not in ("norm", "query"):
            raise ValueError(f"score must be 'norm' or 'query', got {score!r}")
        check_int(context_dim, "context_dim", minimum=1, optional=True)
        if context_dim is not None and score != "query":
            raise ValueError(
                f"context_dim={context_dim} is read by the query; score={score!r} has none: use score='query'"
            )
        self.score, self.context_dim = score, context_dim
        self.query = nn.Parameter(torch.randn(dim) / math.sqrt(dim)) if score == "query" else None
        self.context_proj = nn.Linear(context_dim, dim) if score == "query" and context_dim else None

    def reduce(self, patches, grid_hw, context):
        if self.score == "norm":
            scores = patches.float().norm(dim=-1)  # [B, N]
        else:
            query = self.query.expand(patches.shape[0], -1)
            if self.context_proj is not None:  # the context is there: forward checked it
                query = query + self.context_proj(context.to(query.dtype))
            scores = torch.einsum("bnc,bc->bn", patches, query.to(patches.dtype)).float() / math.sqrt(
                self.dim
            )
        indices = scores.topk(self.num_tokens, dim=1).indices.sort(dim=1).values
        kept = _gather_patches(patches, indices)
        if self.score == "query":
            weight = torch.softmax(scores, dim=1).gather(1, indices).unsqueeze(-1)
            kept = kept * (1 + weight - weight.detach()).to(kept.dtype)
        return Reduced(kept, _index_coords(indices, grid_hw), indices)


def _pool_shape(num_tokens: int, grid_hw: tuple[int, int]) -> tuple[int, int]:
    """The factorisation h * w = K whose aspect ratio is closest to the grid's."""
    height, width = grid_hw
    pairs = [(h, num_tokens // h) for h in range(1, num_tokens + 1) if num_tokens % h == 0]
    pairs = [(h, w) for h, w in pairs if h <= height and w <= width]
    if not pairs:
        raise ValueError(f"num_tokens={num_tokens} cannot tile a {height}x{width} grid")
    return min(pairs, key=lambda hw: abs(math.log(hw[0] / hw[1]) - math.log(height / width)))


@register_reducer("pool")
class Pool(TokenReducer):
    """Adaptive average pooling of the grid to h x w = K cells (a context is ignored)."""

    discrete = True

    def check_grid(self, grid_hw: tuple[int, int]) -> None:
        super().check_grid(grid_hw)
        _pool_shape(self.num_tokens, grid_hw)  # K must factor into h x w cells that fit the grid

    def reduce(self, patches, grid_hw, context):
        out_h, out_w = _pool_shape(self.num_tokens, grid_hw)
        feature_map = patches.unflatten(1, grid_hw).permute(0, 3, 1, 2)  # [B, C, H, W]
        pooled = F.adaptive_avg_pool2d(feature_map, (out_h, out_w)).flatten(2).transpose(1, 2)
        height, width = grid_hw
        # Cell centres in the align-corners frame: mean patch centre of each pooling window.
        centers = (
            patch_centers(height, width, device=patches.device).reshape(height, width, 2).permute(2, 0, 1)
        )
        cell = F.adaptive_avg_pool2d(centers.unsqueeze(0), (out_h, out_w)).flatten(2).transpose(1, 2)
        return Reduced(pooled, cell.expand(patches.shape[0], -1, -1))


@register_reducer("tome")
class ToMe(TokenReducer):
    """Token Merging (Bolya et al., 2023): bipartite soft matching, repeated until K tokens remain.

    Merged tokens are size-weighted means; the reported coordinate is the size-weighted centroid.
    A context is ignored.
    """

    discrete = True

    def reduce(self, patches, grid_hw, context):
        batch, num_patches, channels = patches.shape
        tokens = patches
        coords = patch_centers(*grid_hw, device=patches.device).to(patches.dtype).expand(batch, -1, -1)
        sizes = torch.ones(batch, num_patches, 1, device=patches.device, dtype=patches.dtype)
        while tokens.shape[1] > self.num_tokens:
            tokens, coords, sizes = self._merge_step(tokens, coords, sizes, tokens.shape[1] - self.num_tokens)
        return Reduced(tokens, coords.float())

    @staticmethod
    def _merge_step(tokens: Tensor, coords: Tensor, sizes: Tensor, excess: int):
        # Alternate tokens into sets A and B; merge the r most similar A tokens into their best B match.
        a_tok, b_tok = tokens[:, ::2], tokens[:, 1::2]
        r = min(excess, a_tok.shape[1])
        similarity = F.normalize(a_tok.float(), dim=-1) @ F.normalize(b_tok.float(), dim=-1).transpose(1, 2)
        best_value, best_b = similarity.max(dim=-1)  # [B, Na]
        order = best_value.argsort(dim=-1, descending=True)
        merged_a, kept_a = order[:, :r], order[:, r:]
        target = best_b.gather(1, merged_a)  # [B, r]

        def combine(values_a: Tensor, values_b: Tensor, weight_a: Tensor, weight_b: Tensor) -> Tensor:
            width = values_a.shape[-1]
            pick = merged_a.unsqueeze(-1).expand(-1, -1, width)
            into = target.unsqueeze(-1).expand(-1, -1, width)
            summed = (values_b * weight_b).scatter_add(1, into, (values_a * weight_a).gather(1, pick))
            return summed

        size_a, size_b = sizes[:, ::2], sizes[:, 1::2]
        new_size_b = size_b.scatter_add(1, target.unsqueeze(-1), size_a.gather(1, merged_a.unsqueeze(-1)))
        new_tok_b = combine(a_tok, b_tok, size_a, size_b) / new_size_b
        new_coord_b = combine(coords[:, ::2], coords[:, 1::2], size_a, size_b) / new_size_b
        keep = kept_a.sort(dim=-1).values

        def take(values: Tensor) -> Tensor:
            return values.gather(1, keep.unsqueeze(-1).expand(-1, -1, values.shape[-1]))

        return (
            torch.cat([take(a_tok), new_tok_b], dim=1),
            torch.cat([take(coords[:, ::2]), new_coord_b], dim=1),
            torch.cat([take(size_a), new_size_b], dim=1),
        )


@register_reducer("perceiver")
class Perceiver(TokenReducer):
    """K learned queries cross-attending to the patch tokens (Perceiver-resampler style).

    The reported coordinate is the attention-weighted mean patch centre of each query. A context is
    ignored (the queries are learned, not conditioned).
    """

    matches_dtype = True

    def __init__(
        self, *, dim: int, num_tokens: int = 16, num_prefix_tokens: int = 0, num_heads: int | None = None
    ):
        super().__init__(dim=dim, num_tokens=num_tokens, num_prefix_tokens=num_prefix_tokens)
        check_int(num_heads, "num_heads", minimum=1, optional=True)
        self.num_heads = num_heads or next(h for h in (8, 4, 2, 1) if dim % h == 0)
        if dim % self.num_heads:
            raise ValueError(f"dim={dim} is not divisible by num_heads={self.num_heads}")
        self.queries = nn.Parameter(torch.randn(num_tokens, dim) * 0.02)
        self.norm = nn.LayerNorm(dim)
        self.to_q, self.to_k, self.to_v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def reduce(self, patches, grid_hw, context):
        batch = patches.shape[0]
        keys = self.norm(patches)
        split = lambda x: x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)  # noqa: E731  [B, h, n, d]
        q = split(self.to_q(self.queries).expand(batch, -1, -1))
        k, v = split(self.to_k(keys)), split(self.to_v(keys))
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)  # [B, h, K, N]
        tokens = self.out((attention @ v).transpose(1, 2).flatten(2))
        centers = patch_centers(*grid_hw, device=patches.device)
        coords = attention.float().mean(dim=1) @ centers  # [B, K, 2]
        return Reduced(tokens, coords)
