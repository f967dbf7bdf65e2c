"""``EnvLauncher.launch_on_cloud``: the seeds' Python API (001 section 3.4, 004 section 4.6).

It returns the ``Ec2Run`` (where the hosts are, ``stop()``, a context manager). The local
twins (``launch_on_local_with_url`` / ``launch_on_local_with_ip``) belong with the tunnel
plugin and are not here.
"""

from __future__ import annotations

from typing import Any, Callable

from .launch import Ec2Run, launch_run
from .host import settings_from


class EnvLauncher:
    """Start env hosts somewhere and get back an object that says where they are."""

    @staticmethod
    def launch_on_cloud(env: str | list[str], *, connect: str | None = None, instances: int = 1,
                        log: Callable[[str], None] | None = None, **options: Any) -> Ec2Run:
        """Env hosts on EC2 serving ``env`` (a spec or a list of them); keywords as ``Ec2LaunchSettings``.

        With ``connect`` (the trainer's ``ws://``/``wss://`` gateway) the hosts dial out and no
        port is opened; without it each host listens on ``port`` for ``allow_cidr`` only, with
        a generated API key (``run.api_key``).
        """
        specs = [env] if isinstance(env, str) else list(env)
        return launch_run(settings_from(specs, {"connect": connect, "instances": instances, **options}), log=log or (lambda m: None))
