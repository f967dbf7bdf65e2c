"""The ``pettingzoo:`` env adapter: PettingZoo envs, hosted as multi-agent envs in slots.

``pettingzoo:mpe2.simple_spread_v3`` calls the module's ``parallel_env``;
``ALIAS=pettingzoo:package.module:factory`` calls an operator's factory. A factory
may return a ParallelEnv or an AECEnv; AEC envs go through PettingZoo's own
``aec_to_parallel`` so the host sees one API. PettingZoo is imported only when a
pettingzoo env is made, so a host without the ``pettingzoo`` extra stays light.
Targets come from the operator's command line only, never from a remote caller.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..envs.served_agents import ParallelEnvs
from ..hookspecs import hookimpl
from ..kinds import EnvAdapter

INSTALL_HINT = "the pettingzoo: adapter needs PettingZoo: pip install 'agentgpt-core[pettingzoo]'"


class PettingZooAdapter(EnvAdapter):
    """``pettingzoo:package.module`` (its ``parallel_env``) or ``pettingzoo:package.module:factory``."""

    name = "pettingzoo"

    def make(self, target: str, **kwargs: Any) -> Any:
        try:
            from pettingzoo import AECEnv, ParallelEnv
            from pettingzoo.utils.conversions import aec_to_parallel
        except ImportError as exc:
            raise ValueError(INSTALL_HINT) from exc
        env = _factory(target)(**kwargs)
        if isinstance(env, AECEnv):
            env = aec_to_parallel(env)
        if not isinstance(env, ParallelEnv):
            raise ValueError(f"pettingzoo env {target!r} made a {type(env).__name__}, not a ParallelEnv or AECEnv")
        return env

    def make_vec(self, target: str, num_envs: int, **kwargs: Any) -> ParallelEnvs:
        """``num_envs`` separate envs stepped in this process; each keeps its own agent slots."""
        return ParallelEnvs.made_by(lambda: self.make(target, **kwargs), num_envs)


def _factory(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import pettingzoo env module {module_name!r}: {exc}") from exc
    names = [attribute] if attribute else ["parallel_env", "env"]
    for name in names:
        factory = getattr(module, name, None)
        if callable(factory):
            return factory
    raise ValueError(f"pettingzoo env {target!r}: {module_name} has no callable {' or '.join(names)}")


@hookimpl
def register_env_adapters(register):
    register(PettingZooAdapter())
