"""``EnvLauncher``: the seeds' Python API for hosting envs (seed 001 section 4, seed 004 section 4.6).

Three ways to make envs reachable by a trainer elsewhere, each the Python twin of an
``agentgpt launch`` command:

- ``launch_on_local_with_url``: ``agentgpt launch --tunnel NAME``: a temporary public URL;
- ``launch_on_local_with_ip``: ``agentgpt launch --host 0.0.0.0 --api-key K``: this
  machine's own address and port;
- ``launch_on_cloud``: ``agentgpt launch --on ec2``: machines started by a Host plugin.

The local launches serve from this process, in the transport's background thread, not
from a child process. Stopping is then a plain call with nothing left behind: no signal
to send, no child to outlive a crashed or killed interpreter with a public tunnel still
open to it, and a failure to start (a port in use, a refused tunnel token) raises here
as a ``LaunchError`` instead of arriving as text on a child's stderr. The price is that
the simulator shares this interpreter (and its GIL) with the caller's code; for a busy
simulator beside a busy trainer, run ``agentgpt launch`` as its own process instead.
"""

from __future__ import annotations

import atexit
import secrets
import threading
from typing import Any, Callable

from .hosting import EnvHost, LaunchError, configure_tunnel, host_plugin

__all__ = ["EnvLauncher", "LaunchError", "LocalLaunch"]


class LocalLaunch:
    """Envs served from this process: ``url`` (what callers use), ``local_url`` (the server
    itself), ``api_key`` (what callers must send), ``envs`` (the names they may make).

    ``stop()`` closes the tunnel, the server and the envs; it is idempotent, runs on leaving
    a ``with`` block, and runs at interpreter exit for a launch still up then.
    """

    def __init__(self, host: EnvHost, url: str) -> None:
        self._host = host
        self._lock = threading.Lock()
        self.url = url
        self.local_url: str = host.local_url or url
        self.api_key: str = host.api_key or ""
        self.envs: list[str] = host.names
        atexit.register(self.stop)

    @property
    def running(self) -> bool:
        return self._host is not None

    def stop(self) -> None:
        """Stop serving; idempotent."""
        with self._lock:
            host, self._host = self._host, None
        if host is not None:
            atexit.unregister(self.stop)
            host.stop()

    def __enter__(self) -> LocalLaunch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:  # never the key
        state = "running" if self.running else "stopped"
        return f"LocalLaunch(url={self.url!r}, local_url={self.local_url!r}, envs={self.envs!r}, {state})"


class EnvLauncher:
    """Start env hosts and get back an object that says where they are and stops them."""

    @staticmethod
    def launch_on_local_with_url(env: str | list[str], *, tunnel: str = "ngrok", transport: str = "http",
                                 num_envs: int | None = None, api_key: str | None = None, port: int = 0,
                                 transport_options: dict[str, Any] | None = None, **tunnel_options: Any) -> LocalLaunch:
        """Serve ``env`` (a spec such as ``gym:CartPole-v1``, or a list) here, at a temporary public URL.

        The server listens on 127.0.0.1 (``port`` 0: any free port) and the Tunnel plugin
        ``tunnel`` (``ngrok``, ``localtunnel``; ``memory`` for tests) forwards a public
        ``https://``/``wss://`` URL to it; ``tunnel_options`` are that plugin's settings
        (``region="eu"``, ``server="https://..."``), never a secret: the ngrok token comes
        from ``NGROK_AUTHTOKEN`` or ngrok's config. Anyone with the URL can reach the
        server, so it always demands a key: ``api_key``, or one generated (``.api_key``).
        ``num_envs`` caps how many envs callers may run here at once (default 4096).
        Raises ValueError for a bad setting, LaunchError when serving or the tunnel fails.
        """
        key = api_key or _new_key()
        opener = configure_tunnel(tunnel, api_key=key, options=tunnel_options)
        host = EnvHost(_specs(env), transport=transport, host="127.0.0.1", port=port, api_key=key, tunnel=opener,
                       transport_options=transport_options, service_options=_limits(num_envs))
        host.start()
        return LocalLaunch(host, host.url or "")

    @staticmethod
    def launch_on_local_with_ip(env: str | list[str], *, host: str = "0.0.0.0", port: int = 8000,
                                api_key: str | None = None, transport: str = "http", num_envs: int | None = None,
                                address: str | None = None, transport_options: dict[str, Any] | None = None) -> LocalLaunch:
        """Serve ``env`` here on ``host``:``port`` (every interface by default), with an API key.

        The key is ``api_key`` or one generated (``.api_key``). ``.url`` names this machine by
        ``address`` if given (e.g. your router's public IP after forwarding the port), else,
        for a server on every interface, by the address of its default route, found without
        sending a packet (``hosting.outward_address``: the LAN address behind a NAT router),
        else by ``host`` itself (``127.0.0.1`` gives a loopback URL, as in tests).

        It opens no firewall and forwards no router port: make ``port`` reachable yourself
        (your OS firewall, a cloud security group), or use ``launch_on_local_with_url``,
        which needs neither. ``num_envs`` caps how many envs callers may run here at once.
        """
        key = api_key or _new_key()
        served = EnvHost(_specs(env), transport=transport, host=host, port=port, api_key=key,
                         transport_options=transport_options, service_options=_limits(num_envs))
        served.start()
        try:
            url = served.public_url(address)
        except BaseException:
            served.stop()
            raise
        return LocalLaunch(served, url)

    @staticmethod
    def launch_on_cloud(env: str | list[str], host: str = "ec2", *, instances: int = 1,
                        log: Callable[[str], None] | None = None, **options: Any) -> Any:
        """Env hosts on machines the Host plugin ``host`` starts (``ec2``: ``pip install agentgpt-host-ec2``).

        Returns the plugin's run object: ``urls`` (where the hosts are), ``stop()``, a context
        manager (for ec2, an ``Ec2Run``). ``options`` are the plugin's settings (ec2: ``connect``
        to dial out to a trainer's gateway, ``num_envs``, ``instance_type``, ``region``,
        ``allow_cidr``...; see its README). ``log`` receives progress lines. Cloud hosts are
        not stopped at interpreter exit: they outlive this process until ``stop()`` (or
        ``agentgpt hosts down``). A missing plugin is a ValueError naming the package.
        """
        return host_plugin(host).launch_run(_specs(env), instances=instances, log=log, **options)


def _specs(env: str | list[str]) -> list[str]:
    return [env] if isinstance(env, str) else list(env)


def _limits(num_envs: int | None) -> dict[str, Any]:
    if num_envs is None:
        return {}
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
    return {"max_envs": num_envs, "max_num_envs": min(num_envs, 1024)}


def _new_key() -> str:
    """A fresh API key: 32 random bytes, URL-safe (what ``agentgpt launch --on ec2`` generates too)."""
    return secrets.token_urlsafe(32)
