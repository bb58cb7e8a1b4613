"""The GridS policies against their unmodified LeRobot parents: parity, K tokens, gradients, save/load."""

import pytest
import torch
from conftest import CAMERAS, SMOL_IMAGE, batch, pi_config, smolvla_config
from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors
from lerobot.policies.pi0.configuration_pi0 import PI0Config
from lerobot.policies.pi0.modeling_pi0 import PI0Policy
from lerobot.policies.pi05.configuration_pi05 import PI05Config
from lerobot.policies.pi05.modeling_pi05 import PI05Policy
from lerobot.policies.smolvla.configuration_smolvla import SmolVLAConfig
from lerobot.policies.smolvla.modeling_smolvla import SmolVLAPolicy
from lerobot.utils.constants import OBS_LANGUAGE_TOKENS
from lerobot.utils.import_utils import register_third_party_plugins
from lerobot_policy_grids import PI0GridSConfig, PI05GridSConfig, SmolVLAGridSConfig
from lerobot_policy_grids.modeling_pi0_grids import PI0GridSPolicy
from lerobot_policy_grids.modeling_pi05_grids import PI05GridSPolicy
from lerobot_policy_grids.modeling_smolvla_grids import SmolVLAGridSPolicy

K = 4
POLICIES = {  # name: (parent config, parent policy, GridS config, GridS policy, dense tokens per camera)
    "pi0": (PI0Config, PI0Policy, PI0GridSConfig, PI0GridSPolicy, 16),
    "pi05": (PI05Config, PI05Policy, PI05GridSConfig, PI05GridSPolicy, 16),
    "smolvla": (SmolVLAConfig, SmolVLAPolicy, SmolVLAGridSConfig, SmolVLAGridSPolicy, 16),
}


@pytest.fixture
def build(request, tiny_pi, tiny_smolvlm):
    """build(name, grids=True, **overrides) -> policy, seeded so parent and GridS share their weights."""

    def make(name, grids=True, seed=0, **overrides):
        parent_config, parent_policy, grids_config, grids_policy, _ = POLICIES[name]
        config_cls, policy_cls = (grids_config, grids_policy) if grids else (parent_config, parent_policy)
        if name == "smolvla":
            config = smolvla_config(config_cls, tiny_smolvlm, **overrides)
        else:
            config = pi_config(config_cls, **overrides)
        torch.manual_seed(seed)
        return policy_cls(config).eval()

    return make


def observation(name, size=2, seed=0):
    return batch(size, SMOL_IMAGE if name == "smolvla" else 32, seed)


def predict(policy, inputs, seed=0):
    torch.manual_seed(seed)
    with torch.no_grad():
        return policy.predict_action_chunk(dict(inputs))


def embedder(policy):
    return (
        policy.model.vlm_with_expert
        if hasattr(policy.model, "vlm_with_expert")
        else policy.model.paligemma_with_expert
    )


def test_lerobot_discovers_the_plugin():
    register_third_party_plugins()
    known = PreTrainedConfig.get_known_choices()
    assert {"pi0_grids", "pi05_grids", "smolvla_grids"} <= set(known)
    assert get_policy_class("pi05_grids") is PI05GridSPolicy
    assert get_policy_class("smolvla_grids") is SmolVLAGridSPolicy
    config = make_policy_config("pi05_grids", grids_num_tokens=8, grids_reducer="perceiver")
    assert isinstance(config, PI05Config) and config.type == "pi05_grids" and config.grids_num_tokens == 8
    with pytest.raises(ValueError, match="registered"):
        make_policy_config("pi05_grids", grids_reducer="nope")


@pytest.mark.parametrize("name", list(POLICIES))
def test_dense_equals_the_parent_policy(build, name):
    parent = build(name, grids=False)
    dense = build(name, grids_reducer="dense")
    dense.load_state_dict(parent.state_dict())  # the parent's checkpoint loads as is
    inputs = observation(name)
    assert torch.equal(predict(dense, inputs), predict(parent, inputs))
    torch.manual_seed(1)
    loss_parent, _ = parent.forward(dict(inputs))
    torch.manual_seed(1)
    loss_dense, _ = dense.forward(dict(inputs))
    assert torch.equal(loss_dense, loss_parent)


@pytest.mark.parametrize("name", list(POLICIES))
def test_k_tokens_select_action_and_gradients(build, name):
    policy = build(name, grids_num_tokens=K)
    inputs = observation(name)
    image = inputs[CAMERAS[0]]
    with torch.no_grad():
        dense_tokens = POLICIES[name][4]
        if name == "smolvla":
            image = policy.prepare_images(dict(inputs))[0][0]
        tokens = embedder(policy).embed_image(image)
    assert tokens.shape[:2] == (2, K) and dense_tokens > K
    assert embedder(policy).grids_coords.shape == (2, K, 2)
    action = policy.select_action(dict(inputs))
    assert action.shape == (2, 3) and torch.isfinite(action).all()
    policy.train()
    loss, _ = policy.forward(dict(inputs))
    loss.backward()
    grads = [p.grad for p in policy.grids_reducer.parameters()]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", list(POLICIES))
def test_save_and_load_round_trip(build, name, tmp_path):
    policy = build(
        name, grids_num_tokens=K, grids_reducer="grids", grids_options={"coord_embedding": "fourier"}
    )
    with torch.no_grad():
        for p in policy.grids_reducer.parameters():
            p.add_(0.01)  # not the init any more
    policy.save_pretrained(tmp_path)
    config = PreTrainedConfig.from_pretrained(tmp_path)
    assert type(config) is POLICIES[name][2] and config.type == f"{name}_grids"
    assert (config.grids_reducer, config.grids_num_tokens, config.grids_options) == (
        "grids",
        K,
        {"coord_embedding": "fourier"},
    )
    loaded = POLICIES[name][3].from_pretrained(tmp_path).eval()
    state, reloaded = policy.state_dict(), loaded.state_dict()
    assert state.keys() == reloaded.keys() and all(torch.equal(state[k], reloaded[k]) for k in state)
    inputs = observation(name)
    assert torch.equal(predict(loaded, inputs), predict(policy, inputs))


@pytest.mark.parametrize("name", ["pi05", "smolvla"])
def test_a_parent_checkpoint_starts_a_grids_fine_tune(build, name, tmp_path):
    parent = build(name, grids=False, seed=3)
    parent.save_pretrained(tmp_path)
    policy = build(name, grids_num_tokens=K, seed=4)
    policy = POLICIES[name][3].from_pretrained(tmp_path, config=policy.config)
    parent_state = parent.state_dict()
    for key, value in policy.state_dict().items():
        if ".grids_reducer." not in key:
            assert torch.equal(value, parent_state[key]), key


def test_smolvla_processors_come_from_the_parent(build):
    policy = build("smolvla", grids_num_tokens=K)
    pre, post = make_pre_post_processors(policy.config)
    assert len(pre.steps) > 0 and len(post.steps) > 0


# -- grids_placement=L: inside SigLIP (the tiny one has 2 blocks) ---------------------------------------
@pytest.mark.parametrize("name", ["pi0", "pi05"])
def test_dense_inside_siglip_equals_the_parent_policy(build, name):
    parent = build(name, grids=False)
    dense = build(name, grids_reducer="dense", grids_placement=1)
    dense.load_state_dict(parent.state_dict())
    inputs = observation(name)
    assert torch.equal(predict(dense, inputs), predict(parent, inputs))


@pytest.mark.parametrize("placement", [0, 1, 2])
def test_grids_inside_siglip_gives_the_lm_k_tokens(build, placement):
    policy = build("pi05", grids_num_tokens=K, grids_placement=placement)
    image = observation("pi05")[CAMERAS[0]]
    tokens = embedder(policy).embed_image(image)
    assert tokens.shape == (2, K, 64)  # K tokens at the LM's width: the projector ran on K tokens
    assert embedder(policy).grids_coords.shape == (2, K, 2)
    assert policy.grids_reducer.dim == 32  # SigLIP's width, not the projector's
    vision_blocks = embedder(policy).paligemma.model.vision_tower.vision_model.encoder.layers
    assert all(not block._forward_pre_hooks for block in vision_blocks)  # the hook lives for one call


def test_a_placement_beyond_siglip_names_the_valid_range(build):
    with pytest.raises(
        ValueError, match=r"grids_placement=3 is not a block of this 2-block SigLIP: .*\[0, 2\]"
    ):
        build("pi0", grids_placement=3)


# -- grids_task_context: the reducer sees the instruction ------------------------------------------------
def points(policy, inputs):
    predict(policy, inputs)
    return embedder(policy).grids_coords


@pytest.mark.parametrize(("name", "placement"), [("pi0", "after"), ("pi05", 1), ("smolvla", "after")])
def test_the_instruction_moves_the_points_with_task_context(build, name, placement):
    inputs = observation(name)
    other = {**inputs, OBS_LANGUAGE_TOKENS: inputs[OBS_LANGUAGE_TOKENS].flip(0)}  # swap the prompts
    aware = build(name, grids_num_tokens=K, grids_task_context=True, grids_placement=placement)
    assert not torch.allclose(points(aware, inputs), points(aware, other), atol=1e-6)
    blind = build(name, grids_num_tokens=K, grids_placement=placement)
    assert torch.equal(points(blind, inputs), points(blind, other))


def test_task_context_needs_a_reducer_that_takes_it(build):
    with pytest.raises(ValueError, match=r"grids_reducer='pool': reducer 'pool' does not take the options .*context_dim"):
        build("pi0", grids_reducer="pool", grids_task_context=True)
