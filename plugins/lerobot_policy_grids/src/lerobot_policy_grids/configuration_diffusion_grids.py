"""`--policy.type=diffusion_grids`: LeRobot's DiffusionConfig plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.diffusion.configuration_diffusion import DiffusionConfig

from lerobot_policy_grids.common import GridSFields


@PreTrainedConfig.register_subclass("diffusion_grids")
@dataclass
class DiffusionGridSConfig(GridSFields, DiffusionConfig):
    """Every DiffusionConfig option, plus the ``grids_*`` flags of ``GridSFields``.

    ``spatial_softmax_num_keypoints`` still sets the width of each camera's feature
    (``2 * spatial_softmax_num_keypoints``, as in the parent) but no SpatialSoftmax is built.
    """
