"""The pool's parts on their own: slot allocation, fan-out through submit, deferred calls."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentgpt_core.kinds import DeferredCall, TransportClient
from agentgpt_core.protocol.errors import TransportError
from agentgpt_core.remote.fanout import fan_out
from agentgpt_core.remote.slot_table import SlotTable


def test_a_returning_host_gets_its_slots_back_before_never_held_ones():
    table = SlotTable(6)
    assert table.claim("a", 2) == [0, 1] and table.claim("b", 2) == [2, 3]
    table.vacate("a", [0, 1])
    assert table.claim("c", 1) == [4]  # never held before slots a left
    assert table.claim("a", 3) == [0, 1, 5]  # its own first
    assert table.free() == []
    table.release([5])
    assert table.free() == [5]


class ThreadRecorder(TransportClient):
    """A blocking client that records which thread ran each call."""

    def __init__(self, fail: bool = False):
        self.threads: list[str] = []
        self.fail = fail

    def call(self, method, params=None):
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise TransportError("gone")
        return {"method": method, **(params or {})}


def test_fan_out_runs_one_blocking_call_here_and_the_others_on_the_executor():
    clients = [ThreadRecorder(), ThreadRecorder(), ThreadRecorder(fail=True)]
    with ThreadPoolExecutor(thread_name_prefix="pool") as executor:
        waits = fan_out([(c, "step", {"i": i}) for i, c in enumerate(clients)], executor)
        assert waits[0]() == {"method": "step", "i": 0} and waits[1]() == {"method": "step", "i": 1}
        with pytest.raises(TransportError):
            waits[2]()
    assert clients[0].threads == [threading.current_thread().name]
    assert all(c.threads[0].startswith("pool") for c in clients[1:])


def test_a_deferred_call_runs_once_wherever_it_is_started():
    calls = []
    deferred = DeferredCall(lambda x: calls.append(x) or x * 2, 21)
    assert not deferred.done()
    assert deferred.result() == 42 and deferred.result() == 42
    deferred.start()
    assert calls == [21]
