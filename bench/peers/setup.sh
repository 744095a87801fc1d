#!/usr/bin/env bash
# Make the MLflow peer's venv (bench/.venvs/mlflow) for bench/tracking.py. Idempotent:
# a venv that already imports mlflow 3.x is left as it is.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${here}/../.venvs/mlflow"
spec="${MLFLOW_SPEC:-mlflow>=3,<4}"

if [ -x "${venv}/bin/python" ] \
    && "${venv}/bin/python" -c 'import mlflow, sys; sys.exit(0 if mlflow.__version__.startswith("3.") else 1)' 2>/dev/null; then
    echo "mlflow venv ready: ${venv} (mlflow $("${venv}/bin/python" -c 'import mlflow; print(mlflow.__version__)'))"
    exit 0
fi

# uv comes with Steward's own venv (make install) when it is not on PATH.
uv="$(command -v uv || echo "${here}/../../.venv/bin/uv")"
mkdir -p "$(dirname "${venv}")"
# An installed interpreter only: the benchmark machine may have no network for downloads.
[ -x "${venv}/bin/python" ] || "${uv}" venv --quiet --python-preference only-system --python "${PYTHON:-python3}" "${venv}"
"${uv}" pip install --quiet --python "${venv}/bin/python" "${spec}"
echo "mlflow venv ready: ${venv} (mlflow $("${venv}/bin/python" -c 'import mlflow; print(mlflow.__version__)'))"
