"""InferenceService called directly: contexts by agent id, batching, caps, expiry, typed errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from gymnasium import spaces

from agentgpt_core.policy import ContextWindows, GPTActorCritic
from agentgpt_core.protocol.errors import InvalidArgument, MalformedPayload, UnknownMethod
from agentgpt_core.serve import InferenceService, TooManyAgents

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)


def make_policy(action_space=spaces.Discrete(5), k=4, seed=0) -> GPTActorCritic:
    torch.manual_seed(seed)
    policy = GPTActorCritic(OBS, action_space, d_model=16, num_layers=1, num_heads=2, dropout=0.0, max_input_states=k)
    with torch.no_grad():  # clear choices, so the context visibly changes the action
        for name, param in policy.action_head.named_parameters():
            if name.endswith("weight"):
                param.normal_(0.0, 2.0)
    return policy.eval()


@pytest.fixture
def service():
    svc = InferenceService(make_policy(), batch_window_s=0.002)
    yield svc
    svc.close()


def select(svc, ids, observations, session="default", **args):
    return svc.handle("invocations", {"action": "select_action", "args": {"agent_ids": ids, "observations": observations, **args}}, session)["actions"]


def obs(seed, n=1):
    return np.random.default_rng(seed).uniform(-1, 1, (n, 3)).astype(np.float32)


def test_actions_follow_each_agents_own_context_as_evaluation_builds_it(service):
    """Three agents stepped through the service choose what ContextWindows + the policy choose."""
    policy = service.policy
    windows = ContextWindows(policy, 3)
    every = np.ones(3, bool)
    for t in range(7):
        o, r = obs(t, 3), np.full(3, 0.5 * t, np.float32)
        if t:
            windows.record(raw, r, every)
        windows.observe(policy.obs_normalizer.normalize(o), every)
        with torch.no_grad():
            raw = policy(windows.window())[0].mode().numpy()
        served = select(service, [10, 11, 12], o, rewards=r.tolist() if t else None)
        assert np.array_equal(served, policy.to_env_actions(raw))


def test_agents_join_terminate_and_rejoin_with_a_fresh_context(service):
    history = [obs(i) for i in range(5)]
    for o in history:
        select(service, ["veteran"], o)
    assert service.handle("get_agent_ids", {}) == {"agent_ids": ["veteran"]}
    fresh = select(service, ["rookie"], obs(99))
    assert service.handle("terminate_agents", {"agent_ids": ["veteran", "ghost"]}) == {"terminated": ["veteran"]}
    assert service.handle("get_agent_ids", {}) == {"agent_ids": ["rookie"]}
    assert np.array_equal(select(service, ["veteran"], obs(99)), fresh)  # nothing of its past is left
    # terminated_agent_ids in the same call: the agent ends its episode, then starts the next one
    for o in history:
        select(service, ["veteran"], o)
    assert np.array_equal(select(service, ["veteran"], obs(99), terminated_agent_ids=["veteran"]), fresh)


def test_none_observations_get_none_actions_and_leave_the_context_alone(service):
    a = select(service, [1, 2], [obs(0)[0], obs(1)[0]])
    out = select(service, [1, 2], [None, obs(2)[0].tolist()])
    assert out[0] is None and out[1] in range(5)
    assert select(service, [1, 2], [None, None]) == [None, None]
    # agent 1's context still ends with obs(0): it acts as an agent that saw obs(0) then obs(3)
    twin = InferenceService(service.policy, batch_window_s=None)
    select(twin, [1], obs(0))
    assert select(twin, [1], obs(3)).tolist() == [select(service, [1, 2], [obs(3)[0], None])[0]]
    twin.close()
    assert len(a) == 2


def test_sessions_keep_separate_agents(service):
    for o in (obs(0), obs(1), obs(2)):
        select(service, [0], o, session="game-a")
    select(service, [0], obs(5), session="game-b")
    assert service.handle("get_agent_ids", {}, "game-a") == {"agent_ids": [0]}
    assert service.handle("reset_agents", {}, "game-b") == {"reset": 1}
    assert service.handle("get_agent_ids", {}, "game-a") == {"agent_ids": [0]}
    service.close_session("game-a")
    assert service.handle("status", {}, "game-a")["agents"] == 0


@pytest.mark.parametrize(
    "args, error, words",
    [
        ({"agent_ids": [0], "observations": [[0.1, 0.2]]}, InvalidArgument, "shape [2]"),
        ({"agent_ids": [0], "observations": [[0.1, float("nan"), 0.2]]}, InvalidArgument, "NaN"),
        ({"agent_ids": [0], "observations": [["a", "b", "c"]]}, InvalidArgument, "numbers"),
        ({"agent_ids": [0, 1], "observations": [[0.1, 0.2, 0.3]]}, InvalidArgument, "1 entries for 2"),
        ({"agent_ids": [0, 0], "observations": [[0, 0, 0], [0, 0, 0]]}, InvalidArgument, "repeats"),
        ({"agent_ids": [True], "observations": [[0, 0, 0]]}, InvalidArgument, "agent id"),
        ({"agent_ids": "0", "observations": [[0, 0, 0]]}, MalformedPayload, "list"),
        ({"agent_ids": [0], "observations": [[0, 0, 0]], "rewards": [float("inf")]}, InvalidArgument, "rewards"),
        ({"agent_ids": [0], "observations": [[0, 0, 0]], "deterministic": "yes"}, InvalidArgument, "deterministic"),
        ({"agent_ids": [0], "observation": [[0, 0, 0]]}, InvalidArgument, "observation"),
        ({"agent_ids": [0]}, InvalidArgument, "observations"),
    ],
)
def test_bad_arguments_are_typed_errors_that_change_nothing(service, args, error, words):
    select(service, [7], obs(0))
    with pytest.raises(error, match=None) as caught:
        service.handle("invocations", {"action": "select_action", "args": args})
    assert words in caught.value.message
    assert service.handle("get_agent_ids", {}) == {"agent_ids": [7]}
    assert select(service, [7], obs(1)) in range(5)  # still serving


def test_unknown_actions_and_methods(service):
    with pytest.raises(UnknownMethod, match="select_action"):
        service.handle("invocations", {"action": "fly"})
    with pytest.raises(UnknownMethod):
        service.handle("step", {})
    with pytest.raises(MalformedPayload):
        service.handle("invocations", {"action": "status", "args": [1]})
    with pytest.raises(MalformedPayload):
        service.handle("invocations", {"action": "status", "extra": 1})
    assert service.handle("ping") ["ok"] is True
    assert service.handle("status", {})["action_space"]["type"] == "Discrete"  # each action is also a method


def test_too_many_agents_is_refused_whole_and_expiry_frees_room():
    svc = InferenceService(make_policy(), max_agents=4, agent_ttl_s=0.2, batch_window_s=None)
    svc.handle("set_control_value", {"control_value": 0.5}, "gone")  # a session default, then silence
    select(svc, [0, 1, 2], obs(0, 3))
    with pytest.raises(TooManyAgents):
        select(svc, [3, 4], obs(1, 2))
    assert sorted(svc.handle("get_agent_ids", {})["agent_ids"]) == [0, 1, 2]  # nothing half-added
    select(svc, [3], obs(1))  # exactly at the cap is fine
    with pytest.raises(TooManyAgents):
        svc.handle("set_control_value", {"control_value": 0.5, "agent_ids": [9]})
    time.sleep(0.3)
    select(svc, [5, 6, 7, 8], obs(2, 4))  # the idle ones expired
    assert sorted(svc.handle("get_agent_ids", {})["agent_ids"]) == [5, 6, 7, 8]
    assert svc.handle("status", {})["agents"] == 4
    assert svc.handle("get_control_value", {}, "gone") == {"control_value": 1.0}  # expired with its session


def test_slots_are_reused_and_grow_past_the_initial_size():
    svc = InferenceService(make_policy(), batch_window_s=None)
    for round_ in range(3):
        ids = list(range(100 * round_, 100 * round_ + 100))
        select(svc, ids, obs(round_, 100))
        svc.handle("terminate_agents", {"agent_ids": ids})
    assert svc.agents.contexts.capacity == 128  # 100 at a time: the freed slots were reused


def test_control_value_zero_is_uniform_and_one_is_the_policy():
    svc = InferenceService(make_policy(), batch_window_s=None, seed=0)
    o = np.repeat(obs(3), 400, axis=0)
    best = select(svc, list(range(400)), o)
    assert len(set(best.tolist())) == 1  # same context, same best action
    svc.handle("reset_agents", {})
    svc.handle("set_control_value", {"control_value": 0.0})
    counts = np.bincount(select(svc, list(range(400)), o), minlength=5)
    assert counts.min() > 50  # uniform over 5 actions (80 expected each)
    svc.handle("set_control_value", {"control_value": 0.5, "agent_ids": [0, 1]})
    assert svc.handle("get_control_value", {"agent_ids": [0, 1, 2]}) == {"control_values": [0.5, 0.5, 0.0]}
    assert svc.handle("get_control_value", {}) == {"control_value": 0.0}
    for bad in (1.5, -0.1, float("nan"), "high", True):
        with pytest.raises(InvalidArgument):
            svc.handle("set_control_value", {"control_value": bad})


def test_control_value_survives_termination_and_mixes_in_proportion():
    svc = InferenceService(make_policy(), batch_window_s=None, seed=1)
    ids = list(range(2000))
    o = np.repeat(obs(4), 2000, axis=0)
    best = select(svc, ids, o)[0]
    svc.handle("terminate_agents", {"agent_ids": ids})
    svc.handle("set_control_value", {"control_value": 0.6, "agent_ids": ids})
    share = np.mean(select(svc, ids, o) == best)
    assert abs(share - (0.6 + 0.4 / 5)) < 0.05  # policy 60 %, plus the random fifth of the rest


def test_concurrent_callers_share_forward_passes_and_get_their_own_actions():
    policy = make_policy()
    batched = InferenceService(policy, batch_window_s=0.05)
    alone = InferenceService(policy, batch_window_s=None)
    sessions = [f"client-{i}" for i in range(8)]
    observations = {s: obs(i, 4) for i, s in enumerate(sessions)}
    expected = {s: select(alone, [0, 1, 2, 3], observations[s], session=s) for s in sessions}
    for s in sessions:  # every session has called once, so the batcher expects all eight
        batched.handle("get_agent_ids", {}, s)
        select(batched, [99], obs(0), session=s)
    passes_before = batched.decider.forward_passes
    results, barrier = {}, threading.Barrier(len(sessions))

    def client(session):
        barrier.wait()
        results[session] = select(batched, [0, 1, 2, 3], observations[session], session=session)

    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(results[s], expected[s]) for s in sessions)
    assert batched.decider.forward_passes - passes_before < len(sessions)  # they shared passes
    batched.close()
    alone.close()


def test_a_lone_caller_does_not_wait_for_the_window():
    svc = InferenceService(make_policy(), batch_window_s=0.5)
    select(svc, [0], obs(0))
    start = time.perf_counter()
    for i in range(5):
        select(svc, [0], obs(i))
    assert time.perf_counter() - start < 0.5  # five calls, far less than one window
    svc.close()


@pytest.mark.parametrize(
    "action_space",
    [spaces.Box(-2.0, 2.0, (2,), np.float32), spaces.Tuple((spaces.Discrete(3), spaces.Box(-1.0, 1.0, (2,), np.float32))), spaces.MultiDiscrete([2, 3])],
)
def test_other_action_spaces_and_samples(action_space):
    svc = InferenceService(make_policy(action_space), batch_window_s=None, default_control=0.5)
    for _ in range(3):
        for action in list(select(svc, [0, 1, 2], [obs(0)[0], None, obs(1)[0]])):
            assert action is None or action_space.contains(_as_space(action_space, action))
    for action in svc.handle("sample_action", {"num_agents": 3})["actions"]:
        assert action_space.contains(_as_space(action_space, action))
    assert svc.handle("sample_observation", {"num_agents": 2})["observations"].shape == (2, 3)
    with pytest.raises(InvalidArgument):
        svc.handle("sample_action", {"num_agents": 0})
    svc.close()


def _as_space(space, action):
    if isinstance(space, spaces.Tuple):
        return (np.int64(action[0]), np.asarray(action[1], np.float32))
    return np.asarray(action, space.dtype)


def test_a_call_on_an_event_loop_never_waits_for_the_batch_window():
    """A transport that answers on its loop thread (WebSocket) must not hold the loop for a window."""
    import asyncio

    svc = InferenceService(make_policy(), batch_window_s=1.0)
    for s in ("a", "b"):  # two recent sessions: a thread caller would wait for the other
        svc.handle("get_agent_ids", {}, s)
        svc.batcher._last_seen[s] = time.monotonic()

    async def on_loop():
        start = time.perf_counter()
        select(svc, [0], obs(0), session="a")
        return time.perf_counter() - start

    assert asyncio.run(on_loop()) < 0.5
    svc.close()


def test_many_threads_joining_acting_and_leaving_keep_the_table_consistent():
    svc = InferenceService(make_policy(), max_agents=64, batch_window_s=0.001)
    errors = []

    def client(index):
        rng = np.random.default_rng(index)
        session = f"s{index % 3}"  # threads share sessions, and so agents
        try:
            for _ in range(60):
                ids = sorted(set(rng.integers(0, 12, size=int(rng.integers(1, 6))).tolist()))
                choice = rng.random()
                if choice < 0.6:
                    out = select(svc, ids, obs(int(rng.integers(1000)), len(ids)), session=session, terminated_agent_ids=ids[:1] if choice < 0.1 else None)
                    assert len(out) == len(ids)
                elif choice < 0.8:
                    svc.handle("terminate_agents", {"agent_ids": ids}, session)
                elif choice < 0.9:
                    svc.handle("set_control_value", {"control_value": float(rng.random()), "agent_ids": ids}, session)
                else:
                    svc.handle("reset_agents", {}, session)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    table = svc.agents
    held = [agent.slot for agent in table._agents.values() if agent.slot is not None]
    assert len(held) == len(set(held))  # no slot is shared
    assert sorted(held + table._free) == list(range(table.contexts.capacity))  # none leaked
    svc.close()


def test_a_server_stopped_mid_batch_leaves_the_batcher_usable():
    """A loop that led a gathering batch and then closed must not hold the lead for ever."""
    import asyncio

    svc = InferenceService(make_policy(), batch_window_s=0.5)
    for s in ("a", "b"):  # two recent sessions: a's call waits for b's
        svc.batcher._last_seen[s] = time.monotonic()

    async def gathering():
        svc.begin("select_action", {"agent_ids": [0], "observations": obs(0)}, "a").close()  # nobody awaits it

    asyncio.run(gathering())  # the loop closes with a's call queued and its timer pending
    result = []
    caller = threading.Thread(target=lambda: result.append(select(svc, [1], obs(1), session="b")), daemon=True)
    caller.start()
    caller.join(20)  # it waits one window for a (still expected), then leads; before, it waited for ever
    assert not caller.is_alive() and len(result[0]) == 1
    svc.close()
