"""The URL rules every tunnel here applies: what to forward to, and what a public URL may be.

A tunnel's public URL must stay https (wss for a WebSocket server) end to end: an
API key sent over plain http to a public host can be read on the way. The only
plain-http URL accepted is a loopback one, which is what a local stand-in (a test's
fake ngrok agent or localtunnel server) hands back; nothing else is ever downgraded.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from agentgpt_core.kinds import TunnelError
from agentgpt_core.security import is_loopback

LOCAL_SCHEMES = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def local_target(local_url: str) -> tuple[str, str, int]:
    """(scheme to forward with, host, port) of the local server; TunnelError for a URL no tunnel here can forward."""
    parts = urlsplit(local_url)
    scheme = parts.scheme.lower()
    if scheme not in LOCAL_SCHEMES or not parts.hostname or not parts.port:
        raise TunnelError(f"cannot tunnel to {local_url!r}: give an http:// or ws:// URL with a host and port")
    host = "127.0.0.1" if parts.hostname in ("0.0.0.0", "::") else parts.hostname
    return LOCAL_SCHEMES[scheme], host, parts.port


def public_url_for(local_url: str, public: str, tunnel: str) -> str:
    """The URL callers use: ``public``'s host with the scheme ``local_url`` speaks (https -> wss for a WS server).

    Refuses a plain-http public URL unless its host is loopback (a local stand-in).
    """
    parts = urlsplit(public)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise TunnelError(f"{tunnel} returned {public!r}, which is not an https URL")
    if scheme == "http" and not is_loopback(host):
        raise TunnelError(f"{tunnel} returned the plain-http URL {public!r}; refusing it: a public URL must be "
                          "https so the API key and traffic stay encrypted")
    websocket = urlsplit(local_url).scheme.lower() in ("ws", "wss")
    if websocket:
        scheme = "wss" if scheme == "https" else "ws"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
