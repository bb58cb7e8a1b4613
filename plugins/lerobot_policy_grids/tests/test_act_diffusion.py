"""act_grids and diffusion_grids against their unmodified LeRobot parents, built offline.

Tiny random-weight policies: ``pretrained_backbone_weights=None`` everywhere (LeRobot's default would
download torchvision's ImageNet ResNet-18 when the policy is built).
"""

import pytest
import torch
from conftest import CAMERAS, STATE_DIM, features
from lerobot.configs.policies import PreTrainedConfig
from lerobot.policies.act.configuration_act import ACTConfig
from lerobot.policies.act.modeling_act import ACTPolicy
from lerobot.policies.factory import get_policy_class, make_policy_config, make_pre_post_processors
from lerobot.utils.constants import ACTION, OBS_STATE
from lerobot.utils.import_utils import register_third_party_plugins
from lerobot_policy_grids import ACTGridSConfig, DiffusionGridSConfig
from lerobot_policy_grids.modeling_act_grids import ACTGridSPolicy

IMAGE = 128  # ResNet-18, stride 32: a 4 x 4 map = 16 tokens per camera
ACTION_DIM, CHUNK, K = 3, 4, 4


def act_config(config_cls=ACTGridSConfig, **overrides):
    inputs, outputs = features(IMAGE)
    options = dict(
        input_features=inputs, output_features=outputs, pretrained_backbone_weights=None,
        chunk_size=CHUNK, n_action_steps=CHUNK, dim_model=64, n_heads=2, dim_feedforward=128,
        n_encoder_layers=1, n_decoder_layers=1, latent_dim=8, device="cpu",
    )  # fmt: skip
    return config_cls(**{**options, **overrides})


def act_batch(size=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    out = {cam: torch.rand(size, 3, IMAGE, IMAGE, generator=generator) for cam in CAMERAS}
    out[OBS_STATE] = torch.randn(size, STATE_DIM, generator=generator)
    out[ACTION] = torch.randn(size, CHUNK, ACTION_DIM, generator=generator)
    out["action_is_pad"] = torch.zeros(size, CHUNK, dtype=torch.bool)
    return out


def build_act(config_cls=ACTGridSConfig, policy_cls=ACTGridSPolicy, seed=0, **overrides):
    torch.manual_seed(seed)
    return policy_cls(act_config(config_cls, **overrides))


def encoder_tokens(policy, inputs) -> int:
    """How many tokens ACT's transformer encoder saw in one forward."""
    seen = []
    handle = policy.model.encoder.register_forward_hook(lambda m, args, out: seen.append(out.shape[0]))
    policy.predict_action_chunk(dict(inputs))
    handle.remove()
    return seen[0]


def test_lerobot_discovers_act_grids_and_diffusion_grids():
    register_third_party_plugins()
    assert {"act_grids", "diffusion_grids"} <= set(PreTrainedConfig.get_known_choices())
    assert get_policy_class("act_grids") is ACTGridSPolicy
    assert get_policy_class("diffusion_grids").__name__ == "DiffusionGridSPolicy"
    config = make_policy_config("act_grids", grids_num_tokens=8, grids_reducer="topk")
    assert isinstance(config, ACTConfig) and config.type == "act_grids" and config.grids_num_tokens == 8
    with pytest.raises(ValueError, match="registered"):
        make_policy_config("diffusion_grids", grids_reducer="nope")


def test_act_dense_equals_the_parent_policy():
    parent = build_act(ACTConfig, ACTPolicy)
    dense = build_act(grids_reducer="dense", seed=1)
    dense.load_state_dict(parent.state_dict())  # an ACT checkpoint loads as is
    inputs = act_batch()
    assert torch.equal(dense.predict_action_chunk(dict(inputs)), parent.predict_action_chunk(dict(inputs)))
    parent.train(), dense.train()  # the VAE encoder runs in training: same latent noise, same loss
    torch.manual_seed(2)
    loss_parent, _ = parent.forward(dict(inputs))
    torch.manual_seed(2)
    loss_dense, _ = dense.forward(dict(inputs))
    assert torch.equal(loss_dense, loss_parent)
    assert encoder_tokens(dense, inputs) == 2 + len(CAMERAS) * 16  # latent, state, every cell


@pytest.mark.parametrize("reducer", ["grids", "grids-heatmap", "topk", "perceiver"])
def test_act_k_tokens_per_camera_and_gradients(reducer):
    policy = build_act(grids_reducer=reducer, grids_num_tokens=K)
    inputs = act_batch()
    assert encoder_tokens(policy, inputs) == 2 + len(CAMERAS) * K
    projection = policy.model.encoder_img_feat_input_proj
    assert projection.grids_coords.shape == (2, K, 2)
    policy.train()
    loss, _ = policy.forward(dict(inputs))
    loss.backward()
    grads = [p.grad for p in policy.grids_reducer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert (reducer == "topk") or any(g.abs().sum() > 0 for g in grads)  # top-K by norm has no weights
    assert projection.weight.grad.abs().sum() > 0  # the parent's projection still trains


def test_act_grids_tokens_carry_their_point_positions():
    """The same features at other points give other tokens: positions travel inside the tokens."""
    policy = build_act(grids_reducer="uniform", grids_num_tokens=K).eval()
    projection = policy.model.encoder_img_feat_input_proj
    feature_map = torch.ones(1, 512, 4, 4)  # constant features: only the position differs per token
    tokens = projection(feature_map)[0, :, :, 0].T  # [K, D]
    assert torch.cdist(tokens, tokens).fill_diagonal_(1).min() > 1e-3
    positions = policy.model.encoder_cam_feat_pos_embed(feature_map)
    assert positions.shape == (1, 64, K, 1) and not positions.any()  # no per-slot position stream


def test_act_save_load_round_trip_and_select_action(tmp_path):
    policy = build_act(grids_num_tokens=K, grids_options={"coord_embedding": "fourier"}).eval()
    with torch.no_grad():
        for p in policy.grids_reducer.parameters():
            p.add_(0.01)
    policy.save_pretrained(tmp_path)
    config = PreTrainedConfig.from_pretrained(tmp_path)
    assert type(config) is ACTGridSConfig and (config.grids_num_tokens, config.grids_options) == (
        K,
        {"coord_embedding": "fourier"},
    )
    loaded = ACTGridSPolicy.from_pretrained(tmp_path).eval()
    state, reloaded = policy.state_dict(), loaded.state_dict()
    assert state.keys() == reloaded.keys() and all(torch.equal(state[k], reloaded[k]) for k in state)
    inputs = act_batch()
    assert torch.equal(loaded.predict_action_chunk(dict(inputs)), policy.predict_action_chunk(dict(inputs)))
    action = loaded.select_action({k: v for k, v in inputs.items() if k.startswith("observation.")})
    assert action.shape == (2, ACTION_DIM) and torch.isfinite(action).all()


def test_act_reducer_trains_at_the_main_learning_rate():
    policy = build_act(grids_num_tokens=K)
    main_group, backbone_group = policy.get_optim_params()
    reducer = {id(p) for p in policy.grids_reducer.parameters()}
    assert reducer <= {id(p) for p in main_group["params"]}
    assert not reducer & {id(p) for p in backbone_group["params"]}


# -- Diffusion Policy ---------------------------------------------------------------------------------
DP_IMAGE, OBS_STEPS, HORIZON = 96, 2, 8  # ResNet-18: a 3 x 3 map


def dp_config(**overrides):
    inputs, outputs = features(DP_IMAGE)
    options = dict(
        input_features=inputs, output_features=outputs, pretrained_backbone_weights=None,
        n_obs_steps=OBS_STEPS, horizon=HORIZON, n_action_steps=4, down_dims=(32, 64),
        diffusion_step_embed_dim=32, spatial_softmax_num_keypoints=8, num_train_timesteps=10,
        num_inference_steps=2, crop_shape=None, device="cpu", grids_num_tokens=K,
    )  # fmt: skip
    return DiffusionGridSConfig(**{**options, **overrides})


def dp_batch(size=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    out = {cam: torch.rand(size, OBS_STEPS, 3, DP_IMAGE, DP_IMAGE, generator=generator) for cam in CAMERAS}
    out[OBS_STATE] = torch.randn(size, OBS_STEPS, STATE_DIM, generator=generator)
    out[ACTION] = torch.randn(size, HORIZON, ACTION_DIM, generator=generator)
    out["action_is_pad"] = torch.zeros(size, HORIZON, dtype=torch.bool)
    return out


@pytest.mark.parametrize("separate", [False, True])
def test_diffusion_grids_replaces_spatial_softmax(separate):
    from lerobot.policies.diffusion.modeling_diffusion import SpatialSoftmax

    torch.manual_seed(0)
    policy = get_policy_class("diffusion_grids")(dp_config(use_separate_rgb_encoder_per_camera=separate))
    encoders = policy.rgb_encoders()
    assert len(encoders) == (len(CAMERAS) if separate else 1)
    assert not any(isinstance(m, SpatialSoftmax) for m in policy.modules())
    inputs = dp_batch()
    policy.train()
    loss, _ = policy.forward(dict(inputs))
    loss.backward()
    for encoder in encoders:
        assert encoder.pool.grids_coords.shape[1:] == (K, 2)
        assert encoder.feature_dim == 2 * 8  # the parent's width: the U-Net is unchanged
        grads = [p.grad for p in encoder.pool.reducer.parameters()]
        assert grads and all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    policy.eval()
    actions = policy.predict_action_chunk({k: v for k, v in inputs.items() if k != ACTION})
    assert actions.shape == (2, 4, ACTION_DIM) and torch.isfinite(actions).all()


def test_diffusion_grids_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    policy_cls = get_policy_class("diffusion_grids")
    policy = policy_cls(dp_config(grids_reducer="grids-heatmap")).eval()
    policy.save_pretrained(tmp_path)
    loaded = policy_cls.from_pretrained(tmp_path).eval()
    state, reloaded = policy.state_dict(), loaded.state_dict()
    assert state.keys() == reloaded.keys() and all(torch.equal(state[k], reloaded[k]) for k in state)
    assert any(".pool.reducer." in key for key in state)
    inputs = {k: v for k, v in dp_batch().items() if k != ACTION}
    actions = []
    for model in (policy, loaded):
        torch.manual_seed(3)  # DDPM's sampler draws noise at every step
        actions.append(model.predict_action_chunk(dict(inputs)))
    assert torch.equal(*actions)


@pytest.mark.parametrize("name", ["act_grids", "diffusion_grids"])
def test_processors_come_from_the_parent(name):
    register_third_party_plugins()
    config = act_config() if name == "act_grids" else dp_config()
    pre, post = make_pre_post_processors(config)
    assert len(pre.steps) > 0 and len(post.steps) > 0
