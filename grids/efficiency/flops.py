"""Whole-model FLOPs of VLA shapes, per stage, counted on the meta device and by formula.

Convention: one multiply-add = 2 FLOPs; every matrix product counts (linear layers, convolutions,
attention scores and attention-weighted values); element-wise ops, norms and softmax do not (well under
1 %). This is what ``torch.utils.flop_counter.FlopCounterMode`` counts, and what the formulas below
reproduce. Inference of one action chunk: vision tower on every view, the LLM over the whole prefix
once (its K/V cached), then ``num_steps`` passes of the action expert.

Two traps, both handled here: (1) with SDPA attention on CPU, FlopCounterMode has no formula for
``aten._scaled_dot_product_flash_attention_for_cpu`` and silently drops attention (we build with eager
attention, and :func:`register_cpu_sdpa` adds the formula for anyone timing with SDPA); (2) on meta,
transformers needs an explicit attention mask (``VLAShapedPolicy.prefill`` passes one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from grids.core import check_resample_at_layer, list_reducers, make_reducer, set_value_checks
from grids.core.validation import check_int, value_checks_enabled
from grids.efficiency.shapes import VLAShape, get_shape
from grids.efficiency.vla import VLAShapedPolicy

STAGES = ("vision", "projector", "reducer", "llm_prefix", "action_expert")
_CPU_SDPA_REGISTERED = False


def register_cpu_sdpa() -> None:
    """Give FlopCounterMode a formula for CPU flash attention (it has none and counts 0)."""
    global _CPU_SDPA_REGISTERED
    if _CPU_SDPA_REGISTERED:
        return
    from torch.utils.flop_counter import register_flop_formula, sdpa_flop_count

    @register_flop_formula(torch.ops.aten._scaled_dot_product_flash_attention_for_cpu)
    def _cpu_flash(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    _CPU_SDPA_REGISTERED = True


def count_flops(fn, *args, **kwargs) -> int:
    """FLOPs (2 per multiply-add) of ``fn(*args, **kwargs)``, as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn(*args, **kwargs)
    return counter.get_total_flops()


@dataclass
class StageFlops:
    vision: float = 0.0
    projector: float = 0.0
    reducer: float = 0.0
    llm_prefix: float = 0.0
    action_expert: float = 0.0

    @property
    def total(self) -> float:
        return sum(getattr(self, s) for s in STAGES)

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "total": self.total}


def build_shaped_policy(
    shape: str | VLAShape, *, device: str | torch.device = "meta", **options
) -> VLAShapedPolicy:
    """A :class:`VLAShapedPolicy` with random weights; on ``meta`` it allocates nothing."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    with torch.device(device):
        return VLAShapedPolicy(shape, **options).eval()


def count_stages(policy: VLAShapedPolicy, *, batch: int = 1, text_tokens: int | None = None) -> StageFlops:
    """Count each stage of one inference call, on whatever device ``policy`` lives (meta: no memory)."""
    device = policy.projector.weight.device
    images, text, state, noise = policy.example_inputs(batch, text_tokens=text_tokens, device=device)
    checks = value_checks_enabled()
    set_value_checks(False)  # value checks read tensor values; meta tensors have none
    try:
        out = StageFlops()
        with torch.no_grad():
            with FlopCounterMode(display=False) as c:
                feats = policy.encode_images(images)
            out.vision = c.get_total_flops()
            if policy.hook is not None:  # the reducer ran inside the vision tower: book it apart
                shape = policy.shape
                tokens = torch.zeros(feats.shape[0], shape.tokens_per_view, shape.vision.width, device=device)
                out.reducer = count_flops(policy.reducer, tokens, grid_hw=shape.vision.grid_hw)
                out.vision -= out.reducer
            with FlopCounterMode(display=False) as c:
                tokens = policy.project(feats)
            out.projector = c.get_total_flops()
            with FlopCounterMode(display=False) as c:
                tokens = policy.reduce(tokens)
            out.reducer += c.get_total_flops()
            with FlopCounterMode(display=False) as c:
                cache = policy.prefill(policy.build_prefix(tokens, text, state))
            out.llm_prefix = c.get_total_flops()
            with FlopCounterMode(display=False) as c:
                policy.expert(cache, state, noise)
            out.action_expert = c.get_total_flops()
        return out
    finally:
        set_value_checks(checks)


def check_variant(
    shape: str | VLAShape,
    *,
    views: int = 2,
    reducer: str = "dense",
    num_tokens: int = 16,
    text_tokens: int | None = None,
    resample_at_layer: int | None = None,
    batch: int = 1,
) -> VLAShape:
    """Refuse a variant that cannot be built, for the count and the formula alike (the formula would
    otherwise print a number for a layer outside the encoder or a negative prompt); returns the shape."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    if reducer not in list_reducers():
        raise ValueError(f"unknown reducer {reducer!r}; registered: {', '.join(list_reducers())}")
    check_int(views, "views", minimum=1)
    check_int(batch, "batch", minimum=1)
    check_int(num_tokens, "num_tokens", minimum=1)
    check_int(text_tokens, "text_tokens", minimum=1, optional=True)
    depth = shape.vision.depth
    check_resample_at_layer(resample_at_layer, depth, encoder=f"{shape.name}'s {depth}-block vision encoder")
    grid_hw = shape.vision.grid_hw if resample_at_layer is not None else shape.grid_hw
    make_reducer(reducer, dim=8, num_tokens=num_tokens).check_grid(
        grid_hw
    )  # K too large, a pool that cannot tile
    return shape


def count_model(
    shape: str | VLAShape,
    *,
    views: int = 2,
    reducer: str = "dense",
    num_tokens: int = 16,
    text_tokens: int | None = None,
    resample_at_layer: int | None = None,
    batch: int = 1,
) -> StageFlops:
    """Meta-device count of a full-size shape (about a second, no weight memory)."""
    check_variant(
        shape, views=views, reducer=reducer, num_tokens=num_tokens, text_tokens=text_tokens,
        resample_at_layer=resample_at_layer, batch=batch,
    )  # fmt: skip
    policy = build_shaped_policy(
        shape, num_views=views, reducer=reducer, num_tokens=num_tokens, resample_at_layer=resample_at_layer
    )
    return count_stages(policy, batch=batch, text_tokens=text_tokens)


# ---------------------------------------------------------------------------------------------------
# The same numbers by formula (2 FLOPs per multiply-add), to hold the counts against.


def _vit_flops(shape: VLAShape, tokens_per_block: list[int]) -> float:
    v = shape.vision
    patches = v.grid_hw[0] * v.grid_hw[1]
    flops = 2 * patches * 3 * v.patch_size**2 * v.width  # patch-embedding convolution
    for n in tokens_per_block:
        flops += 2 * n * (4 * v.width**2 + 2 * v.width * v.mlp_dim) + 4 * n * n * v.width
    return flops


def _grids_flops(dim: int, num_tokens: int, hidden: int = 512, coord_hidden: int = 256) -> float:
    # coordinate MLP on the pooled feature, then the coordinate embedding MLP on each of the K points
    return 2 * (dim * hidden + hidden * 2 * num_tokens) + 2 * num_tokens * (
        2 * coord_hidden + coord_hidden * dim
    )


def _decoder_linear_macs(width: int, heads: int, kv_heads: int, head_dim: int, mlp_dim: int) -> int:
    return width * heads * head_dim * 2 + 2 * width * kv_heads * head_dim + 3 * width * mlp_dim


def llm_prefix_flops(shape: VLAShape, prefix_tokens: int) -> float:
    d = shape.llm
    per_layer = 2 * prefix_tokens * _decoder_linear_macs(d.width, d.heads, d.kv_heads, d.head_dim, d.mlp_dim)
    per_layer += 4 * prefix_tokens**2 * d.heads * d.head_dim  # scores + weighted values, full matrix
    state = 2 * shape.action_dim * d.width if shape.state_in_prefix else 0
    return d.depth * per_layer + state


def action_expert_flops(shape: VLAShape, prefix_tokens: int) -> float:
    e, width, steps = shape.expert, shape.expert.width, shape.num_steps
    suffix, horizon, act = shape.suffix_tokens, shape.horizon, shape.action_dim
    step = 2 * horizon * act * width * 2  # action in / out projections
    if shape.time_per_token:
        step += 2 * horizon * 3 * width * width  # Linear(2W, W) and Linear(W, W) per action token
    else:
        # time MLP, then adaRMS (two norms per layer and the final norm), per sample
        step += 2 * 2 * width * width + (2 * e.depth + 1) * 2 * width * 3 * width
    if shape.state_in_suffix:
        step += 2 * act * width
    kv_llm, kv_expert = shape.llm.kv_heads * shape.llm.head_dim, e.kv_heads * e.head_dim
    for index in range(e.depth):
        if shape.is_cross_layer(index):
            step += 2 * suffix * (2 * width * e.heads * e.head_dim + 3 * width * e.mlp_dim)
            step += 2 * 2 * prefix_tokens * kv_llm * kv_expert  # re-project the cached prefix K/V
            step += 4 * suffix * prefix_tokens * e.heads * e.head_dim
        else:
            step += 2 * suffix * _decoder_linear_macs(width, e.heads, e.kv_heads, e.head_dim, e.mlp_dim)
            step += 4 * suffix * (prefix_tokens + suffix) * e.heads * e.head_dim
    return steps * step


def analytic_stages(
    shape: str | VLAShape,
    *,
    views: int = 2,
    reducer: str = "dense",
    num_tokens: int = 16,
    text_tokens: int | None = None,
    resample_at_layer: int | None = None,
    batch: int = 1,
) -> StageFlops:
    """Per-stage FLOPs by formula. Reducer cost is modelled for dense/grids/uniform/pool/random only."""
    shape = check_variant(
        shape, views=views, reducer=reducer, num_tokens=num_tokens, text_tokens=text_tokens,
        resample_at_layer=resample_at_layer, batch=batch,
    )  # fmt: skip
    text_tokens = text_tokens or shape.text_tokens
    v, d = shape.vision, shape.llm
    patches = v.grid_hw[0] * v.grid_hw[1]
    kept = shape.tokens_per_view if reducer == "dense" else num_tokens
    if reducer not in ("dense", "grids", "uniform", "pool", "random"):
        raise ValueError(f"no formula for reducer {reducer!r}")
    layer = v.depth if resample_at_layer is None else resample_at_layer
    in_encoder = resample_at_layer is not None
    vision_kept = kept if in_encoder and reducer != "dense" else patches
    out = StageFlops()
    out.vision = views * _vit_flops(shape, [patches] * layer + [vision_kept] * (v.depth - layer))
    projected = vision_kept if in_encoder else patches
    out.projector = 2 * views * projected * v.width * d.width  # pixel shuffle: N/s^2 tokens of s^2 C
    if reducer == "grids":
        out.reducer = views * _grids_flops(v.width if in_encoder else d.width, num_tokens)
    prefix = views * kept + text_tokens + int(shape.state_in_prefix)
    out.llm_prefix = llm_prefix_flops(shape, prefix)
    out.action_expert = action_expert_flops(shape, prefix)
    for stage in STAGES:
        setattr(out, stage, batch * getattr(out, stage))
    return out


def floor_flops(shape: str | VLAShape, *, text_tokens: int | None = None, batch: int = 1) -> float:
    """What no visual-token reducer can go below: no image tokens at all, only text (+ state) in the
    prefix, and the full action expert over that prefix."""
    shape = get_shape(shape) if isinstance(shape, str) else shape
    check_int(text_tokens, "text_tokens", minimum=1, optional=True)
    check_int(batch, "batch", minimum=1)
    prefix = (text_tokens or shape.text_tokens) + int(shape.state_in_prefix)
    return batch * (llm_prefix_flops(shape, prefix) + action_expert_flops(shape, prefix))
