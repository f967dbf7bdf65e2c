"""The GPT actor-critic: shapes for every space kind, padding masks, context windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector.utils import concatenate, create_empty_array

from agentgpt_core.policy import ContextWindows, GPTActorCritic, Window

BOX_OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
OBSERVATION_SPACES = {
    "box": BOX_OBS,
    "box-2d": spaces.Box(0, 255, (2, 3), np.uint8),
    "dict": spaces.Dict({"a": BOX_OBS, "b": spaces.Box(-np.inf, np.inf, (2,), np.float32)}),
    "tuple": spaces.Tuple((BOX_OBS, spaces.Discrete(4))),
}
ACTION_SPACES = {
    "discrete": spaces.Discrete(3, start=1),
    "multi-discrete": spaces.MultiDiscrete([3, 2, 4]),
    "box": spaces.Box(np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)),
    "hybrid": spaces.Tuple((spaces.Discrete(2), spaces.Box(-1.0, 1.0, (2,), np.float32))),
    "dict": spaces.Dict({"move": spaces.Discrete(4), "aim": spaces.Box(-1.0, 1.0, (1,), np.float32)}),
}


def make_policy(observation_space, action_space, k=4) -> GPTActorCritic:
    return GPTActorCritic(
        observation_space, action_space, d_model=16, num_layers=2, num_heads=2, dropout=0.0, max_input_states=k
    )


def random_window(policy: GPTActorCritic, rows: int) -> Window:
    k = policy.max_input_states
    valid = torch.ones(rows, k, dtype=torch.bool)
    valid[0, :-1] = False  # row 0 has just started an episode
    return Window(
        torch.randn(rows, k, policy.obs_dim),
        torch.randn(rows, k, policy.action_feature_dim),
        torch.randn(rows, k),
        valid,
    )


def _batch(space, n):
    return concatenate(space, [space.sample() for _ in range(n)], create_empty_array(space, n))


@pytest.mark.parametrize("obs_name", OBSERVATION_SPACES)
@pytest.mark.parametrize("action_name", ACTION_SPACES)
def test_forward_shapes_and_env_actions(obs_name, action_name):
    observation_space, action_space = OBSERVATION_SPACES[obs_name], ACTION_SPACES[action_name]
    policy = make_policy(observation_space, action_space)
    flat = policy.flatten_observations(_batch(observation_space, 5))
    assert flat.shape == (5, policy.obs_dim)

    distribution, value = policy(random_window(policy, 5))
    raw = distribution.sample()
    assert value.shape == (5,)
    assert distribution.log_prob(raw).shape == (5,)
    assert distribution.entropy().shape == (5,)
    assert torch.isfinite(distribution.log_prob(distribution.mode())).all()

    env_actions = policy.to_env_actions(raw.numpy())
    for row in range(5):
        assert action_space.contains(_row(env_actions, row)), _row(env_actions, row)
    assert policy.action_features(raw.numpy()).shape == (5, policy.action_feature_dim)


def _row(batched, row):
    if isinstance(batched, dict):
        return {key: _row(value, row) for key, value in batched.items()}
    if isinstance(batched, tuple):
        return tuple(_row(value, row) for value in batched)
    return batched[row]


def test_padding_tokens_do_not_change_the_output():
    policy = make_policy(BOX_OBS, ACTION_SPACES["discrete"])
    window = random_window(policy, 3)
    window.valid[1, :2] = False
    distribution, value = policy(window)
    fields = (window.observation, window.previous_action, window.previous_reward, window.valid)
    scrambled = Window(*(field.clone() for field in fields))
    scrambled.observation[~window.valid] = 1e3 * torch.randn(int((~window.valid).sum()), policy.obs_dim)
    scrambled.previous_reward[~window.valid] = -1e3
    distribution2, value2 = policy(scrambled)
    torch.testing.assert_close(value, value2)
    torch.testing.assert_close(distribution.log_prob(torch.zeros(3, 1)), distribution2.log_prob(torch.zeros(3, 1)))


def test_valid_tokens_do_change_the_output():
    policy = make_policy(BOX_OBS, ACTION_SPACES["discrete"])
    window = random_window(policy, 2)
    _, value = policy(window)
    window.observation[1, 0] += 5.0  # oldest token of a row whose whole window is valid
    _, value2 = policy(window)
    assert value[0] == value2[0] and value[1] != value2[1]


def test_context_windows_skip_rows_without_data_and_reset_on_new_episodes():
    policy = make_policy(BOX_OBS, ACTION_SPACES["discrete"], k=3)
    windows = ContextWindows(policy, num_rows=2)
    both, only_first = np.ones(2, bool), np.array([True, False])
    windows.observe(np.full((2, 3), 1.0, np.float32), both)
    windows.record(np.array([[2.0], [0.0]]), np.array([1.0, 0.0]), both)
    windows.observe(np.full((2, 3), 2.0, np.float32), only_first)
    window = windows.window()
    assert window.valid.tolist() == [[False, True, True], [False, False, True]]
    assert window.observation[1, -1, 0] == 1.0  # the absent row got no token
    assert window.previous_action[0, -1].tolist() == [0.0, 0.0, 1.0, 0.0]  # one-hot of 2, flag off
    assert window.previous_action[0, -2, -1] == 1.0  # first step of the episode: flag on
    assert window.previous_reward[0, -1] == pytest.approx(np.log(2.0))  # symlog(1)

    windows.start_episodes(only_first)
    windows.observe(np.full((2, 3), 3.0, np.float32), both)
    assert windows.window().valid.tolist() == [[False, False, True], [False, True, True]]


def test_box_actions_are_scaled_to_bounds_and_clipped():
    policy = make_policy(BOX_OBS, ACTION_SPACES["box"])
    actions = policy.to_env_actions(np.array([[-1.0, 1.0], [0.0, 0.0], [5.0, -5.0]], np.float32))
    np.testing.assert_allclose(actions, [[-2.0, 1.0], [0.0, 0.5], [2.0, 0.0]])
