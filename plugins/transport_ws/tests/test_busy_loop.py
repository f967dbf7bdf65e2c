"""Issue 16, item 10: a slow env on one socket never holds the server's loop for the others."""

from __future__ import annotations

import threading
import time

from agentgpt_core.envs.service import EnvService
from agentgpt_transport_ws import WsClient, WsServer


def test_a_slow_step_on_one_socket_does_not_delay_a_ping_on_another(slow_env):
    service = EnvService([f"gym:{slow_env}", "gym:CartPole-v1"])
    with WsServer(service) as server:
        busy, idle = WsClient(server.url, codec="json"), WsClient(server.url)
        try:
            key = busy.call("make", {"env_name": slow_env, "kwargs": {"delay": 2.0}})["env_key"]
            busy.call("reset", {"env_key": key})
            stepping = threading.Thread(target=busy.call, args=("step", {"env_key": key, "action": 0}))
            stepping.start()
            time.sleep(0.2)  # the slow step is running now
            latencies = []
            for _ in range(5):
                began = time.monotonic()
                assert idle.call("ping")["ok"]
                latencies.append(time.monotonic() - began)
            assert stepping.is_alive()  # all five answered while the slow step still ran
            stepping.join(5)
            assert max(latencies) < 0.5, latencies  # before: the whole step (1.5 s measured)
        finally:
            busy.close()
            idle.close()
            service.close()
