"""Issue 16, item 14: strict JSON for strict parsers, and a RemoteEnv with a spec."""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stdout

import gymnasium as gym
import httpx
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agentgpt_core.protocol.spaces import space_from_dict
from agentgpt_core.remote import RemoteEnv

from .conftest import KEY


def strict_loads(body: bytes):
    """What JavaScript's JSON.parse accepts: no NaN, no Infinity."""

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(body, parse_constant=refuse)


def test_lenient_json_spells_infinity_and_strict_json_does_not(url):
    headers = {"Authorization": f"Bearer {KEY}", "X-AgentGPT-Session": "strict"}
    made = httpx.post(f"{url}/make", json={"env_name": "CartPole-v1"}, headers=headers).json()
    lenient = httpx.get(f"{url}/observation_space", params={"env_key": made["env_key"]}, headers=headers)
    with pytest.raises(ValueError, match="Infinity"):
        strict_loads(lenient.content)
    strict = httpx.get(
        f"{url}/observation_space", params={"env_key": made["env_key"]},
        headers={**headers, "Accept": "application/json; nonfinite=string"},
    )  # fmt: skip
    assert strict.headers["content-type"] == "application/json; nonfinite=string"
    description = strict_loads(strict.content)
    assert "-Infinity" in description["low"] and "Infinity" in description["high"]
    assert space_from_dict(description) == gym.make("CartPole-v1").observation_space


def test_a_client_on_strict_json_gets_the_same_spaces_and_values(url):
    env = RemoteEnv(url, "CartPole-v1", api_key=KEY, codec="json-strict")
    try:
        assert env.observation_space == gym.make("CartPole-v1").observation_space
        observation, _ = env.reset(seed=0)
        assert observation.dtype == np.float32 and env.step(0)[1] == 1.0
    finally:
        env.close()


def test_a_remote_env_has_a_spec_the_checker_remakes_from_without_the_key(url, service):
    env = RemoteEnv(url, "CartPole-v1", api_key=KEY)
    try:
        assert env.spec is not None and env.spec.id == "CartPole-v1"
        shown = io.StringIO()
        with redirect_stdout(shown):
            env.spec.pprint(print_all=True)
        assert KEY not in shown.getvalue() + repr(env.spec)
        again = env.spec.make()
        assert again.unwrapped is not env and again.observation_space == env.observation_space
        again.close()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env, skip_render_check=True)
        assert not [w for w in caught if "spec" in str(w.message)]
    finally:
        env.close()
