"""Serving envs from this process: what ``agentgpt launch`` runs, and what ``EnvLauncher`` returns.

``agentgpt launch`` (a command) and ``EnvLauncher.launch_on_local_with_url/_with_ip``
(a Python API) host the same thing: an ``EnvService`` behind a transport server (or a
dial-out connection), optionally behind a tunnel. ``EnvHost`` is that thing, built here
once so both follow the same rules in the same order: nothing starts until every
setting checks out (a bad setting is a ``ValueError``, the CLI's usage error), and what
fails while starting (a simulator that cannot start, a port in use, a tunnel refused)
is a one-line ``LaunchError`` after everything already started is stopped again.
"""

from __future__ import annotations

import re
import socket
from contextlib import ExitStack
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from .envs import EnvService, EnvSpec
from .kinds import EnvStartError, Host, Tunnel, TunnelError, Unsupported
from .plugins import PluginNotFound, get_plugin_manager
from .protocol.errors import ProtocolError
from .security import check_api_key, require_key_off_loopback

_SECRET_KEY = re.compile(r"token|secret|password|passwd|api_?key|credential", re.IGNORECASE)
_ANY_ADDRESS = {"0.0.0.0", "::", ""}


class LaunchError(RuntimeError):
    """Envs could not be served (simulator, bind, dial-out or tunnel failure); the message is one line."""


def host_plugin(name: str) -> Host:
    """The Host plugin called ``name``; a ValueError naming the package to install when none is."""
    try:
        return get_plugin_manager().get("hosts", name)
    except PluginNotFound as exc:
        raise ValueError(f"{exc} (a {name} host comes with its plugin: pip install agentgpt-host-{name})") from None


def configure_tunnel(name: str, *, api_key: str | None, options: dict[str, Any]) -> Tunnel:
    """The Tunnel plugin ``name`` configured with ``options``; ValueError for every refusal.

    Secrets are never tunnel options (a command line lands in shell history and ``ps``,
    a keyword in source code): plugins read them from the environment or their own
    config. A public tunnel needs an API key, since anyone with the URL could use it.
    """
    for key in options:
        if _SECRET_KEY.search(key):
            raise ValueError(f"{key!r}: secrets are never taken from the command line or as tunnel options (shell "
                             "history, ps, source code); set them in the environment or the tunnel's own config "
                             "(docs/tunnels.md)")
    try:
        tunnel = get_plugin_manager().get("tunnels", name).configure(**options)
    except (PluginNotFound, TypeError) as exc:
        raise ValueError(str(exc)) from None
    if tunnel.public and not check_api_key(api_key):
        raise ValueError(f"the {name} tunnel makes this server public: anyone with the URL could use it. "
                         "Set AGENTGPT_API_KEY (or pass --api-key, api_key=) so callers must present the key.")
    return tunnel


def outward_address() -> str:
    """This machine's address on its default route, found without sending a packet.

    ``connect`` on a UDP socket only asks the kernel which source address it would use
    for that destination (a documentation address, RFC 5737): nothing leaves the
    machine, so it works with no internet. With no route at all, the host name's
    address, else loopback. Behind NAT this is the LAN address, not the router's.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))
            return probe.getsockname()[0]
    except OSError:
        pass
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class EnvHost:
    """Envs served from this process over a transport, optionally behind a tunnel.

    ``EnvHost(...)`` checks every setting and starts nothing; ``start()`` builds the
    EnvService, starts the server (or dials out to ``connect``) and opens the tunnel;
    ``stop()`` (idempotent) closes them in reverse order. The server runs on the
    transport's own background thread, so ``start()`` returns once it answers.
    """

    def __init__(self, env_specs: Iterable[str | EnvSpec], *, transport: str = "http", host: str = "127.0.0.1",
                 port: int = 8000, api_key: str | None = None, connect: str | None = None, num_envs: int | None = None,
                 tunnel: Tunnel | None = None, transport_options: dict[str, Any] | None = None,
                 service_options: dict[str, Any] | None = None) -> None:
        self.specs = [spec if isinstance(spec, EnvSpec) else EnvSpec.parse(spec) for spec in env_specs]
        if not self.specs:
            raise ValueError("give at least one env, e.g. gym:CartPole-v1")
        self.api_key = check_api_key(api_key)
        if connect is None:
            require_key_off_loopback(host, api_key)
        elif tunnel is not None:
            raise ValueError("a tunnel gives a listening server a public URL; a host that dials out (--connect) needs none")
        try:
            self.transport = get_plugin_manager().get("transports", transport)
        except PluginNotFound as exc:
            raise ValueError(str(exc)) from None
        self.transport_name, self.host, self.port = transport, host, port
        self.connect, self.num_envs, self.tunnel = connect, num_envs, tunnel
        self.transport_options = dict(transport_options or {})
        self.service_options = dict(service_options or {})
        self.local_url: str | None = None
        self.url: str | None = None
        self._stack: ExitStack | None = None

    def start(self) -> EnvHost:
        """Serve; ValueError for an env the adapters refuse, LaunchError for what failed while starting."""
        if self._stack is not None:
            return self
        stack = self._stack = ExitStack()
        try:
            self._start(stack)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, stack: ExitStack) -> None:
        manager = get_plugin_manager()
        try:
            service = EnvService(self.specs, adapters=manager.env_adapters(), **self.service_options)
        except EnvStartError as exc:  # a simulator that cannot start (missing build, port in use)
            raise LaunchError(str(exc)) from exc
        stack.callback(service.close)
        try:
            if self.connect is not None:
                server = self.transport.dial_out(service, self.connect, api_key=self.api_key,
                                                 num_envs=self.num_envs or 1, **self.transport_options)
            else:
                server = self.transport.server(service, host=self.host, port=self.port, api_key=self.api_key,
                                               **self.transport_options)
            server.start()
        except (Unsupported, ValueError, TypeError, OSError, ProtocolError) as exc:  # a bad bind or option, a refusing gateway
            raise LaunchError(str(exc)) from exc
        stack.callback(server.stop)
        self.local_url = self.url = server.url
        if self.tunnel is not None:
            self.url = open_tunnel(stack, self.tunnel, server.url)

    @property
    def names(self) -> list[str]:
        """The env names callers may make here."""
        return [spec.name for spec in self.specs]

    def public_url(self, address: str | None = None) -> str:
        """The URL others use: the local one with its host replaced by ``address``, or, for a server
        bound to every interface (``0.0.0.0``, which no caller can dial), by ``outward_address()``."""
        if self.local_url is None:
            raise RuntimeError("not started")
        if address is None and self.host.strip("[]") not in _ANY_ADDRESS:
            return self.local_url
        address = address or outward_address()
        parts = urlsplit(self.local_url)
        netloc = f"[{address}]" if ":" in address else address
        return urlunsplit(parts._replace(netloc=f"{netloc}:{parts.port}" if parts.port else netloc))

    def stop(self) -> None:
        """Close the tunnel, stop the server, close the envs; idempotent."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> EnvHost:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def open_tunnel(stack: ExitStack, tunnel: Tunnel, local_url: str) -> str:
    """Open ``tunnel`` to ``local_url``, closed when ``stack`` unwinds; a TunnelError becomes a one-line LaunchError."""
    stack.enter_context(tunnel)
    try:
        return tunnel.open(local_url)
    except TunnelError as exc:
        raise LaunchError(f"tunnel {tunnel.name}: {exc}") from None
