"""ACT with GridS: LeRobot's ACTPolicy whose image-feature step gives K tokens per camera.

ACT turns each camera's ResNet map into ``h * w`` encoder tokens (a 1x1 projection to ``dim_model``)
and gives them a DETR-style position stream, the 2-D sinusoidal table, added to queries and keys in
every layer. Here the parent builds itself, then two of its modules get GridS subclasses (same
objects, same weights, ``forward`` only; ACT's own ``forward`` is not copied):

* ``model.encoder_img_feat_input_proj`` (the 1x1 projection): projected map ``[B, D, h, w]`` -> any
  registered reducer -> ``[B, K, D]``, returned as a ``[B, D, K, 1]`` map, so that ACT's own
  ``b c h w -> (h w) b c`` makes K encoder tokens.
* ``model.encoder_cam_feat_pos_embed`` (the sinusoidal table): zeros for those K tokens. The position
  stream is one vector per token slot for the whole batch, so it cannot carry points that differ per
  sample; each token carries its position itself instead: ACT's sinusoidal table read at the token's
  point (bilinear, like the features) plus, for ``grids``, GridS's coordinate embedding.

With ``grids_reducer="dense"`` both modules return the parent's values: the parent's output exactly.
"""

from einops import rearrange
from lerobot.policies.act.modeling_act import ACTPolicy, ACTSinusoidalPositionEmbedding2d
from torch import Tensor, nn

from grids.core.reducers import Dense
from grids.core.sampling import sample_tokens
from lerobot_policy_grids.common import GridSPolicyMixin
from lerobot_policy_grids.configuration_act_grids import ACTGridSConfig


class ReducedProjection(nn.Conv2d):
    """ACT's 1x1 input projection, then the reducer: ``[B, C, h, w] -> [B, D, K, 1]``."""

    def forward(self, feature_map: Tensor) -> Tensor:
        projected = super().forward(feature_map)  # [B, D, h, w], the parent's image tokens
        if isinstance(self.grids_reducer, Dense):
            return projected
        height, width = projected.shape[-2:]
        tokens = rearrange(projected, "b d h w -> b (h w) d")
        reduced = self.grids_reducer(tokens, grid_hw=(height, width))  # tokens [B, K, D], coords [B, K, 2]
        self.grids_coords = reduced.coords.detach()  # of the last camera, for inspection
        table = rearrange(self.point_positions(projected), "1 d h w -> 1 h w d").to(tokens.dtype)
        positions = sample_tokens(table.expand(len(tokens), -1, -1, -1), reduced.coords)  # [B, K, D]
        return rearrange(reduced.tokens + positions, "b k d -> b d k 1")


class PointPositions(ACTSinusoidalPositionEmbedding2d):
    """ACT's position stream for the image tokens: its sinusoidal table (dense) or zeros (K points)."""

    def forward(self, feature_map: Tensor) -> Tensor:
        table = super().forward(feature_map)  # [1, D, h, w]
        if self.grids_num_tokens is None:  # dense
            return table
        num_tokens = self.grids_num_tokens(tuple(feature_map.shape[-2:]))
        return table.new_zeros(1, table.shape[1], num_tokens, 1)


class ACTGridSPolicy(GridSPolicyMixin, ACTPolicy):
    config_class = ACTGridSConfig
    name = "act_grids"
    embedder_path = "model.encoder_img_feat_input_proj"
    embedder_class = ReducedProjection

    def __init__(self, config: ACTGridSConfig, **kwargs):
        if not config.image_features:
            raise ValueError("act_grids reduces camera images, but the config has no image features")
        super().__init__(config, **kwargs)  # the parent, then the projection becomes a ReducedProjection
        projection, positions = self.model.encoder_img_feat_input_proj, self.model.encoder_cam_feat_pos_embed
        if type(positions) is not ACTSinusoidalPositionEmbedding2d:
            raise TypeError(
                f"model.encoder_cam_feat_pos_embed is {type(positions).__name__}, expected ACT's table"
            )
        projection.point_positions = ACTSinusoidalPositionEmbedding2d(config.dim_model // 2)  # no weights
        positions.__class__ = PointPositions
        dense = isinstance(self.grids_reducer, Dense)
        positions.grids_num_tokens = None if dense else self.grids_reducer.num_output_tokens

    def image_token_dim(self, embedder) -> int:
        return embedder.out_channels  # dim_model
