"""π0 with GridS: LeRobot's PI0Policy whose ``embed_image`` returns K tokens per camera."""

from lerobot.policies.pi0.modeling_pi0 import PaliGemmaWithExpertModel, PI0Policy

from lerobot_policy_grids.common import ReducedImageEmbedding, VLAGridSPolicyMixin
from lerobot_policy_grids.configuration_pi0_grids import PI0GridSConfig


class GridSPaliGemmaWithExpertModel(ReducedImageEmbedding, PaliGemmaWithExpertModel):
    """SigLIP + projector tokens [B, 256, 2048] -> reducer -> [B, K, 2048]; nothing else changes.
    With ``grids_placement=L`` the reducer runs inside SigLIP instead, at its width (1152)."""

    def grids_vision_tower(self):
        return self.paligemma.model.vision_tower


class PI0GridSPolicy(VLAGridSPolicyMixin, PI0Policy):
    config_class = PI0GridSConfig
    name = "pi0_grids"
    embedder_path = "model.paligemma_with_expert"
    embedder_class = GridSPaliGemmaWithExpertModel

    def image_token_dim(self, embedder) -> int:
        return embedder.paligemma.config.vision_config.projection_dim  # the projector's output width
