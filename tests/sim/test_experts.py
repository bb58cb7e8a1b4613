import warnings

import numpy as np

from grids.sim import expert_action, make_env


def test_expert_reaches_success_on_a_short_task():
    env = make_env("button-press-topdown-v3", image_size=16)
    env.reset(seed=0)
    for _ in range(env.max_steps):
        _, _, terminated, truncated, info = env.step(expert_action(env))
        if terminated or truncated:
            break
    env.close()
    assert info["success"] and terminated and info["step"] < 150


def test_doing_nothing_does_not_succeed():
    env = make_env("button-press-topdown-v3", image_size=16, max_steps=60)
    env.reset(seed=0)
    successes = [env.step(np.zeros(4, dtype=np.float32))[4]["success"] for _ in range(60)]
    env.close()
    assert not any(successes)


def test_expert_action_is_a_clipped_float32_vector():
    """The action is MetaWorld's scripted policy's, clipped to [-1, 1]: at the start of reach-v3 the raw
    P-controller asks for more than 1 along y (far from the goal), so the clipping is exercised."""
    from metaworld.policies import ENV_POLICY_MAP

    env = make_env("reach-v3", image_size=16)
    env.reset(seed=0)
    action = expert_action(env)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Constant(s) may be too high" from the P-controller
        raw = ENV_POLICY_MAP["reach-v3"]().get_action(env.privileged_obs)
    env.close()
    assert action.shape == (4,) and action.dtype == np.float32 and np.abs(action).max() <= 1.0
    assert np.abs(raw).max() > 1.0  # otherwise this test could not tell a clipped action from a raw one
    np.testing.assert_array_equal(action, np.clip(raw, -1.0, 1.0).astype(np.float32))
