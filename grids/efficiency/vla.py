"""A VLA-shaped policy with random weights, for counting FLOPs and timing: π0 / π0.5 / SmolVLA layouts.

    images [B, V, 3, S, S] -> vision tower (HF SigLIP)      -> [B*V, N, Cv]   (optionally resampled inside)
                           -> projector (+ pixel shuffle)    -> [B*V, N', D]
                           -> reducer                        -> [B*V, K, D]
    prefix = [image tokens ; text embeddings (; state)]     -> LLM (HF Gemma / Llama) -> per-layer K/V cache
    num_steps x action expert over [state ;] H action tokens, attending to the cached prefix -> actions

The vision tower and the LLM are the transformers modules themselves; the action expert is written out
here (a few lines) because it attends to another model's K/V cache: jointly (π0, π0.5, SmolVLA's even
layers) or only to a re-projection of the prefix K/V (SmolVLA's odd, cross-attention layers).
Rotary position embeddings are left out of the expert: they cost no matrix FLOPs.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
from itertools import chain

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from grids.core import ResampleAtLayer, check_resample_at_layer, make_reducer
from grids.core.in_encoder import find_blocks
from grids.efficiency.shapes import DecoderShape, VLAShape


@functools.cache
def _cache_kwarg() -> str:
    """transformers 5 renamed ``past_key_values`` to ``cache`` (the old name warns until 5.40)."""
    from transformers import GemmaModel

    return "cache" if "cache" in inspect.signature(GemmaModel.forward).parameters else "past_key_values"


def prefill_cache(config):
    """A transformers ``DynamicCache`` whose layers keep one prefill's K/V: a second write to a layer
    replaces it instead of appending, so gradient checkpointing can replay a decoder layer (which
    writes its K/V again) and get tensors of the same shape back."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    class PrefillLayer(DynamicLayer):
        def update(self, key_states: Tensor, value_states: Tensor, *args, **kwargs):
            self.keys, self.values, self.is_initialized = key_states, value_states, True
            self.device = key_states.device
            return key_states, value_states

    cache = DynamicCache(config=config)
    cache.layers = [PrefillLayer() for _ in cache.layers]
    return cache


def vision_config(shape: VLAShape, attn: str = "eager"):
    from transformers import SiglipVisionConfig

    v = shape.vision
    config = SiglipVisionConfig(
        hidden_size=v.width,
        num_hidden_layers=v.depth,
        num_attention_heads=v.heads,
        intermediate_size=v.mlp_dim,
        patch_size=v.patch_size,
        image_size=v.image_size,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        vision_use_head=False,  # openpi pool_type="none"; SmolVLM takes last_hidden_state
    )
    config._attn_implementation = attn
    return config


def llm_config(shape: VLAShape, attn: str = "eager"):
    from transformers import GemmaConfig, LlamaConfig

    d = shape.llm
    common = dict(
        hidden_size=d.width,
        num_hidden_layers=d.depth,
        num_attention_heads=d.heads,
        num_key_value_heads=d.kv_heads,
        head_dim=d.head_dim,
        intermediate_size=d.mlp_dim,
        vocab_size=8,  # inputs_embeds only: the embedding table costs no FLOPs, so keep it tiny
    )
    if d.activation == "silu":
        config = LlamaConfig(hidden_act="silu", **common)
    else:
        config = GemmaConfig(hidden_activation=d.activation, **common)
    config._attn_implementation = attn
    return config


def _activation(name: str):
    return nn.SiLU() if name == "silu" else nn.GELU(approximate="tanh")


def adaptive_norm(norm: nn.Module, ada: nn.Module | None, x: Tensor, cond: Tensor | None):
    """``norm(x)``, modulated by ``cond`` (scale, shift; and a gate for the residual) when ``ada`` is set."""
    if ada is None or cond is None:
        return norm(x), 1.0
    scale, shift, gate = ada(cond).unsqueeze(1).chunk(3, dim=-1)
    return norm(x) * (1 + scale) + shift, gate


class ExpertLayer(nn.Module):
    """One decoder layer of the action expert, attending to ``[prefix K/V ; own K/V]`` (or prefix only)."""

    def __init__(self, shape: DecoderShape, *, prefix_kv_dim: int | None = None, adaptive_norm: bool = False):
        super().__init__()
        width, inner, kv = shape.width, shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
        self.heads, self.kv_heads, self.head_dim = shape.heads, shape.kv_heads, shape.head_dim
        self.cross = prefix_kv_dim is not None
        self.norm1, self.norm2 = nn.RMSNorm(width, eps=1e-6), nn.RMSNorm(width, eps=1e-6)
        self.q_proj = nn.Linear(width, inner, bias=False)
        # SmolVLA cross layers re-project the LLM's cached K/V; other layers project their own tokens.
        self.k_proj = nn.Linear(prefix_kv_dim or width, kv, bias=False)
        self.v_proj = nn.Linear(prefix_kv_dim or width, kv, bias=False)
        self.o_proj = nn.Linear(inner, width, bias=False)
        self.gate_proj = nn.Linear(width, shape.mlp_dim, bias=False)
        self.up_proj = nn.Linear(width, shape.mlp_dim, bias=False)
        self.down_proj = nn.Linear(shape.mlp_dim, width, bias=False)
        self.act = _activation(shape.activation)
        # π0.5 adaRMS: the flow-matching time modulates each norm (scale, shift, gate), once per sample.
        self.ada1 = nn.Linear(width, 3 * width) if adaptive_norm else None
        self.ada2 = nn.Linear(width, 3 * width) if adaptive_norm else None

    def forward(self, x: Tensor, prefix_k: Tensor, prefix_v: Tensor, cond: Tensor | None = None) -> Tensor:
        # x [B, S, W]; prefix_k/v [B, kv_heads_llm, P, head_dim_llm] from the LLM cache
        batch, length, _ = x.shape
        h, gate = adaptive_norm(self.norm1, self.ada1, x, cond)
        q = self.q_proj(h).view(batch, length, self.heads, self.head_dim).transpose(1, 2)
        if self.cross:
            prefix_k, prefix_v = (t.transpose(1, 2).flatten(2) for t in (prefix_k, prefix_v))  # [B, P, kv]
            k = self.k_proj(prefix_k).view(batch, -1, self.kv_heads, self.head_dim).transpose(1, 2)
            v = self.v_proj(prefix_v).view(batch, -1, self.kv_heads, self.head_dim).transpose(1, 2)
        else:
            own_k = self.k_proj(h).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
            own_v = self.v_proj(h).view(batch, length, self.kv_heads, self.head_dim).transpose(1, 2)
            k, v = torch.cat([prefix_k, own_k], dim=2), torch.cat([prefix_v, own_v], dim=2)
        group = self.heads // self.kv_heads  # grouped-query attention: share each K/V head
        k = k.repeat_interleave(group, dim=1) if group > 1 else k
        v = v.repeat_interleave(group, dim=1) if group > 1 else v
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B, H, S, P(+S)]
        attended = torch.matmul(scores.softmax(dim=-1), v).transpose(1, 2).flatten(2)
        x = x + gate * self.o_proj(attended)
        h, gate = adaptive_norm(self.norm2, self.ada2, x, cond)
        return x + gate * self.down_proj(self.act(self.gate_proj(h)) * self.up_proj(h))


def time_embedding(t: Tensor, dim: int, min_period: float = 4e-3, max_period: float = 4.0) -> Tensor:
    """Sine-cosine embedding of the flow-matching time ``t [B]`` -> ``[B, dim]`` (as in openpi)."""
    fraction = torch.linspace(0.0, 1.0, dim // 2, device=t.device, dtype=torch.float32)
    period = min_period * (max_period / min_period) ** fraction
    angle = t.float()[:, None] * (2 * math.pi / period)[None]
    return torch.cat([angle.sin(), angle.cos()], dim=-1)


class ActionExpert(nn.Module):
    """The flow-matching head: ``num_steps`` Euler steps over the action chunk, prefix cached."""

    def __init__(self, shape: VLAShape):
        super().__init__()
        e, width = shape.expert, shape.expert.width
        self.shape = shape
        prefix_kv = shape.llm.kv_heads * shape.llm.head_dim
        if (e.kv_heads, e.head_dim) != (shape.llm.kv_heads, shape.llm.head_dim) and not all(
            shape.is_cross_layer(i) for i in range(e.depth)
        ):
            raise ValueError(
                f"joint attention needs the expert's K/V heads ({e.kv_heads} x {e.head_dim}) to match the "
                f"LLM's ({shape.llm.kv_heads} x {shape.llm.head_dim})"
            )
        adaptive = not shape.time_per_token
        self.layers = nn.ModuleList(
            ExpertLayer(
                e, prefix_kv_dim=prefix_kv if shape.is_cross_layer(i) else None, adaptive_norm=adaptive
            )
            for i in range(e.depth)
        )
        self.norm = nn.RMSNorm(width, eps=1e-6)
        self.norm_ada = nn.Linear(width, 3 * width) if adaptive else None  # π0.5's final norm is adaRMS too
        self.action_in_proj = nn.Linear(shape.action_dim, width)
        self.action_out_proj = nn.Linear(width, shape.action_dim)
        self.state_proj = nn.Linear(shape.action_dim, width) if shape.state_in_suffix else None
        if shape.time_per_token:  # π0 / SmolVLA: MLP on [action ; time] per token
            self.time_mlp_in, self.time_mlp_out = nn.Linear(2 * width, width), nn.Linear(width, width)
        else:  # π0.5: MLP on the time embedding, once per sample, then adaRMS
            self.time_mlp_in, self.time_mlp_out = nn.Linear(width, width), nn.Linear(width, width)

    def velocity(self, x_t: Tensor, t: Tensor, state: Tensor, cache: list[tuple[Tensor, Tensor]]) -> Tensor:
        width = self.action_in_proj.out_features
        tokens = self.action_in_proj(x_t)  # [B, H, W]
        time = time_embedding(t, width).to(tokens.dtype)
        cond = None
        if self.shape.time_per_token:
            time = time[:, None].expand_as(tokens)
            tokens = self.time_mlp_out(F.silu(self.time_mlp_in(torch.cat([tokens, time], dim=-1))))
        else:
            cond = F.silu(self.time_mlp_out(F.silu(self.time_mlp_in(time))))
        if self.state_proj is not None:
            tokens = torch.cat([self.state_proj(state)[:, None], tokens], dim=1)
        for layer, (k, v) in zip(self.layers, cache, strict=True):
            tokens = layer(tokens, k, v, cond)
        tokens, _ = adaptive_norm(self.norm, self.norm_ada, tokens[:, -self.shape.horizon :], cond)
        return self.action_out_proj(tokens)

    def loss(
        self, cache: list[tuple[Tensor, Tensor]], state: Tensor, actions: Tensor, noise: Tensor, t: Tensor
    ) -> Tensor:
        """Flow-matching training loss at time ``t [B]`` (openpi): the velocity at
        ``x_t = t * noise + (1 - t) * actions`` regressed on ``noise - actions``; one expert pass."""
        t_ = t[:, None, None].to(noise.dtype)
        x_t = t_ * noise + (1 - t_) * actions
        return F.mse_loss(self.velocity(x_t, t, state, cache), noise - actions)

    def forward(self, cache: list[tuple[Tensor, Tensor]], state: Tensor, noise: Tensor) -> Tensor:
        x_t, dt = noise, -1.0 / self.shape.num_steps
        t = torch.ones(noise.shape[0], device=noise.device, dtype=noise.dtype)
        for _ in range(self.shape.num_steps):
            x_t = x_t + dt * self.velocity(x_t, t, state, cache)
            t = t + dt
        return x_t


class VLAShapedPolicy(nn.Module):
    """Vision tower, projector, reducer, LLM prefix and action expert of a VLA shape (random weights).

    Args:
        shape: a :class:`VLAShape` (see ``grids.efficiency.shapes.SHAPES``).
        num_views: camera views per sample.
        reducer: a registered reducer name (``"dense"`` keeps every token).
        num_tokens: K, tokens per view kept by the reducer.
        resample_at_layer: None (reduce after the projector, as the paper does) or L in [0, depth]:
            reduce inside the vision tower before block L, at the vision width, so later blocks and the
            projector see K tokens. Not available with a pixel-shuffle connector (SmolVLA).
        attn: transformers attention implementation (``"eager"`` for counting: see flops.py).
    """

    def __init__(
        self,
        shape: VLAShape,
        *,
        num_views: int = 2,
        reducer: str = "dense",
        num_tokens: int = 16,
        resample_at_layer: int | None = None,
        attn: str = "eager",
        **reducer_options,
    ):
        from transformers import AutoModel, SiglipVisionModel

        super().__init__()
        self.shape, self.num_views = shape, num_views
        self.vision = SiglipVisionModel(vision_config(shape, attn))
        shuffled = shape.vision.width * shape.pixel_shuffle**2
        self.projector = nn.Linear(shuffled, shape.llm.width, bias=shape.pixel_shuffle == 1)
        self.llm = AutoModel.from_config(llm_config(shape, attn))
        self.expert = ActionExpert(shape)
        self.state_proj = nn.Linear(shape.action_dim, shape.llm.width) if shape.state_in_prefix else None
        self._set_reducer(reducer, num_tokens, resample_at_layer, **reducer_options)

    def _set_reducer(self, reducer: str, num_tokens: int, resample_at_layer: int | None, **options) -> None:
        shape = self.shape
        check_resample_at_layer(resample_at_layer, shape.vision.depth)
        if resample_at_layer is not None and shape.pixel_shuffle != 1:
            raise ValueError(
                f"resample_at_layer needs a connector without pixel shuffle; {shape.name} shuffles "
                f"{shape.pixel_shuffle}x{shape.pixel_shuffle} patches"
            )
        self.resample_layer, self.hook = resample_at_layer, None
        dim = shape.llm.width if resample_at_layer is None else shape.vision.width
        # Reducers read values at init (layouts), which the meta device cannot: build on CPU, then move.
        with torch.device("cpu"):
            self.reducer = make_reducer(reducer, dim=dim, num_tokens=num_tokens, **options)
        weight = self.projector.weight
        self.reducer.to(device=weight.device, dtype=weight.dtype)
        if resample_at_layer is not None:
            self.hook = ResampleAtLayer(
                self.vision, resample_at_layer, self.reducer, grid_hw=shape.vision.grid_hw
            )

    def with_reducer(
        self, reducer: str, *, num_tokens: int = 16, resample_at_layer: int | None = None, **reducer_options
    ) -> VLAShapedPolicy:
        """A copy with its own reducer that shares every other weight and buffer with this policy, so
        that several variants of one full-size model fit in memory once. The module objects are new
        (the in-encoder hook sits on the copy's blocks only); only the reducer has new weights."""
        if self.hook is not None:
            raise ValueError("with_reducer copies a policy without an in-encoder hook (build it dense)")
        shared = {id(t): t for t in chain(self.parameters(), self.buffers())}
        twin = copy.deepcopy(self, memo=shared)
        twin._set_reducer(reducer, num_tokens, resample_at_layer, **reducer_options)
        return twin

    def enable_gradient_checkpointing(self) -> None:
        """Recompute each SigLIP block and LLM layer in the backward pass instead of keeping their
        activations (transformers' checkpointing, non-reentrant, so that the K/V the LLM leaves in the
        prefill cache keep their gradient). The action expert is small and is not checkpointed.
        transformers then warns that it sets ``use_cache=False``: it does so per layer, and each layer
        still writes its K/V into the cache it is handed."""
        for model in (self.vision, self.llm):
            if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.x
                model.activation_checkpointing_enable({"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        for layer in self.llm.layers:
            layer._can_checkpoint_with_cache = True  # safe: prefill_cache replaces on replay

    def blocks(self) -> list[nn.Module]:
        """The repeated blocks (SigLIP, LLM, expert), e.g. to compile each one (regional compilation)."""
        return [*find_blocks(self.vision), *self.llm.layers, *self.expert.layers]

    @property
    def image_tokens_per_view(self) -> int:
        return self.reducer.num_output_tokens(self.shape.grid_hw)

    # The stages, in order; FLOPs are counted per stage (flops.py).
    def encode_images(self, images: Tensor) -> Tensor:  # [B, V, 3, S, S] -> [B*V, N or K, Cv]
        return self.vision(pixel_values=images.flatten(0, 1)).last_hidden_state

    def project(self, feats: Tensor) -> Tensor:  # -> [B*V, N' or K, D]
        s = self.shape.pixel_shuffle
        if s > 1 and self.hook is None:  # SmolVLM connector: s x s neighbours -> channels
            height, width = self.shape.vision.grid_hw
            feats = feats.unflatten(1, (height // s, s, width // s, s)).permute(0, 1, 3, 2, 4, 5)
            feats = feats.flatten(3).flatten(1, 2)
        return self.projector(feats)

    def reduce(self, tokens: Tensor) -> Tensor:  # [B*V, N', D] -> [B*V, K, D]
        if self.hook is not None:
            return tokens
        return self.reducer(tokens, grid_hw=self.shape.grid_hw).tokens

    def build_prefix(self, image_tokens: Tensor, text: Tensor, state: Tensor) -> Tensor:
        image_tokens = image_tokens.unflatten(0, (-1, self.num_views)).flatten(1, 2)  # [B, V*K, D]
        parts = [image_tokens, text.to(image_tokens.dtype)]
        if self.state_proj is not None:
            parts.append(self.state_proj(state)[:, None])
        return torch.cat(parts, dim=1)

    def prefill(self, prefix: Tensor) -> list[tuple[Tensor, Tensor]]:
        # An explicit all-ones mask: without it transformers inspects mask values, impossible on meta.
        mask = torch.ones(prefix.shape[:2], dtype=torch.long, device=prefix.device)
        cache = prefill_cache(self.llm.config)
        self.llm(inputs_embeds=prefix, attention_mask=mask, use_cache=True, **{_cache_kwarg(): cache})
        return [(layer.keys, layer.values) for layer in cache.layers]

    def forward(self, images: Tensor, text: Tensor, state: Tensor, noise: Tensor) -> Tensor:
        """``images [B, V, 3, S, S]``, ``text [B, T, D]`` (embedded), ``state [B, A]``, ``noise [B, H, A]``."""
        tokens = self.reduce(self.project(self.encode_images(images)))
        cache = self.prefill(self.build_prefix(tokens, text, state))
        return self.expert(cache, state, noise)

    def example_inputs(self, batch: int = 1, *, text_tokens: int | None = None, device=None, dtype=None):
        s, text_tokens = self.shape, text_tokens or self.shape.text_tokens
        kw = dict(device=device, dtype=dtype)
        return (
            torch.randn(batch, self.num_views, 3, s.vision.image_size, s.vision.image_size, **kw),
            torch.randn(batch, text_tokens, s.llm.width, **kw),
            torch.randn(batch, s.action_dim, **kw),
            torch.randn(batch, s.horizon, s.action_dim, **kw),
        )
