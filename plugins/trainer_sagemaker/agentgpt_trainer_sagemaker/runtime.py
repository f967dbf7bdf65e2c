"""A ``GPTAPI`` transport through boto3's ``sagemaker-runtime`` ``invoke_endpoint``.

``GPTAPI(client)`` takes anything with ``call(method, params)``; this client sends the
``invocations`` call as the body of InvokeEndpoint (msgpack by default, JSON on request)
and decodes the answer. A container's typed error comes back from SageMaker as a
``ModelError`` carrying the container's body; it is raised here as the same protocol
error class the server raised. Each client names its own session in SageMaker's
custom-attributes header, so two games on one endpoint never share agent ids.

``GPTAPI.connect("sagemaker://NAME")`` reaches the same client through the ``sagemaker``
transport (transport.py). Pointing ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` (or ``endpoint_url``) at a local
``agentgpt serve`` runs this very code against the local server, which answers the
runtime's ``POST /endpoints/NAME/invocations``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions

from agentgpt_core.kinds import TransportClient
from agentgpt_core.protocol.codecs import codec_for_content_type, get_codec
from agentgpt_core.protocol.errors import ProtocolError, TransportError, UnknownMethod, error_from_dict
from agentgpt_core.protocol.names import INVOCATIONS

from .aws import Aws, client_config, describe



class SageMakerRuntimeClient(TransportClient):
    """One endpoint reached through InvokeEndpoint (IAM-signed by boto3)."""

    def __init__(self, endpoint_name: str, *, aws: Aws | None = None, region: str | None = None,
                 codec: str = "msgpack", endpoint_url: str | None = None):
        self.endpoint_name = endpoint_name
        self.codec = get_codec(codec)
        self.session_id = uuid.uuid4().hex
        aws = aws or Aws(region)
        # its own client (not the cached one): close() releases it
        self._runtime = aws.session.client("sagemaker-runtime", endpoint_url=endpoint_url, config=client_config())

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        if method == "ping":  # the container's /ping is SageMaker's to call; a status invocation proves the same
            self.call(INVOCATIONS, {"action": "status", "args": {}})
            return {"ok": True, "endpoint": self.endpoint_name}
        if method != INVOCATIONS:
            raise UnknownMethod(f"a SageMaker endpoint answers {INVOCATIONS!r} only, not {method!r}")
        try:
            answer = self._runtime.invoke_endpoint(
                EndpointName=self.endpoint_name, Body=self.codec.encode(params or {}),
                ContentType=self.codec.content_type, Accept=self.codec.content_type,
                CustomAttributes=f"session={self.session_id}",
            )
        except botocore.exceptions.ClientError as exc:
            raise _protocol_error(exc) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise TransportError(f"endpoint {self.endpoint_name}: {describe(exc)}") from None
        body = answer["Body"].read()
        return codec_for_content_type(answer.get("ContentType"), default=self.codec).decode(body)

    def close(self) -> None:
        self._runtime.close()


def _protocol_error(exc: botocore.exceptions.ClientError) -> ProtocolError:
    """The container's own typed error when SageMaker passed it on, else a TransportError line."""
    if exc.response.get("Error", {}).get("Code") == "ModelError":
        try:
            body = json.loads(exc.response.get("OriginalMessage") or "")
            return error_from_dict(body["error"])
        except (ValueError, KeyError, TypeError):
            pass
    return TransportError(describe(exc))

