"""The user-data script each instance runs at first boot: pull the env-host image and run
``agentgpt launch`` in it, then tell the console when the host registered (dial-out) or
serves (listening), which is what the launcher waits for.

The API key reaches the instance through SSM Parameter Store (a SecureString read with the
instance's role) or, without an instance profile, inside user-data itself; it is exported
and handed to ``docker run -e AGENTGPT_API_KEY`` by name, so it is never on a command line,
in a tag, or echoed (the script has no ``set -x``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

REGISTERED = "agentgpt: host registered"
SERVING = "agentgpt: host serving"
FAILED = "agentgpt: host failed"
CONTAINER = "agentgpt-host"
ECR_HOST = re.compile(r"^(\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/")


@dataclass
class HostCommand:
    """What ``agentgpt launch`` is told inside the container."""

    env_specs: list[str]
    connect: str | None = None  # dial-out: the trainer's gateway URL
    num_envs: int = 1
    port: int = 8000  # listening mode only
    extra: list[str] = field(default_factory=list)

    def args(self) -> list[str]:
        args = ["--transport", "ws", "--connect", self.connect, "--num-envs", str(self.num_envs), "-o", "register_timeout=600"] \
            if self.connect else ["--transport", "http", "--host", "0.0.0.0", "--port", str(self.port)]
        for spec in self.env_specs:
            args += ["--env", spec]
        return args + self.extra


def render(image: str, command: HostCommand, *, region: str, run_id: str, api_key: str | None = None,
           ssm_parameter: str | None = None, wait_seconds: int = 900) -> str:
    """The bash script. Give ``ssm_parameter`` (read at boot) or ``api_key`` (embedded), or neither."""
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"# AgentGPT env host, run {run_id}: pull the image and run `agentgpt launch` in it.",
        "set -euo pipefail",
        'CONSOLE="${AGENTGPT_CONSOLE:-/dev/console}"',
        'log() { echo "$*"; echo "$*" >> "$CONSOLE" 2>/dev/null || true; }',
        "trap 'log \"" + FAILED + " (line $LINENO)\"' ERR",
        "if ! command -v docker >/dev/null 2>&1; then",
        "  (dnf install -y docker || yum install -y docker || (apt-get update && apt-get install -y docker.io)) >/dev/null",
        "  systemctl enable --now docker",
        "fi",
    ]
    if ssm_parameter:
        lines.append(f"AGENTGPT_API_KEY=$(aws ssm get-parameter --region {q(region)} --name {q(ssm_parameter)} "
                     "--with-decryption --query Parameter.Value --output text)")
    elif api_key:
        lines.append(f"AGENTGPT_API_KEY={q(api_key)}")
    else:
        lines.append("AGENTGPT_API_KEY=")
    lines.append("export AGENTGPT_API_KEY")
    registry = ECR_HOST.match(image)
    if registry:
        lines.append(f"aws ecr get-login-password --region {q(region)} | docker login --username AWS --password-stdin {q(registry.group(1))} >/dev/null")
    marker = REGISTERED if command.connect else SERVING
    run = ["docker", "run", "-d", "--name", CONTAINER, "--restart", "unless-stopped", "--network", "host",
           "-e", "AGENTGPT_API_KEY", image, *command.args()]
    lines += [
        f"docker pull {q(image)} >/dev/null",
        " ".join(q(part) for part in run) + " >/dev/null",
        f"for _ in $(seq 1 {max(1, wait_seconds // 2)}); do",
        f"  if docker logs {CONTAINER} 2>&1 | grep -q '^AGENTGPT_URL='; then log {q(marker)}; exit 0; fi",
        "  sleep 2",
        "done",
        f"log {q(FAILED + ' (no AGENTGPT_URL from the container)')}",
        f"docker logs --tail 20 {CONTAINER} 2>&1 | while read -r line; do log \"container: $line\"; done",
        "exit 1",
    ]
    return "\n".join(lines) + "\n"
