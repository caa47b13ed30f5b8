#!/usr/bin/env bash
# Build the documentation site with warnings as errors and nitpicky references, offline.
#   scripts/build_docs.sh [OUTDIR]    (default docs/_build/html)
# Autodoc imports Airflow, which writes airflow.cfg on import: give it a throwaway AIRFLOW_HOME.
# The site's external links are listed (not fetched) in OUTDIR/external-links.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/_build/html}
own_home=0
if [ -z "${AIRFLOW_HOME:-}" ]; then export AIRFLOW_HOME; AIRFLOW_HOME=$(mktemp -d); own_home=1; fi
export AIRFLOW__CORE__LOAD_EXAMPLES=False
rc=0
.venv/bin/sphinx-build -W --keep-going -n -q -b html -d "$out/.doctrees" docs "$out" || rc=$?
[ "$own_home" = 1 ] && rm -rf "$AIRFLOW_HOME"
[ "$rc" = 0 ] && echo "docs: $out/index.html ($(wc -l < "$out/external-links.txt") external links listed in $out/external-links.txt)"
exit "$rc"
