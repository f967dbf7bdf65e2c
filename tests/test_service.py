"""EnvService: sessions, one autoreset meaning on the wire, agent slots, typed errors."""

from __future__ import annotations

import numpy as np
import pytest

from agentgpt_core.envs import EnvService, EnvSpec
from agentgpt_core.protocol import errors

M = "tests.envs_for_tests"


def service(*extra: str) -> EnvService:
    return EnvService(["gym:CartPole-v1", "gym:Pendulum-v1", *extra])


def test_seeds_example_works_without_env_key():
    svc = service()
    made = svc.handle("make", {"env_name": "CartPole-v1", "seed": 42})
    assert made["observation_space"]["type"] == "Box" and made["action_space"] == {"type": "Discrete", "n": 2, "start": 0, "dtype": "<i8"}
    first = svc.handle("reset")["observation"]
    again = EnvService(["gym:CartPole-v1"])
    again.handle("make", {"env_name": "CartPole-v1", "seed": 42})
    assert np.array_equal(first, again.handle("reset")["observation"])  # the make seed applies to the first reset
    result = svc.handle("step", {"action": 0})
    assert set(result) >= {"observation", "reward", "terminated", "truncated", "info"}
    assert isinstance(result["reward"], float) and isinstance(result["terminated"], bool)


def test_env_key_is_needed_once_a_session_holds_two_envs_and_sessions_are_separate():
    svc = service()
    a = svc.handle("make", {"env_name": "CartPole-v1"}, session="s1")["env_key"]
    svc.handle("make", {"env_name": "Pendulum-v1"}, session="s1")
    with pytest.raises(errors.UnknownEnvKey, match="pass env_key"):
        svc.handle("reset", {}, session="s1")
    with pytest.raises(errors.UnknownEnvKey, match="call make first"):
        svc.handle("reset", {}, session="s2")
    svc.handle("reset", {"env_key": a}, session="s2")  # keys work from any session
    svc.close_session("s1")
    with pytest.raises(errors.UnknownEnvKey):
        svc.handle("step", {"env_key": a, "action": 0})


@pytest.mark.parametrize(
    "method,params,error",
    [
        ("teleport", {}, errors.UnknownMethod),
        ("make", {"env_name": "Secret-v0"}, errors.EnvNotAllowed),
        ("make", {"env_name": "os:system"}, errors.EnvNotAllowed),
        ("make", {}, errors.MalformedPayload),
        ("make", {"env_name": "CartPole-v1", "seed": "x"}, errors.InvalidArgument),
        ("make", {"env_name": "CartPole-v1", "kwargs": {"render_mode": {"a": 1}}}, errors.InvalidArgument),
        ("make_vec", {"env_name": "CartPole-v1", "num_envs": 0}, errors.InvalidArgument),
        ("reset", {"env_key": "nope"}, errors.UnknownEnvKey),
        ("step", {"env_key": "nope", "action": 0}, errors.UnknownEnvKey),
        ("step", {"env_key": "nope"}, errors.MalformedPayload),
    ],
)
def test_bad_calls_get_typed_errors(method, params, error):
    with pytest.raises(error):
        service().handle(method, params)


def test_params_must_be_an_object():
    with pytest.raises(errors.MalformedPayload):
        service().handle("reset", [1, 2])


@pytest.mark.parametrize("action", [2, -1, 0.5, True, "0", [0, 1], None, [[0]]])
def test_discrete_actions_outside_the_space_are_refused_and_the_env_keeps_working(action):
    svc = service()
    svc.handle("make", {"env_name": "CartPole-v1"})
    svc.handle("reset")
    with pytest.raises(errors.InvalidAction):
        svc.handle("step", {"action": action})
    assert svc.handle("step", {"action": 1.0})["terminated"] in (True, False)  # 1.0 is the integer 1


@pytest.mark.parametrize("action", [[0.1, 0.2], [5.0], [float("nan")], "a"])
def test_box_actions_outside_the_space_are_refused(action):
    svc = service()
    svc.handle("make", {"env_name": "Pendulum-v1"})
    svc.handle("reset")
    with pytest.raises(errors.InvalidAction):
        svc.handle("step", {"action": action})
    svc.handle("step", {"action": [0.5]})


def test_discrete_action_reaches_the_env_as_an_integer():
    seen = []
    svc = EnvService([f"spy=gym:{M}:countdown"])
    svc.handle("make", {"env_name": "spy"})
    env = svc.open_envs[0].env
    original = env.step
    env.step = lambda a: (seen.append(a), original(a))[1]
    svc.handle("reset")
    svc.handle("step", {"action": np.float64(1.0)})
    assert isinstance(seen[0], (int, np.integer)) and seen[0] == 1


def test_single_env_autoresets_and_keeps_the_terminal_observation():
    svc = EnvService([f"cd=gym:{M}:countdown"])
    svc.handle("make", {"env_name": "cd"})
    svc.handle("reset")
    svc.handle("step", {"action": 0})
    svc.handle("step", {"action": 0})
    end = svc.handle("step", {"action": 0})
    assert end["terminated"] is True
    assert end["final_observation"].tolist() == [0.0]
    assert end["observation"].tolist() == [3.0] and end["info"] == {"reset": True}
    assert end["final_info"] == {"left": 0}


def test_pre_gymnasium_1_final_observation_in_info_is_lifted_out():
    svc = EnvService([f"old=gym:{M}:pre_1_0_countdown"])
    svc.handle("make", {"env_name": "old"})
    svc.handle("reset")
    for _ in range(2):
        svc.handle("step", {"action": 0})
    end = svc.handle("step", {"action": 0})
    assert end["final_observation"].tolist() == [0.0] and end["observation"].tolist() == [3.0]
    assert "final_observation" not in end["info"]


@pytest.mark.parametrize("mode", ["countdown_vec_next_step", "countdown_vec_same_step", "countdown_vec_disabled"])
def test_vector_envs_of_every_autoreset_mode_mean_the_same_on_the_wire(mode):
    svc = EnvService([f"v=gym:{M}:{mode}"])
    svc.handle("make_vec", {"env_name": "v", "num_envs": 2})  # envs of length 2 and 3
    assert svc.handle("reset")["observation"].ravel().tolist() == [2.0, 3.0]
    first = svc.handle("step", {"action": [0, 0]})
    assert first["observation"].ravel().tolist() == [1.0, 2.0] and "final_observation" not in first
    second = svc.handle("step", {"action": [0, 0]})
    assert second["terminated"].tolist() == [True, False]
    assert second["observation"].ravel().tolist() == [2.0, 1.0]  # env 0 already restarted
    assert second["final_observation"][0].tolist() == [0.0] and second["final_observation"][1] is None
    third = svc.handle("step", {"action": [0, 0]})
    assert third["terminated"].tolist() == [False, True]
    assert third["observation"].ravel().tolist() == [1.0, 3.0]
    assert third["final_observation"][1].tolist() == [0.0]


def test_vector_step_needs_one_action_per_env():
    svc = service()
    svc.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 4})
    svc.handle("reset")
    with pytest.raises(errors.InvalidAction, match="shape"):
        svc.handle("step", {"action": [0, 1]})
    assert svc.handle("step", {"action": [0, 1, 0, 1]})["reward"].shape == (4,)


def test_multi_agent_slots_keep_their_order_and_none():
    svc = EnvService([f"tag=gym:{M}:two_agent_tag"])
    made = svc.handle("make", {"env_name": "tag"})
    assert made["agents"] == ["a", "b"]
    svc.handle("reset")
    result = svc.handle("step", {"action": [2, None]})
    assert result["observation"][1] is None and result["reward"] == [2.0, None]
    with pytest.raises(errors.InvalidAction):
        svc.handle("step", {"action": [2]})
    with pytest.raises(errors.InvalidAction):
        svc.handle("step", {"action": [7, None]})


def test_an_env_that_raises_is_an_env_error_and_the_host_keeps_serving():
    svc = service()
    svc.handle("make", {"env_name": "CartPole-v1"}, session="broken")
    with pytest.raises(errors.EnvError, match="reset"):
        svc.handle("step", {"action": 0}, session="broken")  # stepping before reset
    other = svc.handle("make", {"env_name": "CartPole-v1"}, session="fine")["env_key"]
    svc.handle("reset", {"env_key": other})
    assert "observation" in svc.handle("step", {"env_key": other, "action": 0})


def test_close_releases_the_env():
    svc = service()
    key = svc.handle("make", {"env_name": "CartPole-v1"})["env_key"]
    assert svc.handle("close", {})["closed"] == key
    assert svc.handle("info")["open"] == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("gym:CartPole-v1", EnvSpec("CartPole-v1", "gym", "CartPole-v1")),
        ("sim=gym:pkg.mod:make", EnvSpec("sim", "gym", "pkg.mod:make")),
        ("unity:./Build/Game.x86_64", EnvSpec("./Build/Game.x86_64", "unity", "./Build/Game.x86_64")),
    ],
)
def test_env_specs_parse(text, expected):
    assert EnvSpec.parse(text) == expected


@pytest.mark.parametrize("text", ["CartPole-v1", "gym:", "gym:pkg.mod:make", "bad name=gym:x"])
def test_bad_env_specs_say_what_to_write(text):
    with pytest.raises(ValueError, match="gym:|alias"):
        EnvSpec.parse(text)


def test_envs_a_dead_client_left_behind_are_closed_when_idle_too_long():
    svc = EnvService(["gym:CartPole-v1"], idle_timeout_s=0.05, max_envs=1)
    leaked = svc.handle("make", {"env_name": "CartPole-v1"}, session="crashed")["env_key"]
    with pytest.raises(errors.InvalidArgument, match="runs 1 of at most 1 envs"):
        svc.handle("make", {"env_name": "CartPole-v1"}, session="new")  # not idle yet: the limit holds
    import time

    time.sleep(0.1)
    svc.handle("make", {"env_name": "CartPole-v1"}, session="new")
    with pytest.raises(errors.UnknownEnvKey):
        svc.handle("reset", {"env_key": leaked})
