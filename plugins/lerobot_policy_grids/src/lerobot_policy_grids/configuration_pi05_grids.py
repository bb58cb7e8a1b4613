"""`--policy.type=pi05_grids`: LeRobot's PI05Config plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.pi05.configuration_pi05 import PI05Config

from lerobot_policy_grids.common import VLAGridSFields


@PreTrainedConfig.register_subclass("pi05_grids")
@dataclass
class PI05GridSConfig(VLAGridSFields, PI05Config):
    """Every PI05Config option, plus the ``grids_*`` flags of ``VLAGridSFields``."""
