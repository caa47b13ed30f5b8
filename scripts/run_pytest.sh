#!/usr/bin/env bash
# Run pytest in a throwaway AIRFLOW_HOME (Airflow writes airflow.cfg on import: never the checkout).
# pytest's exit code 5 ("no tests collected") counts as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
own_home=0
if [ -z "${AIRFLOW_HOME:-}" ]; then export AIRFLOW_HOME; AIRFLOW_HOME=$(mktemp -d); own_home=1; fi
export AIRFLOW__CORE__LOAD_EXAMPLES=False
.venv/bin/python -m pytest -p no:cacheprovider "$@"
rc=$?
[ "$own_home" = 1 ] && rm -rf "$AIRFLOW_HOME"
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi
exit "$rc"
