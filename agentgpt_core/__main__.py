"""``python -m agentgpt_core`` is the ``agentgpt`` CLI."""

from .cli import main

main()
