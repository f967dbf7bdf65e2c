"""Issue 16, item 11: the env cap counts envs, and idle envs are swept on a timer."""

from __future__ import annotations

import time

import pytest

from agentgpt_core.envs import EnvService
from agentgpt_core.protocol.errors import InvalidArgument


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def test_the_cap_counts_every_env_of_a_make_vec():
    service = EnvService(["gym:CartPole-v1"], max_envs=10)
    try:
        service.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 8}, session="a")
        with pytest.raises(InvalidArgument, match="runs 8 of at most 10 envs; 3 more"):
            service.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 3}, session="b")
        service.handle("make", {"env_name": "CartPole-v1"}, session="b")
        service.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 1}, session="c")
        with pytest.raises(InvalidArgument, match="at most 10"):
            service.handle("make", {"env_name": "CartPole-v1"}, session="d")
        assert sum(env.num_envs for env in service.open_envs) == 10
    finally:
        service.close()


def test_a_refused_make_vec_builds_nothing(monkeypatch):
    service = EnvService(["gym:CartPole-v1"], max_envs=4)
    built = []
    adapter = service._adapters["gym"]
    monkeypatch.setattr(adapter, "make_vec", lambda *a, **k: built.append(a))
    with pytest.raises(InvalidArgument):
        service.handle("make_vec", {"env_name": "CartPole-v1", "num_envs": 5})
    assert built == []
    service.close()


def test_envs_of_clients_that_vanished_are_swept_without_any_new_call():
    service = EnvService(["gym:CartPole-v1"], idle_timeout_s=0.4)
    try:
        for client in range(300):  # each made an env and was never heard of again
            service.handle("make", {"env_name": "CartPole-v1"}, session=f"gone-{client}")
        assert len(service.open_envs) == 300
        assert wait_until(lambda: not service.open_envs, 5)  # nobody called make, or anything
    finally:
        service.close()


def test_an_env_in_use_is_not_swept():
    service = EnvService(["gym:CartPole-v1"], idle_timeout_s=0.4)
    try:
        service.handle("make", {"env_name": "CartPole-v1"})
        service.handle("reset", {})
        for _ in range(10):
            time.sleep(0.1)
            service.handle("step", {"action": 0})
        assert len(service.open_envs) == 1
    finally:
        service.close()
