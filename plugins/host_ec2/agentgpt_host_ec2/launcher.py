"""``EnvLauncher`` as this plugin exported it before the core had one: now the core's class.

``agentgpt_core.EnvLauncher.launch_on_cloud(env, host="ec2", ...)`` finds this plugin's
``ec2`` Host through the plugin manager and returns its ``Ec2Run`` (``Ec2Host.launch_run``),
so ``from agentgpt_host_ec2 import EnvLauncher`` keeps working, with the local launches too.
"""

from __future__ import annotations

from agentgpt_core.launcher import EnvLauncher

__all__ = ["EnvLauncher"]
