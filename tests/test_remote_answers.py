"""Issue 16, item 9 (results): a host's wrongly shaped answer is the protocol's typed error naming the call."""

from __future__ import annotations

import numpy as np
import pytest

from agentgpt_core.kinds import TransportClient
from agentgpt_core.protocol.errors import MalformedPayload
from agentgpt_core.protocol.spaces import space_to_dict
from agentgpt_core.remote import RemoteEnv, RemoteVectorEnv
from gymnasium import spaces

BOX = spaces.Box(-1, 1, (3,), np.float32)
DESCRIPTION = {"env_key": "k", "num_envs": 2, "observation_space": space_to_dict(BOX),
               "action_space": space_to_dict(spaces.Discrete(2)), "agents": None}  # fmt: skip


class Scripted(TransportClient):
    """Answers each method with what the test scripted, however wrong."""

    def __init__(self, **answers):
        self.answers = {"make": DESCRIPTION, "make_vec": DESCRIPTION, "close": {}, **answers}

    def call(self, method, params=None):
        return self.answers[method]

    def close(self):
        pass


GOOD_STEP = {"observation": [0.0, 0.0, 0.0], "reward": 1.0, "terminated": False, "truncated": False, "info": {}}


@pytest.mark.parametrize(
    "method,answer",
    [
        ("reset", {"observation": [1.0, 2.0]}),  # wrong size
        ("reset", {"info": {}}),  # no observation
        ("reset", ["not", "an", "object"]),
        ("step", {**GOOD_STEP, "observation": "text"}),
        ("step", {k: v for k, v in GOOD_STEP.items() if k != "reward"}),
        ("step", {**GOOD_STEP, "final_observation": [1.0]}),
        ("step", 42),
    ],
)
def test_remote_env_answers_that_do_not_fit_are_malformed_payloads_naming_the_call(method, answer):
    env = RemoteEnv("scripted://", "X", client=Scripted(**{"reset": {"observation": [0.0] * 3}, "step": GOOD_STEP, method: answer}))
    with pytest.raises(MalformedPayload, match=f"'{method}'"):
        env.reset(seed=1) if method == "reset" else (env.reset(seed=1), env.step(0))


@pytest.mark.parametrize(
    "method,answer",
    [
        ("reset", {"observation": [[0.0] * 3]}),  # one row for two envs
        ("step", {"observation": [[0.0] * 3] * 2, "reward": [1.0], "terminated": [False] * 2, "truncated": [False] * 2}),
        ("step", {"observation": [[0.0] * 3] * 2, "reward": [1.0, 1.0], "terminated": [False] * 2, "truncated": [True] * 2,
                  "final_observation": [[0.0]] * 2}),
    ],
)  # fmt: skip
def test_remote_vector_env_answers_that_do_not_fit_are_malformed_payloads(method, answer):
    good = {"reset": {"observation": [[0.0] * 3] * 2}}
    envs = RemoteVectorEnv("scripted://", "X", 2, client=Scripted(**{**good, method: answer}))
    with pytest.raises(MalformedPayload, match=f"'{method}'"):
        envs.reset(seed=1) if method == "reset" else (envs.reset(seed=1), envs.step(np.zeros(2, np.int64)))


@pytest.mark.parametrize("description", [{}, {**DESCRIPTION, "observation_space": {"type": "Nope"}}, "x"])
def test_a_bad_env_description_is_a_malformed_payload_naming_make(description):
    with pytest.raises(MalformedPayload, match="make|space"):
        RemoteEnv("scripted://", "X", client=Scripted(make=description))
