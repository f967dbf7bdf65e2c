"""Issue 16, items 12 and 13: remote vector envs match Gymnasium's own SyncVectorEnv, bit for bit.

12: ``RemoteVectorEnv.step`` (and the host pool's) take actions in their own
``action_space`` format for Dict and Tuple action spaces (what ``action_space.sample()``
gives), as Gymnasium's vector envs do.
13: a pre-1.0 env that resets itself, served through ``make_vec``, is reset once: its
``final_obs`` is the terminal observation and no episode is skipped.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from agentgpt_core.builtins.transport_memory import MemoryTransport
from agentgpt_core.envs import EnvService
from agentgpt_core.remote import RemoteVectorEnv
from agentgpt_core.remote.pool import HostPoolVectorEnv
from tests import envs_for_tests

M = "tests.envs_for_tests"


@pytest.fixture
def serve():
    """``serve(name, *specs)`` starts a memory host; every one is stopped afterwards."""
    started = []

    def start(name: str, *specs: str):
        service = EnvService(list(specs))
        server = MemoryTransport().server(service, name=name)
        server.start()
        started.append((server, service))
        return f"memory://{name}"

    yield start
    for server, service in started:
        server.stop()
        service.close()


def assert_same_step(got, want):
    for a, b in zip(got[:4], want[:4]):
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype
    got_info, want_info = got[4], want[4]
    assert ("final_obs" in got_info) == ("final_obs" in want_info)
    if "final_obs" in want_info:
        np.testing.assert_array_equal(got_info["_final_obs"], want_info["_final_obs"])
        for i in np.flatnonzero(want_info["_final_obs"]):
            np.testing.assert_array_equal(got_info["final_obs"][i], want_info["final_obs"][i])
            assert got_info["final_obs"][i].dtype == want_info["final_obs"][i].dtype
    return "final_obs" in want_info


def local_vector(factory, num_envs: int) -> SyncVectorEnv:
    return SyncVectorEnv([factory] * num_envs, autoreset_mode=AutoresetMode.SAME_STEP)


@pytest.mark.parametrize("kind", ["dict", "tuple"])
@pytest.mark.parametrize("codec", ["msgpack", "json"])
def test_batched_dict_and_tuple_actions_step_like_sync_vector_env(serve, kind, codec):
    url = serve(f"composed-{kind}-{codec}", f"act={'gym'}:{M}:{kind}_action_env")
    factory = getattr(envs_for_tests, f"{kind}_action_env")
    remote, local = RemoteVectorEnv(url, "act", 3, codec=codec), local_vector(factory, 3)
    try:
        assert remote.action_space == local.action_space
        got, want = remote.reset(seed=11), local.reset(seed=11)
        np.testing.assert_array_equal(got[0], want[0])
        local.action_space.seed(5)
        finals = 0
        for _ in range(10):
            actions = local.action_space.sample()  # the batched form: a dict / tuple of arrays
            finals += assert_same_step(remote.step(actions), local.step(actions))
        # the per-env form (gymnasium.vector.utils.iterate) is accepted as well
        from gymnasium.vector.utils import iterate

        actions = local.action_space.sample()
        finals += assert_same_step(remote.step(list(iterate(local.action_space, actions))), local.step(actions))
        assert finals >= 2
    finally:
        remote.close()
        local.close()


@pytest.mark.parametrize("kind", ["dict", "tuple"])
def test_the_host_pool_takes_batched_composed_actions(serve, kind):
    urls = [serve(f"pool-{kind}-{i}", f"act=gym:{M}:{kind}_action_env") for i in range(2)]
    factory = getattr(envs_for_tests, f"{kind}_action_env")
    pool, local = HostPoolVectorEnv.from_urls(urls, "act", 2), local_vector(factory, 4)
    try:
        got, want = pool.reset(seed=3), local.reset(seed=3)
        np.testing.assert_array_equal(got[0], want[0])
        local.action_space.seed(1)
        finals = sum(assert_same_step(pool.step(a), local.step(a)) for a in (local.action_space.sample() for _ in range(9)))
        assert finals >= 2
    finally:
        pool.close()
        local.close()


@pytest.mark.parametrize("num_envs", [1, 3])
def test_a_self_resetting_pre_1_0_env_through_make_vec_matches_sync_vector_env(serve, num_envs):
    url = serve(f"pre-{num_envs}", f"pre=gym:{M}:pre_1_0_countdown", f"plain=gym:{M}:countdown")
    remote = RemoteVectorEnv(url, "pre", num_envs)
    local = local_vector(envs_for_tests.countdown, num_envs)  # the 1.x env it should behave as
    try:
        got, want = remote.reset(seed=0), local.reset(seed=0)
        np.testing.assert_array_equal(got[0], want[0])
        episodes = 0
        for _ in range(12):
            actions = np.zeros(num_envs, dtype=np.int64)
            episodes += assert_same_step(remote.step(actions), local.step(actions))
        assert episodes == 4  # a 3-step countdown ends on steps 3, 6, 9, 12: none skipped
    finally:
        remote.close()
        local.close()
