"""The parent's processors, unchanged: GridS only changes what happens inside the model."""

from lerobot.policies.diffusion.processor_diffusion import make_diffusion_pre_post_processors


def make_diffusion_grids_pre_post_processors(config, dataset_stats=None):
    return make_diffusion_pre_post_processors(config, dataset_stats=dataset_stats)
