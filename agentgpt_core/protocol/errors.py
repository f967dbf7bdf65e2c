"""Typed protocol errors.

Every failure that crosses the wire is one of these: a stable machine-readable ``code``,
a human message saying what to fix, and the HTTP status a REST transport should use.
Clients re-raise the same class from the ``{"error": {"code", "message"}}`` body, so
``except InvalidAction`` works the same locally and remotely.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every error the Remote Gymnasium protocol can return."""

    code = "internal_error"
    http_status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class MalformedPayload(ProtocolError):
    """The body could not be decoded, or a field has the wrong type."""

    code, http_status = "malformed_payload", 400


class Unauthorized(ProtocolError):
    """Missing or wrong API key."""

    code, http_status = "unauthorized", 401


class UnknownMethod(ProtocolError):
    """The method name is not part of the protocol."""

    code, http_status = "unknown_method", 404


class UnknownEnvKey(ProtocolError):
    """No env with that ``env_key`` lives on this host (closed, never made, or ambiguous)."""

    code, http_status = "unknown_env_key", 404


class EnvNotAllowed(ProtocolError):
    """The host's operator did not allow this env name."""

    code, http_status = "env_not_allowed", 403


class PayloadTooLarge(ProtocolError):
    """The request body exceeds the host's size limit."""

    code, http_status = "payload_too_large", 413


class InvalidAction(ProtocolError):
    """The action does not fit the env's action space (shape, dtype or bounds)."""

    code, http_status = "invalid_action", 422


class InvalidArgument(ProtocolError):
    """A parameter other than the action is wrong (bad seed, bad num_envs...)."""

    code, http_status = "invalid_argument", 422


class EnvError(ProtocolError):
    """The simulator itself raised; the message carries its exception text."""

    code, http_status = "env_error", 500


class TransportError(ProtocolError):
    """The connection failed or dropped while a request was in flight."""

    code, http_status = "transport_error", 503


ERRORS_BY_CODE: dict[str, type[ProtocolError]] = {
    cls.code: cls
    for cls in (
        ProtocolError,
        MalformedPayload,
        Unauthorized,
        UnknownMethod,
        UnknownEnvKey,
        EnvNotAllowed,
        PayloadTooLarge,
        InvalidAction,
        InvalidArgument,
        EnvError,
        TransportError,
    )
}


def error_from_dict(body: dict) -> ProtocolError:
    """Rebuild the typed error a server sent as ``{"code": ..., "message": ...}``."""
    cls = ERRORS_BY_CODE.get(str(body.get("code")), ProtocolError)
    return cls(str(body.get("message", "")))
