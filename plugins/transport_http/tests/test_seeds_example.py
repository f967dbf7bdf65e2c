"""The seeds' section 4.5 example, verbatim, against a real server (requests, JSON, Bearer key)."""

from __future__ import annotations

import contextlib
import io

import pytest
import requests

from .conftest import KEY

pytestmark = pytest.mark.timeout(60)

# Copied verbatim from the integration guide, section 4.5 "Example Code for Connection".
SEEDS_EXAMPLE = '''
import requests

BASE_URL = "https://your-api-domain.com"
API_KEY = "YOUR_API_KEY"

headers = {
    "Authorization": f"Bearer {API_KEY}",
    "Content-Type": "application/json",
}

# Initialize environment
response = requests.post(f"{BASE_URL}/make", headers=headers, json={"env_name": "CartPole-v1"})
print("Environment Initialized:", response.json())

# Reset environment
response = requests.post(f"{BASE_URL}/reset", headers=headers)
print("Reset State:", response.json())

# Step in environment
action = 0
response = requests.post(f"{BASE_URL}/step", headers=headers, json={"action": action})
print("Step Result:", response.json())
'''


def run_seeds_example(base_url: str, api_key: str) -> dict:
    """Run the example with only its two placeholders filled in; return its variables."""
    code = SEEDS_EXAMPLE.replace("https://your-api-domain.com", base_url).replace("YOUR_API_KEY", api_key)
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, "seeds_example_4_5.py", "exec"), namespace)
    namespace["printed"] = printed.getvalue()
    return namespace


def test_seeds_example_runs_verbatim(url, service):
    try:
        done = run_seeds_example(url, KEY)
        assert done["response"].status_code == 200
        step = done["response"].json()
        assert len(step["observation"]) == 4 and step["reward"] == 1.0
        assert step["terminated"] is False and step["truncated"] is False
        lines = done["printed"].splitlines()
        assert lines[0].startswith("Environment Initialized: {") and "'env_key'" in lines[0]
        assert lines[1].startswith("Reset State: {'observation': [")
        assert lines[2].startswith("Step Result: {'observation': [")
    finally:
        service.close_session("default")


def test_seeds_spaces_by_get_and_post(url, service):
    headers = {"Authorization": f"Bearer {KEY}"}
    try:
        made = requests.post(f"{url}/make", headers=headers, json={"env_name": "CartPole-v1", "seed": 42}).json()
        by_post = requests.post(f"{url}/action_space", headers=headers).json()
        by_get = requests.get(f"{url}/action_space", headers=headers, params={"env_key": made["env_key"]}).json()
        assert by_post == by_get == made["action_space"]
        assert requests.get(f"{url}/observation_space", headers=headers).json() == made["observation_space"]
    finally:
        service.close_session("default")


def test_wrong_key_in_the_seeds_example_is_401(url):
    with pytest.raises(KeyError):  # the example reads response.json() and prints the error; nothing was made
        run_seeds_example(url, "not-the-key")["response"].json()["observation"]
    response = requests.post(f"{url}/make", headers={"Authorization": "Bearer nope"}, json={"env_name": "CartPole-v1"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
