"""The parent's processors, unchanged: GridS only changes what happens inside the model."""

from lerobot.policies.act.processor_act import make_act_pre_post_processors


def make_act_grids_pre_post_processors(config, dataset_stats=None):
    return make_act_pre_post_processors(config, dataset_stats=dataset_stats)
