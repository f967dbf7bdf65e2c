"""The test double itself, driven by ML-Agents' real ``UnityEnvironment`` over real gRPC.

These pin down that the double behaves as the docstring of ``fake_player.py`` says, so the
adapter's tests stand on a player that speaks the real protocol (no mock communicator).
"""

from __future__ import annotations

import numpy as np
import pytest
from mlagents_envs.base_env import ActionTuple
from mlagents_envs.environment import UnityEnvironment
from mlagents_envs.side_channel.engine_configuration_channel import EngineConfigurationChannel
from mlagents_envs.side_channel.environment_parameters_channel import EnvironmentParametersChannel

from unity_helpers import free_port, leftover_processes

SEEKER, WALKER = "Seeker?team=0", "Walker?team=0"


@pytest.fixture
def unity(build, tmp_path):
    engine, parameters = EngineConfigurationChannel(), EnvironmentParametersChannel()
    env = UnityEnvironment(str(build), base_port=free_port(), no_graphics=True, timeout_wait=20,
                           side_channels=[engine, parameters], log_folder=str(tmp_path))
    yield env, engine, parameters
    env.close()


def test_init_reports_both_behaviours_with_their_specs(unity):
    env, *_ = unity
    assert sorted(env.behavior_specs) == [SEEKER, WALKER]
    seeker = env.behavior_specs[SEEKER]
    assert [(o.name, o.shape) for o in seeker.observation_specs] == [("target", (4,)), ("camera", (8, 8, 1))]
    assert seeker.action_spec.continuous_size == 1 and seeker.action_spec.discrete_branches == (3, 2)
    assert env.behavior_specs[WALKER].action_spec.continuous_size == 2


def test_a_round_has_joins_leaves_terminal_and_decision_steps_and_a_mask(unity, tmp_path):
    env, engine, parameters = unity
    engine.set_configuration_parameters(time_scale=20.0, quality_level=1)
    parameters.set_float_parameter("agents", 3)
    env.reset()
    seen: list[tuple[list[int], list[int]]] = []
    for _ in range(25):
        decisions, terminals = env.get_steps(SEEKER)
        seen.append((decisions.agent_id.tolist(), terminals.agent_id.tolist()))
        if len(decisions):
            env.set_actions(SEEKER, env.behavior_specs[SEEKER].action_spec.random_action(len(decisions)))
        env.step()
    first = seen[0][0]
    assert len(first) == 3 and first != [0, 1, 2]  # Unity's ids, not 0..n-1
    joined = [d for d, _ in seen if len(d) == 4][0]
    assert set(joined) - set(first)  # a fourth agent joined
    leaver = [(d, t) for d, t in seen if t and not set(t) & set(d)][0]  # terminal without a new decision
    assert leaver[1] == [first[0]]
    both = [(d, t) for d, t in seen if set(t) & set(d)]
    assert both, "an agent that is terminal and asks for a decision in the same step"
    decisions, _ = env.get_steps(SEEKER)
    assert decisions.obs[1].shape[1:] == (8, 8, 1) and 0.0 <= decisions.obs[1].min() <= decisions.obs[1].max() <= 1.0
    masked = [bool(m) for m in decisions.action_mask[1][:, 1]]
    goals = [int(np.argmax(t[:3])) for t in decisions.obs[0]]
    assert masked == [g == 2 for g in goals]  # branch 1, option 1 is forbidden exactly when the goal is 2
    log = (tmp_path / "Player-0.log").read_text()
    assert "time_scale=20.0" in log and "quality_level=1" in log and "parameter agents=3.0" in log
    assert "nographics=True batchmode=True" in log


def test_walker_asks_every_second_step(unity):
    env, *_ = unity
    env.reset()
    asked = []
    for _ in range(6):
        decisions, _ = env.get_steps(WALKER)
        asked.append(len(decisions))
        if len(decisions):
            env.set_actions(WALKER, ActionTuple(continuous=np.zeros((1, 2), np.float32)))
        env.step()
    assert asked == [1, 0, 1, 0, 1, 0]


def test_close_ends_the_player(build, tmp_path):
    env = UnityEnvironment(str(build), base_port=free_port(), no_graphics=True, timeout_wait=20)
    process = env._process
    env.close()
    assert process.wait(timeout=10) == 0
    assert leftover_processes(str(tmp_path)) == []

