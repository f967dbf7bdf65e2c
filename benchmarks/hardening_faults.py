"""Fault figures for issue 16 (items 7 and 10), one JSON line.

- a dial-out host that registers and never answers, joining a pool with the default
  deadlines (2 s minimum): the first step after it joins, and 20 steps in all;
- a ping on one WebSocket while another socket's env step sleeps 1.5 s.

    .venv/bin/python benchmarks/hardening_faults.py
"""
import sys, time, threading, json
sys.path.insert(0, "plugins/transport_ws/tests")  # the rogue host and the slow env of the WS tests
import numpy as np
from agentgpt_core.envs.service import EnvService
from agentgpt_core.remote.pool import HostPoolVectorEnv
from agentgpt_transport_ws import DialOutServer, WsGateway, WsClient, WsServer
import importlib.util
spec = importlib.util.spec_from_file_location("silent", "plugins/transport_ws/tests/test_silent_hosts.py")
silent = importlib.util.module_from_spec(spec); spec.loader.exec_module(silent)
import conftest  # registers the slow env
out = {}
with WsGateway("ws://127.0.0.1:0", api_key=silent.KEY, timeout=30.0) as gw:
    with silent.steady_host(gw):
        pool = HostPoolVectorEnv(gw, "CartPole-v1", 4, min_hosts=1, wait_timeout=5, owns_source=False)  # default deadlines
        pool.reset(seed=0)
        base = silent.timed_steps(pool, 20)
        with silent.RogueHost(gw.url, "silent"):
            while len(gw.hosts()) < 2: time.sleep(0.02)
            times = silent.timed_steps(pool, 20)
        out["silent_join_default_deadline"] = {"first_step_s": round(times[0], 3), "sum_20_steps_s": round(sum(times), 3), "median_before_ms": round(1000*float(np.median(base)), 3), "median_after_first_ms": round(1000*float(np.median(times[1:])), 3)}
        pool.close()
service = EnvService([f"gym:{conftest.SLOW_ENV}", "gym:CartPole-v1"])
with WsServer(service) as server:
    busy, idle = WsClient(server.url), WsClient(server.url)
    key = busy.call("make", {"env_name": conftest.SLOW_ENV, "kwargs": {"delay": 1.5}})["env_key"]
    busy.call("reset", {"env_key": key})
    t = threading.Thread(target=busy.call, args=("step", {"env_key": key, "action": 0})); t.start(); time.sleep(0.2)
    lat = []
    for _ in range(10):
        b = time.monotonic(); idle.call("ping"); lat.append(time.monotonic() - b)
    t.join()
    out["ws_ping_during_1_5s_step_ms"] = {"max": round(1000*max(lat), 2), "median": round(1000*float(np.median(lat)), 2)}
    busy.close(); idle.close()
service.close()
print(json.dumps(out))
