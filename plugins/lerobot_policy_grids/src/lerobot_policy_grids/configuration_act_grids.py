"""`--policy.type=act_grids`: LeRobot's ACTConfig plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.act.configuration_act import ACTConfig

from lerobot_policy_grids.common import GridSFields


@PreTrainedConfig.register_subclass("act_grids")
@dataclass
class ACTGridSConfig(GridSFields, ACTConfig):
    """Every ACTConfig option, plus the ``grids_*`` flags of ``GridSFields``.

    Note ACT's own default ``pretrained_backbone_weights="ResNet18_Weights.IMAGENET1K_V1"`` downloads
    torchvision's ImageNet ResNet-18 when the policy is built; offline, pass
    ``--policy.pretrained_backbone_weights=null`` (random init; what the tests do).
    """
