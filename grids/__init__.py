"""GridS: differentiable grid-sample token reduction for Vision-Language-Action models."""
