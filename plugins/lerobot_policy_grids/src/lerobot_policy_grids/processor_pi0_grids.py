"""The parent's processors, unchanged: GridS only changes what happens inside the model."""

from lerobot.policies.pi0.processor_pi0 import make_pi0_pre_post_processors


def make_pi0_grids_pre_post_processors(config, dataset_stats=None):
    return make_pi0_pre_post_processors(config, dataset_stats=dataset_stats)
