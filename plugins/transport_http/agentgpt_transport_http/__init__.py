"""HTTP transport for AgentGPT: a FastAPI/uvicorn env host and an httpx client."""

from .app import SESSION_HEADER, build_app
from .client import HttpClient
from .server import HttpServer
from .transport import HttpTransport

__all__ = ["SESSION_HEADER", "HttpClient", "HttpServer", "HttpTransport", "build_app"]
