# Set-up and the two commands of the README. Everything installs into .venv/ from nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))
STAMP := $(VENV)/.installed
EXAMPLE_PLUGIN := tests/example_plugin

.PHONY: install run test bench bench-multiagent bench-serving clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml) $(EXAMPLE_PLUGIN)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: a looser requirement would pull GBs of CUDA packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	# The core with every extra, every plugin, and the plugin-author example the tests discover.
	$(BIN)/python -m pip install --quiet -e ".[train,serve,test,pettingzoo]" $(foreach p,$(PLUGINS),-e "$(p)[test]") -e $(EXAMPLE_PLUGIN)
	touch $(STAMP)

install: $(STAMP)

# The main job on the embedded default: env hosts on this machine, GPT policy learns CartPole.
run: install
	$(BIN)/agentgpt train --env gym:CartPole-v1 --out runs/cartpole

# The whole test suite: core and every first-party plugin.
test: install
	$(BIN)/python -m pytest -q

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

clean:
	rm -rf $(VENV) runs
