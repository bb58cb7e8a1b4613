"""GridS variants of LeRobot's π0, π0.5, SmolVLA, ACT and Diffusion Policy:
``--policy.type=pi0_grids|pi05_grids|smolvla_grids|act_grids|diffusion_grids``.

LeRobot's CLIs import this package by its distribution name; importing it registers the five
configs with ``PreTrainedConfig``, and LeRobot's factory then finds ``modeling_*`` / ``processor_*``
beside them by naming convention. It also registers ``--env.type=grids_metaworld`` (``env_metaworld.py``)
and ``--env.type=grids_libero`` (``env_libero.py``): our MetaWorld and LIBERO environments, with the cameras
and state of our exported datasets, for ``lerobot-eval``.
"""

from lerobot_policy_grids.configuration_act_grids import ACTGridSConfig
from lerobot_policy_grids.configuration_diffusion_grids import DiffusionGridSConfig
from lerobot_policy_grids.configuration_pi0_grids import PI0GridSConfig
from lerobot_policy_grids.configuration_pi05_grids import PI05GridSConfig
from lerobot_policy_grids.configuration_smolvla_grids import SmolVLAGridSConfig
from lerobot_policy_grids.env_libero import GridsLiberoEnvConfig
from lerobot_policy_grids.env_metaworld import GridsMetaWorldEnvConfig

__all__ = [
    "ACTGridSConfig",
    "DiffusionGridSConfig",
    "GridsLiberoEnvConfig",
    "GridsMetaWorldEnvConfig",
    "PI0GridSConfig",
    "PI05GridSConfig",
    "SmolVLAGridSConfig",
]
