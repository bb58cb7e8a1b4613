"""The parent's processors, unchanged: GridS only changes what happens inside the model."""

from lerobot.policies.smolvla.processor_smolvla import make_smolvla_pre_post_processors


def make_smolvla_grids_pre_post_processors(config, dataset_stats=None):
    return make_smolvla_pre_post_processors(config, dataset_stats=dataset_stats)
