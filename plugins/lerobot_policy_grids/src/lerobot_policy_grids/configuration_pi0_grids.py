"""`--policy.type=pi0_grids`: LeRobot's PI0Config plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.pi0.configuration_pi0 import PI0Config

from lerobot_policy_grids.common import VLAGridSFields


@PreTrainedConfig.register_subclass("pi0_grids")
@dataclass
class PI0GridSConfig(VLAGridSFields, PI0Config):
    """Every PI0Config option, plus the ``grids_*`` flags of ``VLAGridSFields``."""
