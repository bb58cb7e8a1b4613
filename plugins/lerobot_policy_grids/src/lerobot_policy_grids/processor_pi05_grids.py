"""The parent's processors, unchanged: GridS only changes what happens inside the model."""

from lerobot.policies.pi05.processor_pi05 import make_pi05_pre_post_processors


def make_pi05_grids_pre_post_processors(config, dataset_stats=None):
    return make_pi05_pre_post_processors(config, dataset_stats=dataset_stats)
