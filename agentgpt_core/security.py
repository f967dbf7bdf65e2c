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


def check_api_key(api_key: str | None) -> str | None:
    """The key a server will demand: None for none ("" counts as none); ValueError for a key
    that is blank or has whitespace at its ends.

    ``--api-key " "`` looks like a key but protects nothing an attacker cannot guess, and
    a key with outer whitespace could never match: HTTP strips header values.
    """
    if api_key is None or api_key == "":
        return None
    if not api_key.strip():
        raise ValueError("the API key is blank: give a real secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`)")
    if api_key != api_key.strip() or any(ord(c) < 32 or ord(c) == 127 for c in api_key):
        raise ValueError("the API key must not start or end with whitespace or hold control characters")
    return api_key


def require_key_off_loopback(host: str, api_key: str | None) -> None:
    """Refuse to serve without an API key on an address other machines can reach (or with a blank one anywhere)."""
    api_key = check_api_key(api_key)
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


def bearer_token(authorization: str | bytes | None) -> str:
    """The token of an ``Authorization: Bearer TOKEN`` header ("" when absent or another scheme).

    The scheme is case-insensitive (RFC 7235, section 2.1), so ``bearer KEY`` counts too;
    every transport reads the header through this one function.
    """
    header = authorization.decode("latin-1") if isinstance(authorization, bytes) else authorization or ""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def api_key_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time key check; a server with no key accepts everyone."""
    if not expected:
        return True
    return hmac.compare_digest((given or "").encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))
