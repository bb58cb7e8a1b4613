"""`--policy.type=smolvla_grids`: LeRobot's SmolVLAConfig plus the GridS flags."""

from dataclasses import dataclass

from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig

from lerobot_policy_grids.common import VLAGridSFields


@PreTrainedConfig.register_subclass("smolvla_grids")
@dataclass
class SmolVLAGridSConfig(VLAGridSFields, SmolVLAConfig):
    """Every SmolVLAConfig option, plus the ``grids_*`` flags of ``VLAGridSFields`` (``grids_placement``:
    "after" only)."""

    def __post_init__(self):
        super().__post_init__()
        if self.grids_placement != "after":
            raise ValueError(
                f"grids_placement={self.grids_placement!r}: smolvla_grids reduces after the vision tower "
                "only (SmolVLM's connector pixel-shuffles SigLIP's full patch grid)"
            )
