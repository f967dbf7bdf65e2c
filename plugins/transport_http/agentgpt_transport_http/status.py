"""The HTTP status each protocol error code is answered with.

The protocol's errors carry a code, not an HTTP status: how a code shows outside the
body is each transport's choice. Over HTTP, a proxy, a load balancer or ``curl -f``
reads the status, so it should say what the code says.
"""

from __future__ import annotations

from agentgpt_core.protocol import errors

HTTP_STATUS: dict[str, int] = {
    errors.MalformedPayload.code: 400,
    errors.Unauthorized.code: 401,
    errors.EnvNotAllowed.code: 403,
    errors.UnknownMethod.code: 404,
    errors.UnknownEnvKey.code: 404,
    errors.PayloadTooLarge.code: 413,
    errors.InvalidAction.code: 422,
    errors.InvalidActionMask.code: 422,
    errors.InvalidArgument.code: 422,
    errors.TooManyAgents.code: 429,
    errors.ProtocolError.code: 500,
    errors.EnvError.code: 500,
    errors.TransportError.code: 503,
}


def http_status(error: errors.ProtocolError) -> int:
    """The status for ``error``'s code (500 for a code this table does not know)."""
    return HTTP_STATUS.get(error.code, 500)
