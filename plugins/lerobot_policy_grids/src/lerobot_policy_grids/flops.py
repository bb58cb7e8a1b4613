"""FLOPs of one inference of LeRobot's *own* π0 / π0.5 (GridS or not), per stage, on the meta device.

One inference = ``predict_action_chunk``: SigLIP on every camera, the projector, the reducer, the
Gemma-2B prefix once (its K/V cached), then ``num_inference_steps`` passes of the action expert. Same
convention and stages as ``grids flops`` (:mod:`grids.efficiency.flops`: FlopCounterMode, 2 FLOPs per
multiply-add, matrix products only), so the two can be held side by side:

    python -m lerobot_policy_grids.flops          # the table in the plugin README (about a minute)

The policies are LeRobot's full-size classes built from their default configs with random weights on
the meta device: nothing is downloaded or allocated.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from lerobot.configs.types import FeatureType, PolicyFeature
from lerobot.utils.constants import ACTION, OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS, OBS_STATE
from torch.utils.flop_counter import FlopCounterMode

from grids.core import set_value_checks
from grids.core.validation import value_checks_enabled
from grids.efficiency.flops import STAGES, StageFlops, count_model

CAMERAS = ("observation.images.top", "observation.images.wrist")


def build_on_meta(config_cls, policy_cls, *, cameras: int = 2, **overrides):
    """``policy_cls`` at full size with random weights on the meta device (LeRobot's default sizes)."""
    size = overrides.get("image_resolution", (224, 224))
    inputs = {cam: PolicyFeature(FeatureType.VISUAL, (3, *size)) for cam in CAMERAS[:cameras]}
    inputs[OBS_STATE] = PolicyFeature(FeatureType.STATE, (32,))
    outputs = {ACTION: PolicyFeature(FeatureType.ACTION, (32,))}
    config = config_cls(
        input_features=inputs, output_features=outputs, device="cpu", dtype="float32", **overrides
    )
    config.device = "meta"  # set after validation, which only knows real devices
    with torch.device("meta"):
        return policy_cls(config).eval()


def example_batch(policy, batch: int = 1) -> dict:
    """A pre-processed batch on the meta device: every camera, the state, a full-length prompt."""
    config = policy.config
    text = config.tokenizer_max_length
    with torch.device("meta"):
        out = {cam: torch.rand(batch, *feature.shape) for cam, feature in config.image_features.items()}
        out[OBS_STATE] = torch.randn(batch, config.max_state_dim)
        out[OBS_LANGUAGE_TOKENS] = torch.zeros(batch, text, dtype=torch.long)
        out[OBS_LANGUAGE_ATTENTION_MASK] = torch.ones(batch, text, dtype=torch.bool)
    return out


def _stage_modules(policy) -> dict[str, list[torch.nn.Module]]:
    """The modules whose calls make up each stage; what is left is the action expert (and its
    projections and time MLP), as in ``grids flops``."""
    embedder = policy.model.paligemma_with_expert
    vlm = embedder.paligemma.model
    reducer = getattr(embedder, "grids_reducer", None)
    return {
        "vision": [vlm.vision_tower],
        "projector": [vlm.multi_modal_projector],
        "reducer": [reducer] if reducer is not None else [],
        "llm_prefix": [*vlm.language_model.layers, vlm.language_model.rotary_emb],
    }


@contextmanager
def _booked_by_stage(counter: FlopCounterMode, modules: dict[str, list[torch.nn.Module]], out: StageFlops):
    """Add to ``out.<stage>`` the FLOPs counted while each of the stage's modules runs."""
    handles = []

    def book(stage):
        started = []

        def before(module, args):
            started.append(counter.get_total_flops())

        def after(module, args, output):
            setattr(out, stage, getattr(out, stage) + counter.get_total_flops() - started.pop())

        return before, after

    for stage, stage_modules in modules.items():
        for module in stage_modules:
            pre, post = book(stage)
            handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def count_policy_stages(policy, batch: dict) -> StageFlops:
    """FLOPs of ``policy.predict_action_chunk(batch)`` per stage of :data:`grids.efficiency.flops.STAGES`."""
    out = StageFlops()
    checks = value_checks_enabled()
    set_value_checks(False)  # value checks read tensor values; meta tensors have none
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            with _booked_by_stage(counter, _stage_modules(policy), out):
                policy.predict_action_chunk(dict(batch))
    finally:
        set_value_checks(checks)
    if isinstance(getattr(policy.config, "grids_placement", "after"), int):
        out.vision -= out.reducer  # the reducer ran inside SigLIP: book it once, as grids flops does
    out.action_expert = counter.get_total_flops() - out.total
    return out


def _variants():
    from lerobot.policies.pi0.configuration_pi0 import PI0Config
    from lerobot.policies.pi0.modeling_pi0 import PI0Policy
    from lerobot.policies.pi05.configuration_pi05 import PI05Config
    from lerobot.policies.pi05.modeling_pi05 import PI05Policy

    from lerobot_policy_grids import PI0GridSConfig, PI05GridSConfig
    from lerobot_policy_grids.modeling_pi0_grids import PI0GridSPolicy
    from lerobot_policy_grids.modeling_pi05_grids import PI05GridSPolicy

    return {
        "pi0": ((PI0Config, PI0Policy), (PI0GridSConfig, PI0GridSPolicy)),
        "pi05": ((PI05Config, PI05Policy), (PI05GridSConfig, PI05GridSPolicy)),
    }


def compare(model: str, *, num_tokens: int | None = None, grids_placement: int | str = "after"):
    """(LeRobot's policy, ``grids flops``) stage FLOPs for dense (``num_tokens=None``) or GridS-K,
    reduced after the vision tower or inside it before block ``grids_placement``."""
    parent, grids_classes = _variants()[model]
    if num_tokens is None:
        policy = build_on_meta(*parent)
        return count_policy_stages(policy, example_batch(policy)), count_model(model)
    policy = build_on_meta(*grids_classes, grids_num_tokens=num_tokens, grids_placement=grids_placement)
    ours = count_policy_stages(policy, example_batch(policy))
    layer = policy.config.grids_resample_at_layer()
    return ours, count_model(model, reducer="grids", num_tokens=num_tokens, resample_at_layer=layer)


VARIANTS = ((None, "after"), (16, "after"), (16, 13), (16, 0))  # (K, placement)


def main() -> None:
    print("| policy | variant | " + " | ".join(STAGES) + " | total | `grids flops` total | diff |")
    print("|---" * (len(STAGES) + 5) + "|")
    for model in ("pi0", "pi05"):
        for num_tokens, placement in VARIANTS:
            real, ours = compare(model, num_tokens=num_tokens, grids_placement=placement)
            cells = " | ".join(f"{getattr(real, s) / 1e12:.4f}" for s in STAGES)
            where = "after" if placement == "after" else f"L={placement}"
            variant = "dense" if num_tokens is None else f"grids K={num_tokens}, {where}"
            diff = (real.total - ours.total) / ours.total
            print(
                f"| {model} | {variant} | {cells} | {real.total / 1e12:.4f} | {ours.total / 1e12:.4f} | {diff:+.1e} |"
            )


if __name__ == "__main__":
    main()
