"""Action masks (masks.py): the convention, typed errors, and masks reaching the trainer's rows
over real transports, from a host pool, and from PettingZoo's classic games."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from agentgpt_core.envs import EnvService
from agentgpt_core.masks import batch_masks, mask_branches, row_mask
from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import ERRORS_BY_CODE, InvalidActionMask
from agentgpt_core.remote import RemoteVectorEnv
from agentgpt_core.remote.pool import HostPoolVectorEnv
from tests.envs_masks import shifting_mask

pytestmark = pytest.mark.timeout(120)
M = "tests.envs_masks"
SPECS = [f"{kind}=gym:{M}:shifting_mask" for kind in ("discrete", "multi", "hybrid")]
SPECS.append(f"tictactoe=pettingzoo:{M}:counted_tictactoe")
HYBRID = spaces.Tuple((spaces.Box(-1, 1, (2,)), spaces.MultiDiscrete([3, 4])))


def test_one_convention_for_every_discrete_kind():
    assert mask_branches(spaces.Discrete(3)) == [3] and mask_branches(HYBRID) == [3, 4]
    assert mask_branches(spaces.Box(-1, 1, (2,))) == []
    assert row_mask(spaces.Discrete(3), np.array([1, 0, 1], np.int8), "e").tolist() == [True, False, True]
    assert row_mask(spaces.Discrete(3), [[0, 1, 0]], "e").tolist() == [False, True, False]  # Unity's one-branch list
    unity = [np.array([1, 0, 0], np.int8), np.array([0, 1, 1, 0], np.int8)]
    expected = [True, False, False, False, True, True, False]
    assert row_mask(HYBRID, unity, "e").tolist() == expected
    assert row_mask(HYBRID, np.concatenate(unity), "e").tolist() == expected  # one flat array of all branches
    assert row_mask(spaces.MultiDiscrete([2, 2]), [[True, False], [False, True]], "e").tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize(
    "space, mask, words",
    [
        (spaces.Discrete(3), [0, 0, 0], "branch 0 allows no action"),
        (spaces.Discrete(3), [1, 0], "has 2 entries"),
        (HYBRID, [np.ones(3), np.zeros(4)], "branch 1 allows no action"),
        (HYBRID, [np.ones(3)], "has 1 branches"),
        (HYBRID, [np.ones(3), np.ones(5)], "branch 1 has 5 entries"),
        (spaces.Box(-1, 1, (2,)), [1, 1], "no discrete part"),
        (spaces.Discrete(3), "yes", "must be an array"),
    ],
)
def test_malformed_masks_are_typed_errors_that_name_the_env(space, mask, words):
    with pytest.raises(InvalidActionMask, match=words) as caught:
        row_mask(space, mask, "my-env")
    assert "'my-env'" in caught.value.message and ERRORS_BY_CODE["invalid_action_mask"] is InvalidActionMask


def test_batch_masks_read_gymnasium_vector_infos_and_skip_rows_without_data():
    envs = SyncVectorEnv([lambda: shifting_mask("multi")] * 3, autoreset_mode=AutoresetMode.SAME_STEP)
    observation, infos = envs.reset(seed=0)
    assert (batch_masks(envs.single_action_space, infos, 3, "e") == (observation > 0.5)).all()
    assert batch_masks(envs.single_action_space, {}, 3, "e") is None
    stacked = {"action_mask": np.array([[1, 0, 0], [0, 0, 0]]), "_action_mask": np.array([True, False])}
    assert batch_masks(spaces.Discrete(3), stacked, 2, "e").tolist() == [[True, False, False], [True, True, True]]
    stacked["_action_mask"][1] = True
    with pytest.raises(InvalidActionMask, match="allows no action"):
        batch_masks(spaces.Discrete(3), stacked, 2, "e")
    assert batch_masks(spaces.Discrete(3), stacked, 2, "e", alive=np.array([True, False]))[1].all()
    with pytest.raises(InvalidActionMask, match="one entry per row"):
        batch_masks(spaces.Discrete(3), {"action_mask": [[1, 1, 1]]}, 2, "e")


@pytest.fixture(scope="module", params=[("http", "msgpack"), ("http", "json"), ("ws", "msgpack")])
def host(request):
    transport, codec = request.param
    service = EnvService(SPECS)
    with get_plugin_manager().get("transports", transport).server(service, port=0) as server:
        yield server.url, codec
    service.close()


@pytest.mark.parametrize("kind", ["discrete", "multi", "hybrid"])
def test_masks_cross_the_wire_row_by_row_through_autoresets(host, kind):
    url, codec = host
    # the observation is the mask itself, so every row's mask can be checked against it
    with RemoteVectorEnv(url, kind, 3, codec=codec, seed=0) as envs:
        observation, infos = envs.reset(seed=0)
        envs.action_space.seed(0)
        ended = 0
        for _ in range(30):  # random actions: illegal ones end episodes, so autoresets happen
            masks = batch_masks(envs.single_action_space, infos, 3, kind)
            assert (masks == (observation > 0.5)).all()
            observation, _, terminated, truncated, infos = envs.step(envs.action_space.sample())
            ended += int((terminated | truncated).sum())
        assert ended > 0


def test_masks_reach_the_rows_of_a_host_pool():
    services = [EnvService(SPECS) for _ in range(2)]
    plugin = get_plugin_manager().get("transports", "http")
    with plugin.server(services[0], port=0) as one, plugin.server(services[1], port=0) as two:
        with closing(HostPoolVectorEnv.from_urls([one.url, two.url], "multi", 2)) as envs:
            observation, infos = envs.reset(seed=0)
            for _ in range(20):
                assert (batch_masks(envs.single_action_space, infos, 4, "multi", infos["alive"]) == (observation > 0.5)).all()
                observation, _, _, _, infos = envs.step(envs.action_space.sample())
    for service in services:
        service.close()


def test_tictactoe_masks_reach_the_mover_rows(host):
    url, codec = host
    with RemoteVectorEnv(url, "tictactoe", 2, codec=codec, seed=0) as envs:
        assert envs.num_envs == 4  # 2 games x 2 players, one row each
        observation, infos = envs.reset(seed=0)
        for _ in range(25):
            alive = infos["alive"]
            assert alive.sum() == 2  # one mover per game
            masks = batch_masks(envs.single_action_space, infos, 4, "tictactoe", alive)
            assert (masks[alive] == (observation["action_mask"][alive] > 0)).all() and masks[~alive].all()
            legal = [int(np.flatnonzero(row)[0]) for row in masks]
            observation, _, _, _, infos = envs.step(np.array(legal))
