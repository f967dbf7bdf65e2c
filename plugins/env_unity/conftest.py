"""The unity plugin's tests run in .venv-unity (``make test-unity``): mlagents-envs pins protobuf < 3.21,
so the main venv does not install this plugin. Where mlagents-envs is not installed at all, the
main suite skips this folder; where it is installed but broken (a wrong protobuf), they fail loudly."""

import importlib.util

collect_ignore = [] if importlib.util.find_spec("mlagents_envs") else ["tests"]
