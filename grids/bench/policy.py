"""A VLA in miniature, shaped like pi0: ViT per view -> token reducer -> transformer -> action chunk.

One observation through the model (B batch, V=2 views, S=128 pixels, 16x16 patches, C width)::

    images uint8 [B, V, S, S, 3]
      -> encoder                    [B, V, 256, C_enc]     (cached on disk when frozen)
         "mobilenetv2": frozen ImageNet MobileNetV2 to stride 16 (C_enc = 96), the pretrained protocol
         "vit": the benchmark's own ViT, trained end to end (C_enc = C)
      -> (training) random shift    [B, V, 256, C_enc]     (augmentation: translate each map by up to
                                                            ``feature_shift`` cells, border-padded)
      -> projector                  [B, V, 256, C]         (pretrained encoder: LayerNorm + Linear + positions)
      -> reducer (per view)         [B, V, K', C] + coords [B, V, K', 2]
         (ViT only: ``resample_at_layer=L`` reduces before block L with ``grids.resample_at_layer``'s hook,
          blocks [L:] and the final norm then see K' tokens)
      -> + view embedding, flatten  [B, V*K', C]
      -> [visual; language; state; action queries] -> policy transformer -> action head
      -> actions [B, chunk, 4]          (ALOHA: [B, chunk, 14] joint targets, predicted standardised per
                                          dimension and returned in the env's units, ``action_stats``)

Action head: L1 chunk regression (OpenVLA-OFT) by default, flow matching (pi0) with
``action_head="flow"``. L1 is one forward pass per chunk (flow needs ``flow_steps`` passes), which
matters when every evaluation step runs on a CPU, and OFT reports it on par with diffusion heads.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from grids.bench.encoders import ENCODERS, MAX_TOP_BLOCKS, PretrainedEncoder
from grids.core import MultiViewReducer, Reduced, check_resample_at_layer, make_reducer, resample_at_layer
from grids.core.validation import check_int, check_number, is_int

ACTION_HEADS = ("l1", "flow")
POSITIVE_FIELDS = ("image_size", "patch_size", "num_views", "dim", "num_heads", "chunk_size", "flow_steps")


@dataclass
class PolicyConfig:
    image_size: int = 128
    patch_size: int = 8  # 128 / 8 = a 16 x 16 grid per view, as pi0's SigLIP
    num_views: int = 2
    dim: int = 128
    encoder_depth: int = 4
    policy_depth: int = 2
    num_heads: int = 4
    encoder: str = "vit"  # "vit" (trained end to end) or "mobilenetv2" (frozen ImageNet features)
    feature_shift: float = 0.0  # training augmentation: shift each dense map by up to this many cells
    # "mobilenetv2": its last ``encoder_top`` blocks train with the policy (3: blocks 11-13); the cache holds the
    # frozen trunk's output, the shift augments it, the trainable top runs on it every step.
    encoder_top: int = 0
    camera: str = "workspace"  # third-person camera of the data (evaluation renders the same one)
    reducer: str = "dense"
    num_tokens: int = 16
    reducer_options: dict = field(default_factory=dict)
    task_aware: bool = False  # the instruction embedding is the reducer's context
    # Where to reduce: None (or encoder_depth) the encoder's output, after its final norm; L < encoder_depth
    # inside the ViT, before block L (grids.resample_at_layer).
    resample_at_layer: int | None = None
    language_dim: int = 384
    state_dim: int = 4
    action_dim: int = 4
    # The head predicts (action - action_mean) / action_std (the dataset's, saved with the weights): for
    # actions outside [-1, 1] such as ALOHA's joint targets; MetaWorld and LIBERO actions are used as they are.
    action_stats: bool = False
    chunk_size: int = 8
    action_head: str = "l1"
    flow_steps: int = 10
    tasks: list = field(default_factory=list)  # task names; index = task_index of the dataset

    def __post_init__(self):
        """Every config error surfaces here, before any data is loaded or any step is trained."""
        self._check_sizes()
        self._check_reducer()

    def _check_sizes(self) -> None:
        for name in POSITIVE_FIELDS:
            check_int(getattr(self, name), name, minimum=1)
        if self.dim % self.num_heads:
            raise ValueError(f"dim={self.dim} is not divisible by num_heads={self.num_heads}")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size={self.image_size} is not a multiple of patch_size={self.patch_size}"
            )
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.encoder != "vit" and self.resample_at_layer is not None:
            raise ValueError("resample_at_layer needs the ViT encoder (a CNN has no tokens to reduce inside)")
        if not is_int(self.encoder_top) or not 0 <= self.encoder_top <= MAX_TOP_BLOCKS:
            raise ValueError(f"encoder_top must be an int in 0..{MAX_TOP_BLOCKS}, got {self.encoder_top!r}")
        if self.encoder_top and self.encoder != "mobilenetv2":
            raise ValueError(f"encoder_top={self.encoder_top} trains the top of the pretrained encoder: it needs "
                             f"encoder='mobilenetv2' (the ViT trains end to end), got {self.encoder!r}")  # fmt: skip
        check_number(self.feature_shift, "feature_shift", low=0, ends="[)", meaning="a number of cells")
        if self.action_head not in ACTION_HEADS:
            raise ValueError(f"action_head must be one of {ACTION_HEADS}, got {self.action_head!r}")
        depth = self.encoder_depth
        check_resample_at_layer(
            self.resample_at_layer, depth, encoder=f"the {depth}-block ViT (encoder_depth={depth})"
        )

    def _check_reducer(self) -> None:
        """Build the reducer once, as the policy will: a bad name, option or K fails now, not at step 1."""
        check_int(self.num_tokens, "num_tokens", minimum=1)
        if not isinstance(self.reducer_options, dict):
            raise ValueError(f"reducer_options must be a dict, got {self.reducer_options!r}")
        if "context_dim" in self.reducer_options:  # the policy gives a context exactly when task_aware
            raise ValueError(
                f"reducer_options context_dim={self.reducer_options['context_dim']!r}: the policy's context is the "
                f"instruction embedding, given only with task_aware=True (--task-aware), which sets context_dim="
                f"{self.language_dim}; drop context_dim from the options"
            )
        options = self.reducer_kwargs()
        with torch.random.fork_rng(devices=[]):  # checking must not shift the seeded initialisation
            try:
                reducer = make_reducer(self.reducer, dim=self.dim, num_tokens=self.num_tokens, **options)
            except TypeError as err:  # an option this reducer does not take
                raise ValueError(
                    f"reducer {self.reducer!r} does not take the options {options}: {err}"
                ) from err
        try:
            reducer.check_grid(self.grid_hw)
        except ValueError as err:
            raise ValueError(
                f"reducer {self.reducer!r}: {err} (image_size={self.image_size} / patch_size={self.patch_size})"
            ) from err

    def reducer_kwargs(self) -> dict:
        """The reducer's options, plus the instruction width as its context when ``task_aware``."""
        options = dict(self.reducer_options)
        if self.task_aware:
            options["context_dim"] = self.language_dim
        return options

    @property
    def grid_hw(self) -> tuple[int, int]:
        side = self.image_size // self.patch_size
        return side, side

    @property
    def reduces_inside(self) -> bool:
        """The reducer runs inside the ViT, before block ``resample_at_layer``, not on the encoder's output."""
        return self.resample_at_layer is not None and self.resample_at_layer < self.encoder_depth

    def to_dict(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    """Pre-norm transformer block (attention + MLP)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.num_heads = num_heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x: Tensor) -> Tensor:  # [B, N, C]
        q, k, v = rearrange(
            self.qkv(self.norm1(x)), "b n (three h d) -> three b h n d", three=3, h=self.num_heads
        )
        x = x + self.proj(rearrange(F.scaled_dot_product_attention(q, k, v), "b h n d -> b n (h d)"))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """A small ViT (no CLS token): patch embedding + learned positions + blocks. Shared by all views."""

    def __init__(self, cfg: PolicyConfig):
        super().__init__()
        num_patches = cfg.grid_hw[0] * cfg.grid_hw[1]
        self.patch_embed = nn.Conv2d(3, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.num_heads) for _ in range(cfg.encoder_depth))
        self.norm = nn.LayerNorm(cfg.dim)

    def patchify(self, images: Tensor) -> Tensor:  # uint8 [B', S, S, 3] -> [B', N, C]
        pixels = rearrange(images, "b h w c -> b c h w").float() / 127.5 - 1.0
        return rearrange(self.patch_embed(pixels), "b c h w -> b (h w) c") + self.pos_embed

    def forward(self, images: Tensor) -> Tensor:  # uint8 [B', S, S, 3] -> [B', N, C] (K' after a hook)
        x = self.patchify(images)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class Projector(nn.Module):
    """Pretrained features -> policy width: LayerNorm + Linear + learned positions (the VLA's projector)."""

    def __init__(self, in_dim: int, dim: int, num_patches: int):
        super().__init__()
        self.norm, self.proj = nn.LayerNorm(in_dim), nn.Linear(in_dim, dim)
        self.pos_embed = nn.Parameter(torch.randn(num_patches, dim) * 0.02)

    def forward(self, features: Tensor) -> Tensor:  # [..., N, in_dim] -> [..., N, dim]
        return self.proj(self.norm(features)) + self.pos_embed


def shift_maps(features: Tensor, grid_hw: tuple[int, int], shift: Tensor) -> Tensor:
    """Move the content of each map ``[B, V, H*W, C]`` by ``shift [B*V, 2]`` cells (x, y); bilinear, border-padded."""
    b, v, _, c = features.shape
    h, w = grid_hw
    maps = rearrange(features, "b v (h w) c -> (b v) c h w", h=h)
    theta = torch.zeros(b * v, 2, 3, device=features.device, dtype=maps.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    # output(p) = input(p - shift); affine_grid works in [-1, 1] (align_corners: a cell is 2 / (side - 1))
    theta[:, 0, 2], theta[:, 1, 2] = -shift[:, 0] * 2 / max(w - 1, 1), -shift[:, 1] * 2 / max(h - 1, 1)
    grid = F.affine_grid(theta, list(maps.shape), align_corners=True)
    shifted = F.grid_sample(maps, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return rearrange(shifted, "(b v) c h w -> b v (h w) c", v=v)


def random_shift(features: Tensor, grid_hw: tuple[int, int], max_shift: float) -> Tensor:
    """Each map ``[B, V, H*W, C]`` moved by its own uniform (dx, dy) in ``[-max_shift, max_shift]`` cells.

    DrQ's / Diffusion Policy's random-shift augmentation, applied to the dense feature map (a frozen
    encoder's features are cached once, so the image itself cannot be shifted per step). Uses torch's
    global RNG (the trainer seeds it per step, so resuming stays exact).
    """
    shift = (torch.rand(features.shape[0] * features.shape[1], 2, device=features.device) * 2 - 1) * max_shift
    return shift_maps(features, grid_hw, shift)


def _each_view(fn, x: Tensor) -> Tensor:
    """``fn`` on every view of ``x [B, V, ...]`` in one batch ``[B*V, ...]`` (the views share the encoder)."""
    return fn(x.flatten(0, 1)).unflatten(0, x.shape[:2])


class Policy(nn.Module):
    def __init__(self, cfg: PolicyConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.dim
        if cfg.encoder == "vit":
            self.encoder, self.projector = ViT(cfg), nn.Identity()
        else:
            self.encoder = PretrainedEncoder(resize=16 / cfg.patch_size, top_blocks=cfg.encoder_top)
            self.projector = Projector(self.encoder.out_dim, c, cfg.grid_hw[0] * cfg.grid_hw[1])
        self.reducer = MultiViewReducer(
            cfg.reducer, num_views=cfg.num_views, dim=c, num_tokens=cfg.num_tokens, **cfg.reducer_kwargs()
        )
        self.view_embed = nn.Parameter(torch.randn(cfg.num_views, 1, c) * 0.02)
        self.language_proj = nn.Linear(cfg.language_dim, c)
        self.state_proj = nn.Linear(cfg.state_dim, c)
        self.action_pos = nn.Parameter(torch.randn(cfg.chunk_size, c) * 0.02)  # the L1 head's queries
        if cfg.action_head == "flow":
            self.action_in = nn.Linear(cfg.action_dim, c)
            self.time_mlp = nn.Sequential(nn.Linear(c, c), nn.SiLU(), nn.Linear(c, c))
        self.blocks = nn.ModuleList(Block(c, cfg.num_heads) for _ in range(cfg.policy_depth))
        self.norm = nn.LayerNorm(c)
        self.action_out = nn.Linear(c, cfg.action_dim)
        # Saved with the weights, so that evaluation needs neither the dataset nor the language model.
        self.register_buffer("instruction_embeddings", torch.zeros(max(len(cfg.tasks), 1), cfg.language_dim))
        self.register_buffer("state_mean", torch.zeros(cfg.state_dim))
        self.register_buffer("state_std", torch.ones(cfg.state_dim))
        if cfg.action_stats:  # only then: the checkpoints of policies without them load as they were saved
            self.register_buffer("action_mean", torch.zeros(cfg.action_dim))
            self.register_buffer("action_std", torch.ones(cfg.action_dim))

    # --- vision -------------------------------------------------------------------------------------
    def dense_features(self, images: Tensor) -> Tensor:
        """uint8 ``[B, V, S, S, 3]`` -> the encoder's dense map ``[B, V, N, C_enc]`` (under a trainable top: the
        trunk and the top)."""
        return _each_view(self.encoder, images)

    def cached_features(self, images: Tensor) -> Tensor:
        """uint8 ``[B, V, S, S, 3]`` -> what a feature cache holds ``[B, V, N, C_cache]``: the frozen part of the
        encoder (all of it, or the trunk under a trainable top, ``encoder_top``)."""
        return _each_view(self.encoder.trunk_features if self.cfg.encoder_top else self.encoder, images)

    def _encoder_top(self, features: Tensor) -> Tensor:  # [B, V, N, C_cache] -> [B, V, N, C_enc]
        return _each_view(self.encoder.top, features) if self.cfg.encoder_top else features

    def visual_tokens(
        self, images: Tensor | None, context: Tensor | None, features: Tensor | None = None
    ) -> Reduced:
        """Images (or cached features) -> reduced tokens ``[B, V, K', C]`` and ``coords [B, V, K', 2]``."""
        context = context if self.cfg.task_aware else None
        if not self.cfg.reduces_inside:  # reduce the encoder's output
            features = self.cached_features(images) if features is None else features  # [B, V, N, C_cache]
            if self.training and self.cfg.feature_shift > 0:
                features = random_shift(features, self.cfg.grid_hw, self.cfg.feature_shift)
            features = self._encoder_top(features)  # [B, V, N, C_enc]
            return self.reducer(self.projector(features), grid_hw=self.cfg.grid_hw, context=context)
        if features is not None:
            raise ValueError("cached features are final-layer features; resample_at_layer needs images")
        # The reducer sees the tokens entering block L of every view, [B, V, N, C]; blocks L.. run on K' tokens.
        with resample_at_layer(
            self.encoder.blocks,
            self.cfg.resample_at_layer,
            self.reducer,
            grid_hw=self.cfg.grid_hw,
            num_views=images.shape[1],
        ) as hook:
            hook.context = context
            tokens = self.dense_features(images)  # [B, V, K', C], after the final norm
        return hook.last.replace(tokens=tokens)

    # --- policy -------------------------------------------------------------------------------------
    def _transformer(self, visual: Tensor, language: Tensor, state: Tensor, action_tokens: Tensor) -> Tensor:
        visual = rearrange(visual + self.view_embed, "b v k c -> b (v k) c")
        state = (state - self.state_mean) / self.state_std
        prefix = torch.cat(
            [visual, self.language_proj(language)[:, None], self.state_proj(state)[:, None]], dim=1
        )
        x = torch.cat([prefix, action_tokens], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.action_out(self.norm(x[:, -self.cfg.chunk_size :]))  # [B, chunk, action_dim]

    def _flow_tokens(self, noisy_actions: Tensor, time: Tensor) -> Tensor:
        half = self.cfg.dim // 2
        freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=time.device) / half)
        angles = time[:, None] * 1000.0 * freqs  # [B, half]
        time_embed = self.time_mlp(torch.cat([angles.sin(), angles.cos()], dim=-1))
        return self.action_in(noisy_actions) + self.action_pos + time_embed[:, None]

    def scale_actions(self, actions: Tensor) -> Tensor:
        """Env units -> what the head predicts (``[..., action_dim]``; the identity without ``action_stats``)."""
        return (actions - self.action_mean) / self.action_std if self.cfg.action_stats else actions

    def unscale_actions(self, actions: Tensor) -> Tensor:
        """What the head predicts -> env units (the inverse of ``scale_actions``)."""
        return actions * self.action_std + self.action_mean if self.cfg.action_stats else actions

    def _inputs(self, batch: dict[str, Tensor]) -> tuple[Reduced, Tensor, Tensor]:
        language = batch.get("language")  # [B, 384] an instruction said otherwise (evaluation)
        if language is None:
            language = self.instruction_embeddings[batch["task_index"]]  # [B, 384]
        reduced = self.visual_tokens(batch.get("images"), language, features=batch.get("features"))
        return reduced, language, batch["state"].float()

    def forward(self, batch: dict[str, Tensor], normalizer: Tensor | None = None) -> Tensor:
        """Training loss for a batch of frames (``images`` or ``features``, ``state``, ``actions``, ...).

        The mean over valid (unpadded) chunk steps; ``normalizer`` replaces this batch's count of them
        (multi-process training passes the global count / world size, so that DDP's gradient average
        equals the single-process gradient of the whole batch).
        """
        reduced, language, state = self._inputs(batch)
        actions = self.scale_actions(batch["actions"].float())  # [B, chunk, A]
        valid = ~batch["action_is_pad"]  # [B, chunk]
        batch_size = actions.shape[0]
        if self.cfg.action_head == "l1":
            predicted = self._transformer(
                reduced.tokens, language, state, self.action_pos.expand(batch_size, -1, -1)
            )
            error = (predicted - actions).abs()
        else:  # flow matching as in pi0: x_t = t * noise + (1 - t) * actions, target velocity noise - actions
            time = torch.distributions.Beta(1.5, 1.0).sample((batch_size,)).to(actions.device) * 0.999 + 0.001
            noise = torch.randn_like(actions)
            noisy = time[:, None, None] * noise + (1 - time[:, None, None]) * actions
            velocity = self._transformer(reduced.tokens, language, state, self._flow_tokens(noisy, time))
            error = (velocity - (noise - actions)) ** 2
        count = valid.sum().clamp(min=1) if normalizer is None else normalizer
        return (error.mean(-1) * valid).sum() / count

    @torch.no_grad()
    def predict(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """-> ``(actions [B, chunk, A] in the env's units, coords [B, V, K', 2])``."""
        reduced, language, state = self._inputs(batch)
        batch_size = state.shape[0]
        if self.cfg.action_head == "l1":
            actions = self._transformer(
                reduced.tokens, language, state, self.action_pos.expand(batch_size, -1, -1)
            )
        else:  # Euler integration from noise (t = 1) to actions (t = 0)
            actions = torch.randn(batch_size, self.cfg.chunk_size, self.cfg.action_dim, device=state.device)
            step = 1.0 / self.cfg.flow_steps
            for i in range(self.cfg.flow_steps):
                time = torch.full((batch_size,), 1.0 - i * step, device=state.device)
                actions = actions - step * self._transformer(
                    reduced.tokens, language, state, self._flow_tokens(actions, time)
                )
        return self.unscale_actions(actions), reduced.coords

    def num_visual_tokens(self) -> int:
        """Visual tokens per view that reach the policy transformer."""
        return self.reducer.num_output_tokens(self.cfg.grid_hw)
