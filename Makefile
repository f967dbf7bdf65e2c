# Set-up and the two commands of the README. Everything installs into .venv/ from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# env_unity pins protobuf < 3.21 (mlagents-envs 0.28), which onnx and the serve extra cannot take:
# it lives in its own venv, UNITY_VENV, with the core, the trainer and the http and ws transports.
UNITY_PLUGIN := plugins/env_unity
PLUGINS := $(filter-out $(UNITY_PLUGIN),$(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml)))
STAMP := $(VENV)/.installed
EXAMPLE_PLUGIN := tests/example_plugin
UNITY_VENV := .venv-unity
UNITY_STAMP := $(UNITY_VENV)/.installed

.PHONY: install install-unity run test test-unity bench bench-multiagent bench-serving bench-unity docs clean

$(STAMP): pyproject.toml $(foreach p,$(PLUGINS),$(p)/pyproject.toml) $(EXAMPLE_PLUGIN)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: a looser requirement would pull GBs of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# The core with every extra, every plugin, and the plugin-author example the tests discover.
	$(BIN)/python -m pip install --quiet -e ".[train,serve,test,pettingzoo]" $(foreach p,$(PLUGINS),-e "$(p)[test]") -e $(EXAMPLE_PLUGIN)
	touch $(STAMP)

install: $(STAMP)

$(UNITY_STAMP): pyproject.toml $(UNITY_PLUGIN)/pyproject.toml plugins/transport_http/pyproject.toml plugins/transport_ws/pyproject.toml
	test -x $(UNITY_VENV)/bin/python || $(PYTHON) -m venv $(UNITY_VENV)
	$(UNITY_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(UNITY_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(UNITY_VENV)/bin/python -m pip install --quiet -e ".[train]" -e plugins/transport_http -e plugins/transport_ws -e "$(UNITY_PLUGIN)[test]"
	$(UNITY_VENV)/bin/python -c "import mlagents_envs.environment, google.protobuf as p; assert p.__version__ < '3.21', p.__version__"
	touch $(UNITY_STAMP)

install-unity: $(UNITY_STAMP)

# The main job on the embedded default: env hosts on this machine, GPT policy learns CartPole.
run: install
	$(BIN)/agentgpt train --env gym:CartPole-v1 --out runs/cartpole

# The whole test suite: core and every first-party plugin, then the Unity plugin in its own venv
# (its trainer side runs from the main venv's agentgpt, as a user's would).
UNITY_TESTS = AGENTGPT_TRAINER_BIN=$(abspath $(BIN))/agentgpt $(UNITY_VENV)/bin/python -m pytest -q $(UNITY_PLUGIN)/tests

test: install install-unity
	$(BIN)/python -m pytest -q
	$(UNITY_TESTS)

test-unity: install install-unity
	$(UNITY_TESTS)

bench: install
	$(BIN)/python benchmarks/transports.py

# Multi-agent: 64 agents over WS vs in-process, and simple_spread beside SB3 + SuperSuit (about 10 min on 1 CPU).
bench-multiagent: install
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	PYTHONPATH=. $(BIN)/python benchmarks/multiagent/throughput.py --seconds 8 --out benchmarks/multiagent/results/throughput.json
	PYTHONPATH=. $(BIN)/python benchmarks/multiagent/spread.py --steps 300000 --seeds 1 --out benchmarks/multiagent/results

# Serving: latency and batching (benchmarks/RESULTS-serving.md), the control value (RESULTS-control-value.md).
bench-serving: install
	$(BIN)/python benchmarks/serving.py
	$(BIN)/python benchmarks/control_value.py

# Decisions per second through the fake Unity player: WS dial-out vs UnityEnvironment directly.
bench-unity: install-unity
	OMP_NUM_THREADS=1 $(UNITY_VENV)/bin/python benchmarks/unity_throughput.py

# docs/cli.md's --help blocks from the installed CLI (the prose between them is kept).
docs: install
	$(BIN)/python docs/cli_reference.py

clean:
	rm -rf $(VENV) $(UNITY_VENV) runs
