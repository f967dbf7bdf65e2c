"""Typed protocol errors.

Every failure that crosses the wire is one of these: a stable machine-readable ``code``
and a human message saying what to fix. How a transport signals a code besides the
body (an HTTP status, a close code) is the transport's business, not the protocol's.
Clients re-raise the same class from the ``{"error": {"code", "message"}}`` body, so
``except InvalidAction`` works the same locally and remotely.
"""

from __future__ import annotations

import traceback


class ProtocolError(Exception):
    """Base of every error the Remote Gymnasium protocol can return."""

    code = "internal_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class MalformedPayload(ProtocolError):
    """The body could not be decoded, or a field has the wrong type."""

    code = "malformed_payload"


class Unauthorized(ProtocolError):
    """Missing or wrong API key."""

    code = "unauthorized"


class UnknownMethod(ProtocolError):
    """The method name is not part of the protocol."""

    code = "unknown_method"


class UnknownEnvKey(ProtocolError):
    """No env with that ``env_key`` lives on this host (closed, never made, or ambiguous)."""

    code = "unknown_env_key"


class EnvNotAllowed(ProtocolError):
    """The host's operator did not allow this env name."""

    code = "env_not_allowed"


class PayloadTooLarge(ProtocolError):
    """The request body exceeds the host's size limit."""

    code = "payload_too_large"


class InvalidAction(ProtocolError):
    """The action does not fit the env's action space (shape, dtype or bounds)."""

    code = "invalid_action"


class InvalidActionMask(ProtocolError):
    """An action mask (``info["action_mask"]``, or a serving request's) that is malformed:
    the wrong length for the action space, or a branch that allows no action (masks.py)."""

    code = "invalid_action_mask"


class InvalidArgument(ProtocolError):
    """A parameter other than the action is wrong (bad seed, bad num_envs...)."""

    code = "invalid_argument"


class EnvError(ProtocolError):
    """The simulator itself raised; the message carries its exception text."""

    code = "env_error"


class TransportError(ProtocolError):
    """The connection failed or dropped while a request was in flight."""

    code = "transport_error"


class TooManyAgents(ProtocolError):
    """A policy server already holds its maximum of live agents; the call changed nothing."""

    code = "too_many_agents"


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
        InvalidActionMask,
        InvalidArgument,
        EnvError,
        TransportError,
        TooManyAgents,
    )
}


def error_from_dict(body: dict) -> ProtocolError:
    """Rebuild the typed error a server sent as ``{"code": ..., "message": ...}``."""
    cls = ERRORS_BY_CODE.get(str(body.get("code")), ProtocolError)
    return cls(str(body.get("message", "")))


def release_frames(error: BaseException) -> None:
    """Let go of everything the frames of ``error``'s traceback (and its causes') still hold.

    A server answers an error and moves on, but the exception's traceback keeps every
    frame it passed through alive, with their locals: the decoded request among them.
    When the exception also sits in a reference cycle (an asyncio future and the
    worker-thread frame that waited on it, as anyio's ``run_sync`` makes), all of that
    lives until the garbage collector's next full pass: a host refusing 15 MB actions
    grew by ~137 MB per request. Clearing the finished frames frees it at once.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if error.__traceback__ is not None:
            traceback.clear_frames(error.__traceback__)
            error.__traceback__ = None
        error = error.__cause__ or error.__context__
