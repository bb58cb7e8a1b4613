"""GridS: differentiable grid-sample token reduction for Vision-Language-Action models."""

from grids import core
from grids.core import *  # noqa: F403  (the public API is the core's)

__version__ = "0.1.0"
__all__ = list(core.__all__)
