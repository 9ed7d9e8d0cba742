# The two commands a newcomer needs (README.md names them):
#   make run   build the venv, make sure Docker and busybox are there if possible, open the demo
#   make test  build the venv, lint (ruff) and type-check (mypy) vmuser_tui, start Docker
#              (CI installs it), run the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint docker clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Best effort for `run`: the demo falls back to a workspace-only session without Docker.
docker:
	-@bash .ci/start-docker.sh

run: $(STAMP) docker
	$(VENV)/bin/vmuser demo

# Settings for both tools are in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check vmuser_tui
	$(VENV)/bin/mypy

test: lint
	bash .ci/start-docker.sh
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
