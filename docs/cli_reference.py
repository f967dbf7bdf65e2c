"""Regenerate the ``--help`` blocks of docs/cli.md from the installed ``agentgpt`` (``make docs``).

Each ``## agentgpt COMMAND`` heading is followed by a fenced block holding that command's
``--help`` output; this replaces every such block with the current output (80 columns,
every first-party plugin loaded) and leaves the prose between the blocks alone.
``--check`` only reports which blocks are stale, with exit code 1 if any is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CLI_MD = Path(__file__).with_name("cli.md")
BLOCK = re.compile(r"^## agentgpt(?P<command>[^\n]*)\n\n```\n(?P<help>.*?)```\n", re.MULTILINE | re.DOTALL)


def current_help(command: str) -> str:
    """``agentgpt COMMAND --help`` as a user sees it in an 80-column terminal."""
    agentgpt = Path(sys.executable).with_name("agentgpt")
    env = {**os.environ, "COLUMNS": "80", "AGENTGPT_LOAD_PLUGINS": "http,ws,ngrok,ec2,sagemaker,unity"}
    done = subprocess.run([str(agentgpt), *command.split(), "--help"], capture_output=True, text=True, env=env, check=True)
    return done.stdout


def main(argv: list[str]) -> int:
    text = CLI_MD.read_text()
    stale: list[str] = []

    def refresh(match: re.Match[str]) -> str:
        command = match["command"].strip()
        fresh = current_help(command)
        if fresh != match["help"]:
            stale.append(f"agentgpt {command}".strip())
        return f"## agentgpt{match['command']}\n\n```\n{fresh}```\n"

    updated = BLOCK.sub(refresh, text)
    if "--check" in argv:
        print("\n".join(f"stale: {name}" for name in stale) or "docs/cli.md is current")
        return 1 if stale else 0
    CLI_MD.write_text(updated)
    print(f"docs/cli.md: {len(stale)} block(s) updated" + (f" ({', '.join(stale)})" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
