"""The ``sagemaker://`` transport: ``GPTAPI.connect("sagemaker://NAME")`` through InvokeEndpoint.

Registered by the plugin, so it is imported wherever the plugin loads (also in the image,
which has no boto3): the runtime client is imported only when a client is made.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agentgpt_core.kinds import Transport, TransportClient, Unsupported
from agentgpt_core.protocol.errors import InvalidArgument, TransportError

from .errors import SageMakerError


class SageMakerTransport(Transport):
    """``sagemaker://ENDPOINT[?region=REGION]``: ``GPTAPI.connect`` reaches an endpoint through InvokeEndpoint.

    Client side only: SageMaker runs the server (``agentgpt serve --sagemaker`` deploys it).
    No API key: IAM signs each call.
    """

    name = "sagemaker"
    schemes = ("sagemaker",)

    def server(self, service: Any, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, **options: Any):
        raise Unsupported("sagemaker:// endpoints are served by SageMaker: deploy one with agentgpt serve --sagemaker")

    def client(self, url: str, *, api_key: str | None = None, codec: str = "msgpack", timeout: float = 30.0) -> TransportClient:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        unknown = set(query) - {"region"}
        if not parts.netloc or parts.path not in ("", "/") or unknown:
            raise InvalidArgument(f"{url!r}: a SageMaker endpoint URL is sagemaker://ENDPOINT_NAME[?region=REGION]")
        from .runtime import SageMakerRuntimeClient

        try:
            return SageMakerRuntimeClient(parts.netloc, region=query.get("region"), codec=codec)
        except SageMakerError as exc:
            raise TransportError(str(exc)) from None
