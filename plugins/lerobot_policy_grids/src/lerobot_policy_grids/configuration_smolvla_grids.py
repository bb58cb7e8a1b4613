"""`--policy.type=smolvla_grids`: LeRobot's SmolVLAConfig plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig

from lerobot_policy_grids.common import GridSFields


@PreTrainedConfig.register_subclass("smolvla_grids")
@dataclass
class SmolVLAGridSConfig(GridSFields, SmolVLAConfig):
    """Every SmolVLAConfig option, plus the ``grids_*`` flags of ``GridSFields``."""
