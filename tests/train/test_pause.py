"""Issue 16, item 8: with no row alive the trainer pauses, counts nothing, and resumes.

``HostsGone`` is what a host pool looks like when every host has left for a while: each
step returns filler rows (``alive`` False, truncated, reward 0) until ``outage`` seconds
have passed. Before the fix the trainer went on updating on filler (about 33 updates/s
with NaN losses), burning its step budget and learning-rate schedule.
"""

from __future__ import annotations

import logging
import math
import time

import gymnasium
import numpy as np

from agentgpt_core.batches import object_rows
from agentgpt_core.train import load_hyperparameters, train
from agentgpt_core.train.run_log import read_metrics

TINY = {
    "num_envs": 4, "rollout_steps": 16, "batch_size": 32, "num_epochs": 1, "d_model": 16,
    "num_layers": 1, "num_heads": 2, "max_input_states": 4, "checkpoint_every": 1,
}  # fmt: skip


class HostsGone(gymnasium.vector.VectorWrapper):
    """From step ``at`` on, every row is filler for ``outage`` seconds; real rows are counted."""

    def __init__(self, env, at: int, outage: float):
        super().__init__(env)
        self.at, self.outage = at, outage
        self.t, self.gone_since, self.real_rows, self.filler_calls = 0, None, 0, 0

    def reset(self, **kwargs):
        observation, infos = self.env.reset(**kwargs)
        self.last = observation
        return observation, {**infos, "alive": np.ones(self.num_envs, bool)}

    def step(self, actions):
        self.t += 1
        if self.t >= self.at and self.gone_since is None:
            self.gone_since = time.monotonic()
        if self.gone_since is not None and time.monotonic() - self.gone_since < self.outage:
            self.filler_calls += 1
            n = self.num_envs
            infos = {"alive": np.zeros(n, bool), "final_obs": object_rows(list(self.last)), "_final_obs": np.ones(n, bool)}
            return self.last.copy(), np.zeros(n), np.zeros(n, bool), np.ones(n, bool), infos
        observation, reward, terminated, truncated, infos = self.env.step(actions)
        self.last = observation
        self.real_rows += self.num_envs
        return observation, reward, terminated, truncated, {**infos, "alive": np.ones(self.num_envs, bool)}


def test_no_live_row_pauses_without_counting_and_resumes(tmp_path, toy_envs, caplog):
    envs = HostsGone(toy_envs.vector(toy_envs.multi_discrete, 4), at=20, outage=1.0)
    hp = load_hyperparameters(None, {**TINY, "max_steps": 3 * 64})
    caplog.set_level(logging.WARNING, logger="agentgpt.train")
    started = time.monotonic()
    result = train(envs, hp, tmp_path, progress=False)
    assert time.monotonic() - started >= 1.0  # it waited the outage out
    assert 2 <= envs.filler_calls <= 15  # polled, with backoff, not spun
    assert result.global_step == envs.real_rows >= 3 * 64  # only real transitions counted
    assert result.updates <= 4
    rows = read_metrics(tmp_path)
    assert all(math.isfinite(row["value_loss"]) and math.isfinite(row["policy_loss"]) for row in rows)
    assert [row["global_step"] for row in rows] == sorted({row["global_step"] for row in rows})
    messages = [record.getMessage() for record in caplog.records]
    assert any("training paused" in m for m in messages) and any("training resumed" in m for m in messages)


def test_a_pool_whose_only_host_leaves_pauses_training_until_it_is_back(tmp_path, caplog):
    """The same over a real host pool: the host stops after update 2 and comes back a second later."""
    import threading

    from agentgpt_core.builtins.transport_memory import MemoryTransport
    from agentgpt_core.envs import EnvService
    from agentgpt_core.remote.pool import HostPoolVectorEnv

    service = EnvService(["gym:CartPole-v1"])
    server = MemoryTransport().server(service, name="pause-host")
    server.start()
    pool = HostPoolVectorEnv.from_urls(["memory://pause-host"], "CartPole-v1", 2, retry_interval=0.05)
    events = []

    def on_update(report):
        if report.update == 2:
            server.stop()  # every host gone
            events.append(("gone", report.global_step))
            threading.Timer(1.0, lambda: (events.append(("back", None)), server.start())).start()

    caplog.set_level(logging.WARNING, logger="agentgpt.train")
    hp = load_hyperparameters(None, {**TINY, "num_envs": 2, "max_steps": 5 * 32})
    try:
        result = train(pool, hp, tmp_path, progress=False, on_update=on_update)
    finally:
        pool.close()
        server.stop()
        service.close()
    assert [e[0] for e in events] == ["gone", "back"]
    rows = read_metrics(tmp_path)
    assert all(math.isfinite(row["value_loss"]) for row in rows)
    assert result.global_step >= 5 * 32 and result.updates <= 7  # filler steps were not counted, nor learned on
    messages = [record.getMessage() for record in caplog.records]
    assert any("training paused" in m for m in messages) and any("training resumed" in m for m in messages)
