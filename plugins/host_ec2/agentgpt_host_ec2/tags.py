"""The tags that mark what a run made: ``hosts list`` and ``hosts down`` find resources by
them alone, so a run that crashed half way is as findable as one that finished. Tags never
carry secrets (they are readable by anyone with ``Describe*`` rights)."""

from __future__ import annotations

RUN_ID = "agentgpt:run-id"
OWNER = "agentgpt:owner"
ROLE = "agentgpt:role"
SSM_PREFIX = "/agentgpt/runs"


def tag_list(run_id: str, owner: str, role: str) -> list[dict[str, str]]:
    """The tags put on every resource of a run (EC2/ECR/SSM list form)."""
    return [{"Key": RUN_ID, "Value": run_id}, {"Key": OWNER, "Value": owner}, {"Key": ROLE, "Value": role},
            {"Key": "Name", "Value": f"agentgpt-{role}-{run_id}"}]


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """EC2's ``[{"Key", "Value"}]`` as a dict."""
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def ssm_key_name(run_id: str) -> str:
    """Where a run's API key is kept (a SecureString)."""
    return f"{SSM_PREFIX}/{run_id}/api-key"
