"""Action masks in serving: select_action and sample_action take per-agent masks, batched or
not, at any control value, directly and through GPTAPI over real transports; a malformed
mask is a typed error that changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.errors import InvalidActionMask, InvalidArgument
from agentgpt_core.serve import GPTAPI, InferenceService

from .test_service import make_policy, obs, select

HYBRID = spaces.Tuple((spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.MultiDiscrete([3, 4])))


def random_masks(rng, count, branches):
    masks = []
    for _ in range(count):
        per_branch = []
        for n in branches:
            allowed = rng.random(n) < 0.4
            allowed[rng.integers(n)] = True
            per_branch.append(allowed.astype(np.int8))
        masks.append(per_branch[0] if len(branches) == 1 else per_branch)
    return masks


def allowed(action, mask, hybrid: bool) -> bool:
    if not hybrid:
        return bool(mask[int(action)])
    choices = np.asarray(action[1] if isinstance(action, (tuple, list)) else action).ravel()
    return all(branch[c] for branch, c in zip(mask, choices))


@pytest.mark.parametrize("batch_window_s", [None, 0.002])
@pytest.mark.parametrize("hybrid", [False, True], ids=["discrete", "hybrid"])
def test_every_served_action_is_allowed_at_any_control_value(batch_window_s, hybrid):
    space = HYBRID if hybrid else spaces.Discrete(5)
    branches = [3, 4] if hybrid else [5]
    service = InferenceService(make_policy(space), batch_window_s=batch_window_s)
    rng = np.random.default_rng(0)
    forbidden_without_masks = 0
    try:
        for control in (1.0, 0.5, 0.0):
            service.handle("set_control_value", {"control_value": control})
            for t in range(30):
                masks = random_masks(rng, 4, branches)
                deterministic = bool(t % 2)
                actions = select(service, [0, 1, 2, 3], obs(t, 4), action_masks=masks, deterministic=deterministic)
                assert all(allowed(a, m, hybrid) for a, m in zip(actions, masks))
                unmasked = select(service, [10, 11, 12, 13], obs(t, 4), deterministic=deterministic)
                forbidden_without_masks += sum(not allowed(a, m, hybrid) for a, m in zip(unmasked, masks))
        sampled = service.handle("sample_action", {"num_agents": 4, "action_masks": masks})["actions"]
        assert all(allowed(a, m, hybrid) for a, m in zip(sampled, masks))
    finally:
        service.close()
    assert forbidden_without_masks > 20  # the same policy without masks plays forbidden actions


def test_agents_without_a_mask_are_unrestricted_and_a_bad_mask_changes_nothing():
    service = InferenceService(make_policy(), batch_window_s=None)
    try:
        only = np.array([0, 0, 0, 1, 0], np.int8)
        actions = select(service, ["a", "b"], obs(1, 2), action_masks=[only, None])
        assert actions[0] == 3
        before = service.handle("get_agent_ids", {})["agent_ids"]
        cases = [
            ([[0, 0, 0, 0, 0], None], InvalidActionMask, "request action_masks\\[0\\] \\(agent 'a'\\): action_mask branch 0 allows no action"),
            ([None, [1, 1]], InvalidActionMask, "agent 'new'.*has 2 entries"),
            ([only], InvalidArgument, "action_masks has 1 entries"),
        ]
        for bad, error, words in cases:
            with pytest.raises(error, match=words):
                select(service, ["a", "new"], obs(2, 2), action_masks=bad)
        assert service.handle("get_agent_ids", {})["agent_ids"] == before  # "new" was not added
    finally:
        service.close()


@pytest.mark.parametrize("transport, codec", [("http", "json"), ("http", "msgpack"), ("ws", "msgpack")])
def test_gptapi_sends_masks_over_the_wire(transport, codec):
    service = InferenceService(make_policy(HYBRID), batch_window_s=0.002)
    rng = np.random.default_rng(1)
    with get_plugin_manager().get("transports", transport).server(service, port=0) as server:
        with GPTAPI.connect(server.url, codec=codec) as api:
            for t in range(10):
                masks = random_masks(rng, 3, [3, 4])
                boxes, choices = api.select_action([0, 1, 2], obs(t, 3), action_masks=masks, deterministic=False)
                assert all(allowed(c, m, True) for c, m in zip(choices, masks))
            boxes, choices = api.sample_action(3, action_masks=masks)  # a Tuple space's batch: one array per part
            assert all(allowed(c, m, True) for c, m in zip(choices, masks)) and boxes.shape == (3, 2)
            with pytest.raises(InvalidActionMask, match="branch 1 allows no action"):
                api.select_action([0], obs(0, 1), action_masks=[[np.ones(3), np.zeros(4)]])
            assert api.select_action([0], obs(0, 1))[1].shape == (1, 2)  # still serving
    service.close()
