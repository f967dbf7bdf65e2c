"""The ``ngrok`` tunnel: a public https/wss URL through the ngrok agent, driven by pyngrok.

pyngrok starts ``ngrok start --none --log stdout``, waits for its start-up log lines,
then creates an endpoint through the agent's local API and, on close, deletes it. This
module adds what the CLI needs around that: the auth token only from ngrok's config or
``NGROK_AUTHTOKEN`` (never an argument, never logged; a token from the environment
reaches the agent in a private copy of ngrok's config, not on its command line, see
``private_config``), no silent download of the agent
(a missing agent is a one-line error), ngrok's error codes turned into one-line
TunnelErrors, and the agent stopped when the tunnel closes.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

from agentgpt_core.kinds import Tunnel, TunnelError

from .private_config import PrivateConfig
from .urls import local_target, public_url_for

TOKEN_VARIABLE = "NGROK_AUTHTOKEN"
PATH_VARIABLE = "PYNGROK_NGROK_PATH"

# pyngrok logs each ngrok line; with no handler configured Python would print the errors on
# stderr beside the CLI's own one-line message. A NullHandler keeps them for those who
# configure logging (AGENTGPT_DEBUG, a notebook) and off a bare terminal.
logging.getLogger("pyngrok").addHandler(logging.NullHandler())

# ngrok error codes (https://ngrok.com/docs/errors/) the CLI explains in its own words.
TOKEN_REFUSED = {"ERR_NGROK_105", "ERR_NGROK_106", "ERR_NGROK_107", "ERR_NGROK_4018"}
PLAN_LIMITS = {"ERR_NGROK_108", "ERR_NGROK_313", "ERR_NGROK_324", "ERR_NGROK_725"}


class NgrokTunnel(Tunnel):
    """One ngrok endpoint to a local server; ``configure(region=..., domain=...)`` for the options."""

    name = "ngrok"
    OPTIONS = ("region", "domain", "ngrok_path", "config_path", "startup_timeout")

    def __init__(self, region: str | None = None, domain: str | None = None, ngrok_path: str | None = None,
                 config_path: str | None = None, startup_timeout: float = 15.0) -> None:
        self.region, self.domain = region, domain
        self.ngrok_path, self.config_path = ngrok_path, config_path
        self.startup_timeout = startup_timeout
        self._config: Any = None
        self._public: str | None = None
        self._private: PrivateConfig | None = None

    def configure(self, **options: Any) -> NgrokTunnel:
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            raise ValueError(f"the ngrok tunnel has no option {', '.join(unknown)}; it takes {', '.join(self.OPTIONS)}")
        return NgrokTunnel(**{k: str(v) if k != "startup_timeout" else float(v) for k, v in options.items()})

    def open(self, local_url: str) -> str:
        from pyngrok import conf, ngrok
        from pyngrok.exception import PyngrokError

        scheme, host, port = local_target(local_url)
        config = conf.PyngrokConfig(ngrok_path=self._agent_path(), config_path=self.config_path,
                                    region=self.region, startup_timeout=int(self.startup_timeout))
        token = config.auth_token  # pyngrok reads NGROK_AUTHTOKEN and would pass it on as --authtoken ...
        config.auth_token = None   # ... where every local user sees it in `ps`: it goes in a private config file instead
        user_config = conf.get_config_path(config)
        if not token and not _config_has_token(user_config):
            raise TunnelError(f"ngrok needs an auth token: set {TOKEN_VARIABLE} in the environment, or put it "
                              "in ngrok's config (`ngrok config edit`, key agent.authtoken); never on a command line")
        options: dict[str, Any] = {}
        if self.domain:
            options["url"] = f"https://{self.domain.removeprefix('https://')}"
        self._config = config
        if token:
            self._private = PrivateConfig(user_config, token)
            config.config_path = str(self._private.path)
        try:
            endpoint = ngrok.connect(f"{scheme}://{host}:{port}", pyngrok_config=config, **options)
        except PyngrokError as exc:
            self.close()
            raise TunnelError(_explain(exc, token)) from None
        self._public = endpoint.public_url
        try:
            return public_url_for(local_url, endpoint.public_url or "", "ngrok")
        except TunnelError:
            self.close()
            raise

    def close(self) -> None:
        """Delete the endpoint and stop the agent this tunnel started; idempotent."""
        config, public, private = self._config, self._public, self._private
        self._config = self._public = self._private = None
        if config is None:
            return
        from pyngrok import ngrok
        from pyngrok.exception import PyngrokError

        try:
            if public:
                ngrok.disconnect(public, pyngrok_config=config)
        except (PyngrokError, OSError):
            pass  # the agent is stopped next, which ends the endpoint anyway
        finally:
            try:
                ngrok.kill(pyngrok_config=config)
            finally:
                if private is not None:
                    private.remove()

    def _agent_path(self) -> str:
        """The ngrok agent to run; a TunnelError rather than pyngrok's download when there is none."""
        from pyngrok import conf

        candidates = [self.ngrok_path, os.environ.get(PATH_VARIABLE), conf.DEFAULT_NGROK_PATH, _agent_on_path()]
        if self.ngrok_path or os.environ.get(PATH_VARIABLE):
            candidates = candidates[:2]  # an explicit choice is never silently replaced
        for path in candidates:
            if path and Path(path).is_file() and os.access(path, os.X_OK):
                return path
        wanted = next((p for p in candidates if p), "ngrok")
        raise TunnelError(f"the ngrok agent is not installed ({wanted} not found): install it from ngrok.com/download "
                          f"or set {PATH_VARIABLE} to its path")


def _agent_on_path() -> str | None:
    """The first ``ngrok`` on PATH that is the agent, skipping pyngrok's own ``ngrok`` script.

    pip installs pyngrok's ``ngrok`` command beside Python; run as the agent, it would
    download the real one, which is exactly what this plugin promises not to do.
    """
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        path = shutil.which("ngrok", path=folder) if folder else None
        if path is None:
            continue
        try:
            with open(path, "rb") as file:
                head = file.read(1024)
        except OSError:
            continue
        if not (head.startswith(b"#!") and (b"from pyngrok" in head or b"import pyngrok" in head)):
            return path
    return None


def _config_has_token(path: str) -> bool:
    """Whether ngrok's config file names an auth token (v3 ``agent.authtoken`` or v2 ``authtoken``)."""
    try:
        import yaml

        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, ValueError, ImportError):
        return False
    if not isinstance(config, dict):
        return False
    agent = config.get("agent") if isinstance(config.get("agent"), dict) else {}
    return bool(config.get("authtoken") or agent.get("authtoken"))


def _explain(exc: Exception, token: str | None) -> str:
    """One line saying why ngrok failed, with the token (should ngrok ever echo it) redacted."""
    code = getattr(exc, "ngrok_error_code", None)
    detail = str(getattr(exc, "ngrok_error", None) or exc)
    detail = " ".join(detail.replace("\\r", " ").replace("\\n", " ").split())  # ngrok escapes its CRLFs
    if token:
        detail = detail.replace(token, "***")
    if code in TOKEN_REFUSED:
        return f"ngrok refused the auth token ({code}): check {TOKEN_VARIABLE} or ngrok's config. ngrok said: {detail}"
    if code in PLAN_LIMITS:
        return f"ngrok refused: a limit of your ngrok plan ({code}), e.g. one agent session or no custom domains. ngrok said: {detail}"
    return f"ngrok could not open a tunnel{f' ({code})' if code else ''}: {detail}"
