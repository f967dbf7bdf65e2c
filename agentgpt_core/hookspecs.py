"""Every hook a plugin can implement. No logic lives here.

Each ``register_*`` hook hands the plugin a ``register`` callback; call it once per
thing the plugin provides, with an instance of the matching kind from
``agentgpt_core.kinds``. Names must be unique across all loaded plugins.
"""

import pluggy

hookspec = pluggy.HookspecMarker("agentgpt")
hookimpl = pluggy.HookimplMarker("agentgpt")


@hookspec
def register_transports(register):
    """Register Transport instances (``register(HttpTransport())``); URL schemes pick them."""


@hookspec
def register_tunnels(register):
    """Register Tunnel instances that give a local server a public URL (``agentgpt launch --tunnel NAME``)."""


@hookspec
def register_hosts(register):
    """Register Host instances that run env hosts somewhere (``local`` processes for ``agentgpt train``, EC2...)."""


@hookspec
def register_env_adapters(register):
    """Register EnvAdapter instances; their ``name`` is the ``--env NAME:...`` prefix."""


@hookspec
def register_trainers(register):
    """Register TrainerBackend instances (``agentgpt train --backend NAME``)."""


@hookspec
def register_commands(cli):
    """Add click commands or groups to the ``agentgpt`` CLI group ``cli``."""
