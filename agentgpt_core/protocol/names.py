"""The wire vocabulary: every method name and field name the protocol uses, spelled once.

docs/protocol.md is the prose; this module is what code on either end of the wire
imports, so a field is never re-spelled as a string literal somewhere else. Error
codes live with their error classes (``errors.py``).
"""

from __future__ import annotations


class Method:
    """Method names of the env protocol (the seeds' names, plus ``ping`` and ``info``)."""

    MAKE = "make"
    MAKE_VEC = "make_vec"
    RESET = "reset"
    STEP = "step"
    ACTION_SPACE = "action_space"
    OBSERVATION_SPACE = "observation_space"
    CLOSE = "close"
    PING = "ping"
    INFO = "info"


INVOCATIONS = "invocations"  # the inference service's one call (SageMaker's POST /invocations; serve/service.py)

ENV_METHODS: tuple[str, ...] = (
    Method.MAKE,
    Method.MAKE_VEC,
    Method.RESET,
    Method.STEP,
    Method.ACTION_SPACE,
    Method.OBSERVATION_SPACE,
    Method.CLOSE,
    Method.PING,
    Method.INFO,
)
DEFAULT_SESSION = "default"  # the session of a caller that names none (the seeds' curl example)

# -- request fields -------------------------------------------------------------
ENV_NAME = "env_name"  # make, make_vec: one of the names the host serves
ENV_ID = "env_id"  # an accepted spelling of env_name
ENV_KEY = "env_key"  # returned by make; names the env in every later call
NUM_ENVS = "num_envs"
SEED = "seed"
OPTIONS = "options"
KWARGS = "kwargs"
AUTORESET = "autoreset"
ACTION = "action"

# -- result fields --------------------------------------------------------------
OBSERVATION = "observation"
REWARD = "reward"
TERMINATED = "terminated"
TRUNCATED = "truncated"
INFO = "info"
FINAL_OBSERVATION = "final_observation"  # the terminal observation of an episode the host reset
FINAL_INFO = "final_info"
NEW_EPISODE = "new_episode"  # multi-agent step: the last agent ended and the host reset the env
OBSERVATION_SPACE = "observation_space"
ACTION_SPACE = "action_space"
AGENTS = "agents"
VECTOR = "vector"
ENVS = "envs"  # info: the names a host serves
OPEN = "open"  # info: the envs it runs
STEPS = "steps"
VERSION = "version"
CLOSED = "closed"

# -- dial-out registration (a host that connects out announces itself) ------------
REGISTER = "register"
REGISTERED = "registered"
HOST_ID = "host_id"
