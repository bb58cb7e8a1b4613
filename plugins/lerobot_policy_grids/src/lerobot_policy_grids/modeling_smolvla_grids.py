"""SmolVLA with GridS: LeRobot's SmolVLAPolicy whose ``embed_image`` returns K tokens per camera."""

from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
from lerobot.policies.smolvla.smolvlm_with_expert import SmolVLMWithExpertModel

from lerobot_policy_grids.common import ReducedImageEmbedding, VLAGridSPolicyMixin
from lerobot_policy_grids.configuration_smolvla_grids import SmolVLAGridSConfig


class GridSSmolVLMWithExpertModel(ReducedImageEmbedding, SmolVLMWithExpertModel):
    """SigLIP + pixel-shuffle connector tokens [B, 64, D] -> reducer -> [B, K, D] (before the sqrt(D) scaling)."""


class SmolVLAGridSPolicy(VLAGridSPolicyMixin, SmolVLAPolicy):
    config_class = SmolVLAGridSConfig
    name = "smolvla_grids"
    embedder_path = "model.vlm_with_expert"
    embedder_class = GridSSmolVLMWithExpertModel

    def image_token_dim(self, embedder) -> int:
        return embedder.config.text_config.hidden_size  # the connector projects to the text width
