"""Diffusion Policy with GridS: LeRobot's DiffusionPolicy with GridS in place of SpatialSoftmax.

Each camera's encoder (``DiffusionRgbEncoder``: ResNet -> SpatialSoftmax -> Linear -> ReLU) keeps its
ResNet and its output width; its ``pool`` becomes :class:`GridSKeypoints` (the reducer's K points are
the keypoints, and the features read there come with them) and its ``out`` a Linear sized for them.
Nothing else of the parent changes; the U-Net sees the same ``global_cond`` width.
"""

import torch
from einops import rearrange
from lerobot.policies.diffusion.modeling_diffusion import DiffusionPolicy, SpatialSoftmax
from torch import Tensor, nn

from lerobot_policy_grids.common import build_reducer
from lerobot_policy_grids.configuration_diffusion_grids import DiffusionGridSConfig


class GridSKeypoints(nn.Module):
    """In place of SpatialSoftmax: ``[B, C, h, w]`` -> ``[B, K, C + 2]``, each point's features (for
    ``grids``, with its coordinate embedding) and the point (x, y) in [-1, 1], SpatialSoftmax's range."""

    def __init__(self, reducer: nn.Module):
        super().__init__()
        self.reducer = reducer

    def forward(self, feature_map: Tensor) -> Tensor:
        tokens = rearrange(feature_map, "b c h w -> b (h w) c")
        reduced = self.reducer(tokens, grid_hw=tuple(feature_map.shape[-2:]))
        self.grids_coords = reduced.coords.detach()  # [B, K, 2] of the last call, for inspection
        return torch.cat([reduced.tokens, reduced.coords.to(tokens.dtype) * 2 - 1], dim=-1)


class DiffusionGridSPolicy(DiffusionPolicy):
    config_class = DiffusionGridSConfig
    name = "diffusion_grids"

    def __init__(self, config: DiffusionGridSConfig, **kwargs):
        if not config.image_features:
            raise ValueError("diffusion_grids reduces camera images, but the config has no image features")
        super().__init__(config, **kwargs)
        for encoder in self.rgb_encoders():
            replace_spatial_softmax(encoder, config)

    def rgb_encoders(self) -> list[nn.Module]:
        # one shared encoder, or a ModuleList of one per camera (use_separate_rgb_encoder_per_camera)
        encoder = self.diffusion.rgb_encoder
        return list(encoder) if isinstance(encoder, nn.ModuleList) else [encoder]


def replace_spatial_softmax(encoder: nn.Module, config: DiffusionGridSConfig) -> None:
    if type(encoder.pool) is not SpatialSoftmax:
        raise TypeError(f"rgb_encoder.pool is {type(encoder.pool).__name__}, expected SpatialSoftmax")
    channels, height, width = encoder.pool._in_c, encoder.pool._in_h, encoder.pool._in_w  # the ResNet map
    reducer = build_reducer(config, dim=channels)
    num_points = reducer.num_output_tokens((height, width))
    encoder.pool = GridSKeypoints(reducer).to(encoder.out.weight.device)
    encoder.out = nn.Linear(num_points * (channels + 2), encoder.feature_dim).to(encoder.out.weight.device)
