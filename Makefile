# The two commands of the README:
#   make demo   set up and run the demo against the local emulators (nothing costly)
#   make test   set up and run ruff, mypy and the whole test suite
SHELL := /bin/bash
PY := .venv/bin/python
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: setup demo demo-grid test lint typecheck pytest lock bench chaos docs dist

setup:
	./scripts/bootstrap.sh

demo: setup
	$(PY) scripts/demo.py $(DEMO_ARGS)

# A small seed grid: contact sheet in .demo/output/, the review step, the published take.
# DEMO_ARGS=--keep-running leaves the UI up so you choose the take yourself.
demo-grid: setup
	$(PY) scripts/demo_grid.py $(DEMO_ARGS)

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

# Chaos on real Airflow (also part of `make test`): mark failed / clear / kill the triggerer /
# kill the task process, the distributed triggerer hand-over, and the secret scan.
chaos: setup
	./scripts/run_pytest.sh -m e2e -q tests/e2e/test_chaos.py tests/e2e/test_distributed.py \
	  "tests/e2e/test_local_stack.py::test_killed_worker_retry_reconnects_to_the_submitted_job" $(PYTEST_ARGS)

# The documentation site (warnings are errors) into docs/_build/html; tests/docs builds it too.
docs: setup
	./scripts/build_docs.sh

# sdist + wheel into dist/, checked by twine; tests/test_release.py installs the wheel alone.
dist: setup
	rm -rf dist && $(PY) -m build --no-isolation --outdir dist . && $(PY) -m twine check --strict dist/*

bench: setup
	$(PY) -m benchmarks

lock:
	.tools/bin/uv pip compile pyproject.toml --extra test --extra e2e --extra ledger --extra docs --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -q -o requirements/lock.txt
