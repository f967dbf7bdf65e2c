"""Cross-request batching through real servers on 127.0.0.1: calls from different
WebSocket connections, calls pipelined on one connection, and concurrent HTTP clients
reach the same batcher and share one forward pass (counted by the service)."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect as ws_connect

from agentgpt_core.plugins import get_plugin_manager
from agentgpt_core.protocol.codecs import MSGPACK
from agentgpt_core.serve import InferenceService

from .test_service import make_policy, obs

WINDOW_S = 1.0  # generous: the calls under test arrive within microseconds of each other
IDS = [0, 1, 2]


def select_args(seed: int, ids=IDS) -> dict:
    return {"action": "select_action", "args": {"agent_ids": ids, "observations": obs(seed, len(ids)).tolist()}}


@pytest.fixture
def policy():
    return make_policy()


@pytest.fixture
def expected(policy):
    """What each seed's call answers when served alone (fresh agents, their first token), and
    (seed + 10) the same agents' next call, whose context holds the first call's actions."""
    alone = InferenceService(policy, batch_window_s=None)
    answers = {}
    for seed in range(3):
        for s in (seed, seed + 10):
            answers[s] = alone.handle("invocations", select_args(s), f"s{seed}")["actions"].tolist()
    alone.close()
    return answers


def serve(policy, transport: str):
    service = InferenceService(policy, batch_window_s=WINDOW_S)
    return service, get_plugin_manager().get("transports", transport).server(service, port=0)


async def ws_call(socket, request_id: int, args: dict) -> None:
    await socket.send(MSGPACK.encode({"id": request_id, "method": "invocations", "params": args}))


async def ws_answers(socket, count: int) -> dict:
    answers = {}
    for _ in range(count):
        message = MSGPACK.decode(await asyncio.wait_for(socket.recv(), 10))
        assert "result" in message, message
        answers[message["id"]] = np.asarray(message["result"]["actions"]).tolist()
    return answers


def test_calls_from_two_websocket_clients_share_one_forward_pass(policy, expected):
    service, server = serve(policy, "ws")

    async def clients():
        async with ws_connect(server.url, compression=None) as a, ws_connect(server.url, compression=None) as b:
            # Each session calls once so the batcher expects both; b's warm-up waits for a's
            # next call (or the window), so both are sent before either is read.
            await ws_call(a, 1, select_args(9, ["warm"]))
            await ws_answers(a, 1)
            await ws_call(b, 1, select_args(9, ["warm"]))
            await ws_call(a, 2, select_args(9, ["warm"]))
            await ws_answers(b, 1)
            await ws_answers(a, 1)
            before = service.decider.forward_passes
            got = []
            for first, second in ((0, 1), (10, 11)):  # the second pass's contexts hold the first pass's actions
                await ws_call(a, 3 + first, select_args(first))
                await ws_call(b, 3 + second, select_args(second))
                got += [(await ws_answers(a, 1))[3 + first], (await ws_answers(b, 1))[3 + second]]
            return service.decider.forward_passes - before, got

    with server:
        passes, got = asyncio.run(clients())
    service.close()
    assert passes == 2
    assert got == [expected[0], expected[1], expected[10], expected[11]]


def test_calls_pipelined_on_one_websocket_share_one_forward_pass(policy, expected):
    service, server = serve(policy, "ws")

    async def client():
        async with ws_connect(server.url, compression=None) as socket, ws_connect(server.url, compression=None) as other:
            await ws_call(other, 1, select_args(9, ["warm"]))  # a second active session: the batch waits for company
            await ws_answers(other, 1)
            before = service.decider.forward_passes
            await ws_call(socket, 1, select_args(0, [0, 1, 2]))
            await ws_call(socket, 2, select_args(1, [3, 4, 5]))  # sent before the first answer is read
            got = await ws_answers(socket, 2)
            return service.decider.forward_passes - before, got

    with server:
        passes, got = asyncio.run(client())
    service.close()
    assert passes == 1
    assert got[1] == expected[0] and got[2] == expected[1]


def test_concurrent_http_clients_share_one_forward_pass(policy, expected):
    service, server = serve(policy, "http")

    async def clients():
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:

            async def call(session: str, args: dict):
                response = await http.post("/invocations", json=args, headers={"X-AgentGPT-Session": session})
                assert response.status_code == 200, response.text
                return response.json()["actions"]

            await call("a", select_args(9, ["warm"]))
            await asyncio.gather(call("b", select_args(9, ["warm"])), call("a", select_args(9, ["warm2"])))
            before = service.decider.forward_passes
            got = await asyncio.gather(call("a", select_args(0)), call("b", select_args(1)))
            return service.decider.forward_passes - before, got

    with server:
        passes, got = asyncio.run(clients())
    service.close()
    assert passes == 1
    assert got == [expected[0], expected[1]]
    assert np.asarray(got).shape == (2, len(IDS))


def test_loop_and_thread_callers_share_the_batcher_without_losing_a_call(policy):
    """WebSocket clients (on the server's loop) and in-process threads call at once, many
    times, on a short window: every call is answered, and some passes carry several calls."""
    import threading

    service = InferenceService(policy, batch_window_s=0.003)
    server = get_plugin_manager().get("transports", "ws").server(service, port=0)
    errors: list[BaseException] = []

    def thread_caller(index: int) -> None:
        try:
            for step in range(40):
                answer = service.handle("invocations", select_args(step, [0, 1]), f"thread-{index}")["actions"]
                assert len(answer) == 2
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    async def ws_clients() -> int:
        async def one(index: int) -> int:
            async with ws_connect(server.url, compression=None) as socket:
                for step in range(40):
                    await ws_call(socket, step, select_args(step + index, [0, 1, 2]))
                    assert len((await ws_answers(socket, 1))[step]) == 3
            return 40

        return sum(await asyncio.gather(*(one(i) for i in range(4))))

    with server:
        threads = [threading.Thread(target=thread_caller, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        answered = asyncio.run(ws_clients())
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)
    service.close()
    assert not errors, errors
    assert answered == 160
    stats = service.batcher.stats()
    assert stats["calls"] == 160 + 3 * 40
    assert stats["forward_passes"] < stats["calls"]
