"""The dispatcher's choice: cheap computing calls inline, waiting or long calls in a thread."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from agentgpt_transport_http.dispatch import Dispatcher

pytestmark = pytest.mark.timeout(30)


class RecordingService:
    """Stands in for EnvService: each method costs what the test says and records its thread."""

    def __init__(self, costs):
        self.costs = costs
        self.threads: list[str] = []

    def handle(self, method, params, session):
        self.threads.append(threading.current_thread().name)
        kind, seconds = self.costs[method]
        if kind == "sleep":
            time.sleep(seconds)
        else:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                pass
        return method


def run_calls(dispatcher, method, count):
    async def calls():
        loop_thread = threading.current_thread().name
        for _ in range(count):
            await dispatcher.call(method, {"env_key": "e1"}, "s")
        return loop_thread

    return anyio.run(calls)


def test_cheap_computing_calls_run_inline_after_the_first():
    service = RecordingService({"step": ("compute", 0.0001)})
    loop_thread = run_calls(Dispatcher(service), "step", 20)
    assert service.threads[0] != loop_thread  # unknown cost: the first goes to a thread
    assert service.threads[1:].count(loop_thread) >= 15  # a preempted call may look like waiting on a busy machine


def test_waiting_calls_stay_in_threads():
    service = RecordingService({"step": ("sleep", 0.002)})
    loop_thread = run_calls(Dispatcher(service), "step", 4)
    assert loop_thread not in service.threads


def test_calls_over_the_budget_stay_in_threads():
    service = RecordingService({"step": ("compute", 0.003)})
    loop_thread = run_calls(Dispatcher(service, inline_budget_s=0.001), "step", 4)
    assert loop_thread not in service.threads


def test_make_always_in_a_thread_metadata_always_inline():
    service = RecordingService({"make": ("compute", 0.0), "info": ("compute", 0.0)})
    dispatcher = Dispatcher(service)
    loop_thread = run_calls(dispatcher, "make", 3)
    assert loop_thread not in service.threads
    service.threads.clear()
    loop_thread = run_calls(dispatcher, "info", 3)
    assert service.threads == [loop_thread] * 3
