"""Plug-and-play adapters: GridS (or any registered reducer) inside someone else's model.

Import the one for your stack; each imports its host library only when used:

    from grids.adapters.transformers import GridSVisionModel, GridSImageFeatures   # SigLIP, PaliGemma
    from grids.adapters.timm import GridSTimmViT                                    # timm ViTs

The LeRobot policy plugin lives in ``plugins/lerobot_policy_grids`` (its own package).
"""

from grids.adapters.base import AdapterSpec, ReducingAdapter

__all__ = ["AdapterSpec", "ReducingAdapter"]
