"""The ngrok auth token handed to the agent in a private config file, never on its command line.

pyngrok passes a token it was given (or read from ``NGROK_AUTHTOKEN``) to the agent as
``ngrok start --authtoken TOKEN``, and any local user can read a process's arguments
(``ps``, ``/proc/PID/cmdline``). The agent also reads its token from its config file, so
the plugin writes a copy of the user's ngrok config with the token added to a file only
this user can read (0600, in a fresh 0700 directory), starts the agent with that file
as ``--config``, and deletes it when the tunnel closes. The user's own config file is
never written to.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from agentgpt_core.kinds import TunnelError

FILE_NAME = "ngrok.yml"


class PrivateConfig:
    """A 0600 copy of ngrok's config at ``user_config`` (if it exists) with ``token`` as its authtoken."""

    def __init__(self, user_config: str | os.PathLike[str] | None, token: str) -> None:
        import yaml

        config = _read(user_config)
        version = str(config.get("version") or "")
        if version == "2" or (not version and config and "agent" not in config):
            config["authtoken"] = token  # the v2 layout keeps agent settings at the top level
        else:
            config["version"] = version or "3"
            agent = config.get("agent")
            config["agent"] = {**(agent if isinstance(agent, dict) else {}), "authtoken": token}
        self.directory = Path(tempfile.mkdtemp(prefix="agentgpt-ngrok-"))  # mkdtemp: mode 0700, a fresh name
        self.path = self.directory / FILE_NAME
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                yaml.safe_dump(config, file, default_flow_style=False)
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        """Delete the file and its directory; idempotent."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _read(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The user's ngrok config as a mapping ({} when there is none); a TunnelError when it is not YAML."""
    import yaml

    if path is None or not Path(path).is_file():
        return {}
    try:
        config = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:  # not the error's text: YAML errors quote the file, token included
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise TunnelError(f"cannot read ngrok's config {path}: {type(exc).__name__}{where}") from None
    if not isinstance(config, dict):
        raise TunnelError(f"ngrok's config {path} is not a YAML mapping")
    return config
