"""Issue 16, items 1-3, 5 and 6: bad inputs get the documented typed error, at the service.

The transports carry these codes unchanged (tests/test_fuzz_transports.py drives them
over HTTP and WebSocket); here each rule is pinned where it lives.
"""

from __future__ import annotations

import json

import msgpack
import numpy as np
import pytest
from click.testing import CliRunner

from agentgpt_core.envs import EnvService
from agentgpt_core.protocol.codecs import JSON, MAX_DEPTH, MSGPACK
from agentgpt_core.protocol.errors import InvalidAction, InvalidArgument, MalformedPayload
from agentgpt_core.security import BindAddress, api_key_matches, bearer_token, check_api_key


@pytest.fixture
def service():
    service = EnvService(["gym:CartPole-v1", "gym:Pendulum-v1"])
    yield service
    service.close()


def nested_json(depth: int) -> bytes:
    return b'{"env_name":"CartPole-v1","kwargs":{"x":' + b"[" * depth + b"]" * depth + b"}}"


def nested_msgpack(depth: int) -> bytes:
    return b"\x82" + msgpack.packb("env_name") + msgpack.packb("CartPole-v1") + msgpack.packb("kwargs") + b"\x81\xa1x" + b"\x91" * depth + b"\xc0"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 1000, 5000, 100_000])
@pytest.mark.parametrize("codec,body", [(JSON, nested_json), (MSGPACK, nested_msgpack)])
def test_deep_nesting_is_a_malformed_payload_not_a_recursion_error(codec, body, depth):
    with pytest.raises(MalformedPayload, match="levels deep|not valid"):
        codec.decode(body(depth))


def test_nesting_within_the_limit_still_decodes(service):
    value = JSON.decode(nested_json(MAX_DEPTH - 3))
    assert service.handle("make", {"env_name": "CartPole-v1"})["env_key"]
    assert MSGPACK.decode(MSGPACK.encode(value)) == value


@pytest.mark.parametrize("seed", [-1, [1], 1.5, True, "7", 2**64, {"a": 1}])
def test_bad_seeds_are_invalid_arguments_at_reset(service, seed):
    service.handle("make", {"env_name": "CartPole-v1"})
    with pytest.raises(InvalidArgument, match="seed"):
        service.handle("reset", {"seed": seed})
    assert service.handle("reset", {"seed": 3})["observation"] is not None  # the env is untouched


@pytest.mark.parametrize("seed", [-1, 2**64, [1], 0.5])
def test_make_refuses_a_bad_seed_at_once(service, seed):
    for method in ("make", "make_vec"):
        with pytest.raises(InvalidArgument, match="seed"):
            service.handle(method, {"env_name": "CartPole-v1", "seed": seed, "num_envs": 2})
    assert service.open_envs == []


def test_vector_seeds_are_one_per_env(service):
    service.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 2})
    service.handle("reset", {"seed": [1, None]})
    for seed in ([1], [1, 2, 3], [1, -2]):
        with pytest.raises(InvalidArgument, match="list of 2"):
            service.handle("reset", {"seed": seed})


def test_unknown_kwargs_are_invalid_arguments(service):
    for method in ("make", "make_vec"):
        with pytest.raises(InvalidArgument, match="does not take kwargs"):
            service.handle(method, {"env_name": "CartPole-v1", "kwargs": {"no_such_option": 1}, "num_envs": 2})
    assert service.open_envs == []


@pytest.mark.parametrize("action", [[1], [[1]], np.array([1]), [0, 1], True, 0.5, "1", None, float("nan"), {"a": 1}])
def test_a_discrete_action_is_one_integer(service, action):
    service.handle("make", {"env_name": "CartPole-v1"})
    service.handle("reset", {})
    with pytest.raises(InvalidAction):
        service.handle("step", {"action": action})
    for fine in (1, 1.0, np.int64(1), np.array(1)):
        assert service.handle("step", {"action": fine})["reward"] == 1.0


@pytest.mark.parametrize("header", ["Bearer k3y", "bearer k3y", "BEARER   k3y", b"Bearer k3y", " Bearer k3y "])
def test_the_bearer_scheme_is_case_insensitive(header):
    assert api_key_matches("k3y", bearer_token(header))


@pytest.mark.parametrize("header", ["Basic k3y", "Bearerk3y", "k3y", "", None, "Bearer", "Bearer k3y2"])
def test_anything_else_is_refused(header):
    assert not api_key_matches("k3y", bearer_token(header))


@pytest.mark.parametrize("key", [" ", "\t", "  \n", " padded", "padded ", "new\nline"])
def test_blank_or_padded_keys_are_refused_at_bind(key):
    with pytest.raises(ValueError, match="API key"):
        BindAddress("127.0.0.1", 0, key)
    with pytest.raises(ValueError):
        BindAddress("0.0.0.0", 0, key)
    assert check_api_key("") is None and check_api_key("ok") == "ok"


def test_launch_refuses_a_blank_key_in_one_line(monkeypatch):
    from agentgpt_core.cli import cli

    monkeypatch.delenv("AGENTGPT_API_KEY", raising=False)
    result = CliRunner().invoke(cli, ["launch", "--env", "gym:CartPole-v1", "--host", "0.0.0.0", "--api-key", " "])
    assert result.exit_code == 2 and "blank" in result.output


def test_train_listen_beyond_loopback_without_a_key_is_one_line_not_a_traceback(monkeypatch):
    from agentgpt_core.cli import cli

    monkeypatch.delenv("AGENTGPT_API_KEY", raising=False)
    result = CliRunner().invoke(cli, ["train", "--env", "CartPole-v1", "--listen", "ws://0.0.0.0:0", "--no-progress"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "without an API key" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_json_round_trip_unchanged():
    assert json.loads(JSON.encode({"a": [1, 2]})) == {"a": [1, 2]}
