# layercheck: every command a user or CI needs. `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov has its own environment: its dependencies clash with ours (requirements-checkov.txt).
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# jsii (under aws-cdk-lib) prints a banner on Node versions past their end of life; it is noise in our commands.
# It stays quiet only when the variable names the running Node major version.
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := $(NODE_MAJOR)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: help venv checkov-venv lint format test unit integration infra e2e demo serve bench synth openapi report-png clean

help:
	@echo "make demo   - run layercheck end to end against a local moto server (no AWS account)"
	@echo "make test   - create .venv, lint, run every test"
	@echo "make serve  - keep the local API running on 127.0.0.1 for manual calls"
	@echo "make bench  - run the benchmarks and write docs/BENCHMARKS.md"
	@echo "make synth  - synthesize the CDK stack into cdk.out/"
	@echo "make report-png - redraw docs/report.png, the page layercheck report writes"

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

$(CHECKOV_STAMP): requirements-checkov.txt constraints-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt -c constraints-checkov.txt
	touch $(CHECKOV_STAMP)

venv: $(STAMP)

checkov-venv: $(CHECKOV_STAMP)

lint: $(STAMP) $(CHECKOV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy lambda_src/layercheck infra cli/layercheck_cli local bench app.py
	$(VENV)/bin/vulture
	$(PY) -m infra.checkov_scan

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: lint
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests/unit

demo: $(STAMP)
	$(PY) -m local.demo

serve: $(STAMP)
	$(PY) -m local.serve

bench: $(STAMP)
	$(PY) -m bench.run

synth: $(STAMP)
	$(PY) app.py

openapi: $(STAMP)
	$(PY) -m local.openapi > docs/openapi.json

report-png: $(STAMP)
	$(PY) -m local.report_png

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) cdk.out .pytest_cache .mypy_cache .ruff_cache
