# The two commands of the README:
#   make demo   set up and run the demo against the local emulators (nothing costly)
#   make test   set up and run ruff, mypy and the whole test suite
SHELL := /bin/bash
PY := .venv/bin/python
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: setup demo test lint typecheck pytest lock bench

setup:
	./scripts/bootstrap.sh

demo: setup
	$(PY) scripts/demo.py $(DEMO_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy

pytest: setup
	./scripts/run_pytest.sh $(PYTEST_ARGS)

test: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	./scripts/run_pytest.sh $(PYTEST_ARGS)

bench: setup
	$(PY) -m benchmarks

lock:
	.tools/bin/uv pip compile pyproject.toml --extra test --extra e2e --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -q -o requirements/lock.txt
