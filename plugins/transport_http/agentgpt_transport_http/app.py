"""The ASGI app that exposes a ``Service`` as ``POST /<method>``.

Protocol calls are answered by ``ProtocolApp`` straight from the ASGI scope; everything
else (``/docs``, ``/openapi.json``, unknown paths) falls through to a FastAPI app. On
the 2-core benchmark machine FastAPI's per-request routing and dependency solving
added 150-230 µs to every call, half again the server's whole time for a CartPole
step (benchmarks/RESULTS-transports.md), so the hot path does not go through it;
FastAPI still documents every protocol route (openapi.py) and serves the Swagger UI.

Per request: the body codec comes from Content-Type (JSON when absent, as the seeds'
example sends it; an empty body means ``{}``), the answer's codec from Accept (the
request's codec when Accept is absent or ``*/*``). ``X-AgentGPT-Session`` names the
service session ("default" when absent, so the seeds' make-then-reset works).
Failures are answered, never raised into uvicorn: ``{"error": {"code", "message"}}``
with the error's HTTP status, in the codec the caller accepts.

``POST /endpoints/NAME/invocations`` is the SageMaker runtime's path (InvokeEndpoint): the
same ``invocations`` call, answered as SageMaker's front end answers it (a failure is a
424 ``ModelError`` carrying the container's status and body), so a boto3
``sagemaker-runtime`` client whose endpoint URL points here behaves as against an
endpoint. There and on ``/invocations``, the session may also come from SageMaker's
``X-Amzn-SageMaker-Custom-Attributes: session=ID`` header, the one header SageMaker
passes to the container.
"""

from __future__ import annotations

import json
import logging
import re
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentgpt_core import __version__
from agentgpt_core.kinds import Service
from agentgpt_core.security import api_key_matches, bearer_token
from agentgpt_core.protocol.names import DEFAULT_SESSION, INVOCATIONS, Method
from agentgpt_core.protocol.codecs import Codec, codec_for_content_type
from agentgpt_core.protocol.errors import (
    EnvError,
    MalformedPayload,
    PayloadTooLarge,
    ProtocolError,
    Unauthorized,
    UnknownMethod,
    release_frames,
)

from .dispatch import DEFAULT_INLINE_BUDGET_S, Dispatcher
from .slow_clients import DEFAULT_BODY_TIMEOUT_S, BodyTooSlow, read_within
from .openapi import GET_METHODS, protocol_paths
from .status import http_status

SESSION_HEADER = "X-AgentGPT-Session"
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
OPEN_METHODS = frozenset({Method.PING})  # answered without an API key: health checks carry none
TITLE = "AgentGPT Remote Gymnasium"
RUNTIME_PATH = re.compile(r"^/endpoints/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}/invocations$")
CUSTOM_ATTRIBUTES = b"x-amzn-sagemaker-custom-attributes"

logger = logging.getLogger(__name__)


class _ClientGone(Exception):
    """The caller disconnected before its body arrived; there is no one to answer."""


def build_app(
    service: Service,
    *,
    api_key: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    inline_budget_s: float = DEFAULT_INLINE_BUDGET_S,
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S,
) -> ProtocolApp:
    """An ASGI app serving ``service``; ``api_key`` None means no auth (the server allows that on loopback only)."""
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
    app = ProtocolApp(Dispatcher(service, inline_budget_s), api_key, max_body_bytes, _docs_app(service.methods))
    app.body_timeout_s = body_timeout_s
    return app


class ProtocolApp:
    """Answers ``POST /<method>`` (and ``GET`` for spaces, ping, info); hands other requests to ``docs``."""

    def __init__(self, dispatcher: Dispatcher, api_key: str | None, max_body_bytes: int, docs: FastAPI):
        self.dispatcher = dispatcher
        self.docs = docs
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = DEFAULT_BODY_TIMEOUT_S
        self._api_key = api_key or None
        methods = dispatcher.service.methods
        self._routes = {("POST", f"/{m}"): (m, False) for m in methods}
        self._routes.update({("GET", f"/{m}"): (m, True) for m in GET_METHODS if m in methods})
        self._runtime = INVOCATIONS in methods

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        route = None
        if scope["type"] == "http":
            path, root = scope["path"], scope.get("root_path", "")
            path = path[len(root):] if root and path.startswith(root) else path
            route = self._routes.get((scope["method"], path))
            if route is None and self._runtime and scope["method"] == "POST" and RUNTIME_PATH.match(path):
                route = (INVOCATIONS, False, True)
        if route is None:
            await self.docs(scope, receive, send)
            return
        try:
            status, body, content_type = await self._answer(scope, receive, *route)
        except _ClientGone:
            return
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: dict, receive: Any, method: str, from_query: bool, runtime: bool = False) -> tuple[int, bytes, bytes]:
        headers = _headers(scope)
        codec_in = codec_for_content_type(headers.get(b"content-type", b"").decode("latin-1"))
        codec_out = codec_for_content_type(headers.get(b"accept", b"").decode("latin-1"), default=codec_in)
        try:
            if method not in OPEN_METHODS:
                self._authorize(headers.get(b"authorization", b""))
            if from_query:
                params: Any = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
            else:
                params = codec_in.decode(await self._read_body(headers, receive))
            session = headers.get(b"x-agentgpt-session", b"").decode("latin-1") or _custom_session(headers) or DEFAULT_SESSION
            result = await self.dispatcher.call(method, params, session)
            try:
                body = codec_out.encode(result)
            except MalformedPayload as exc:  # the env produced it, so it is not the caller's fault
                raise EnvError(f"the result of {method} cannot be sent as {codec_out.name}: {exc.message}") from exc
            return 200, body, codec_out.content_type.encode()
        except ProtocolError as exc:
            release_frames(exc)  # frees the refused request now, not at the next full GC (security.md)
            if runtime:
                return _model_error(http_status(exc), exc.to_dict())
            return http_status(exc), encode_error(exc.to_dict(), codec_out), codec_out.content_type.encode()
        except _ClientGone:
            raise
        except Exception as exc:  # a bug here must not take the host down: log it, answer 500
            logger.exception("unexpected error answering %s", method)
            release_frames(exc)
            error = ProtocolError(f"the host failed answering {method}: {type(exc).__name__}: {exc}")
            if runtime:
                return _model_error(500, error.to_dict())
            return 500, encode_error(error.to_dict(), codec_out), codec_out.content_type.encode()

    def _authorize(self, header: bytes) -> None:
        if self._api_key is not None and not api_key_matches(self._api_key, bearer_token(header)):
            raise Unauthorized("wrong or missing API key; send 'Authorization: Bearer KEY'")

    async def _read_body(self, headers: dict[bytes, bytes], receive: Any) -> bytes:
        """The body, refused as soon as it is known to exceed the limit: from Content-Length, then while reading."""
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                raise MalformedPayload(f"Content-Length {declared!r} is not a number") from None
            if length > self.max_body_bytes:
                raise self._too_large(length)
        chunks, size = [], 0
        receive_by = read_within(self.body_timeout_s)
        while True:
            try:
                message = await receive_by(receive)
            except BodyTooSlow:
                raise MalformedPayload(f"the request body did not arrive within {self.body_timeout_s:g} s") from None
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large(size)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self, size: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"body of {size} bytes (or more) exceeds this host's limit of {self.max_body_bytes} bytes")


def encode_error(error: dict, codec: Codec) -> bytes:
    """The protocol's error body ``{"error": {"code", "message"}}``."""
    return codec.encode({"error": error})


def _custom_session(headers: dict[bytes, bytes]) -> str:
    """``session=ID`` from SageMaker's custom-attributes header ("" when absent)."""
    for item in headers.get(CUSTOM_ATTRIBUTES, b"").decode("latin-1").split(","):
        key, _, value = item.strip().partition("=")
        if key == "session":
            return value.strip()
    return ""


def _model_error(status: int, error: dict) -> tuple[int, bytes, bytes]:
    """A failure as SageMaker's runtime reports a container's: 424 ``ModelError`` with the
    container's status and JSON body (botocore raises it as ``ModelError``)."""
    original = json.dumps({"error": error})
    body = {"ErrorCode": "CLIENT_ERROR_FROM_MODEL" if status < 500 else "SERVER_ERROR_FROM_MODEL",
            "Message": f"Received {'client' if status < 500 else 'server'} error ({status}) from primary with message \"{original}\".",
            "OriginalStatusCode": status, "OriginalMessage": original, "__type": "ModelError"}
    return 424, json.dumps(body).encode(), b"application/json"


def _headers(scope: dict) -> dict[bytes, bytes]:
    """Header names are lower-case in ASGI; a repeated header keeps its last value."""
    return dict(scope["headers"])


def _docs_app(methods: tuple[str, ...]) -> FastAPI:
    """FastAPI for what is not a protocol call: the OpenAPI schema, Swagger UI, and 404s in the protocol's shape."""
    app = FastAPI(title=TITLE, version=__version__)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=TITLE, version=__version__, description=_DESCRIPTION, routes=app.routes)
            schema["paths"].update(protocol_paths())
            schema.setdefault("components", {})["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_exception_handler(StarletteHTTPException, partial(_http_exception, methods))
    return app


_DESCRIPTION = (
    "The Remote Gymnasium protocol over HTTP. Bodies are JSON or msgpack "
    "(Content-Type / Accept `application/msgpack`; an empty body means `{}`). Send "
    f"`Authorization: Bearer KEY` (every call but /ping) and optionally `{SESSION_HEADER}` "
    "to keep your envs apart from other callers'. Errors: `{\"error\": {\"code\", \"message\"}}`."
)


async def _http_exception(methods: tuple[str, ...], request: Request, exc: StarletteHTTPException) -> Response:
    """Routing failures (unknown path, wrong HTTP method) in the protocol's error shape."""
    codec = codec_for_content_type(request.headers.get("accept"), default=codec_for_content_type(request.headers.get("content-type")))
    if exc.status_code == 404:
        error = UnknownMethod(
            f"no endpoint {request.method} {request.url.path}; the protocol has POST /<method> for "
            f"{', '.join(methods)} (and GET for {', '.join(m for m in GET_METHODS if m in methods)})"
        ).to_dict()
    elif exc.status_code == 405:
        error = {"code": "method_not_allowed", "message": f"{request.method} is not allowed on {request.url.path}"}
    else:
        error = {"code": f"http_{exc.status_code}", "message": str(exc.detail)}
    return Response(encode_error(error, codec), status_code=exc.status_code, media_type=codec.content_type, headers=exc.headers)
