"""The security rules every transport applies the same way.

An env host runs code on its machine for whoever reaches it, so a server that other
machines can reach must demand an API key, and keys are compared in constant time.
One definition here keeps HTTP, WebSocket and the CLI identical.
"""

from __future__ import annotations

import hmac
import ipaddress


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def require_key_off_loopback(host: str, api_key: str | None) -> None:
    """Refuse to serve without an API key on an address other machines can reach."""
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"refusing to serve on {host!r} without an API key: anyone who can reach this address could "
            "run envs on this host. Pass --api-key (or set AGENTGPT_API_KEY), or bind 127.0.0.1."
        )


class BindAddress:
    """Where a server listens, checked against the API-key rule when it is made.

    Every server a transport builds (HTTP, WebSocket, a WebSocket gateway) starts from
    one, so no server can forget the rule. ``port`` 0 means any free port; the server
    sets the real one once bound.
    """

    def __init__(self, host: str, port: int, api_key: str | None):
        require_key_off_loopback(host, api_key)
        self.host, self.port = host.strip("[]"), port

    def url(self, scheme: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header ("" when absent or another scheme)."""
    header = authorization or ""
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def api_key_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time key check; a server with no key accepts everyone."""
    if expected is None:
        return True
    return hmac.compare_digest((given or "").encode(), expected.encode())
