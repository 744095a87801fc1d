#!/usr/bin/env bash
# Create the peers' virtual environments for a benchmark, each under bench/.venvs/.
# Peers pin pandas<3 (and NannyML statsmodels), so they never share Steward's venv.
# Usage: bench/peers.sh drift
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venvs="$here/.venvs"
python="${PEER_PYTHON:-python3.11}"

make_venv() {  # make_venv NAME PACKAGE...
  local name="$1"; shift
  local dir="$venvs/$name"
  if [[ -x "$dir/bin/python" ]] && "$dir/bin/python" -c "import sys; sys.exit(0)"; then
    echo "peer venv $name: exists at $dir"
  else
    uv venv --quiet --python "$python" "$dir"
  fi
  uv pip install --quiet --python "$dir/bin/python" "$@"
  echo "peer venv $name: ready ($*)"
}

case "${1:-}" in
  drift)
    make_venv evidently "evidently" "pandas<3" "pyarrow" &
    make_venv nannyml "nannyml" "pandas<3" "statsmodels" "pyarrow" &
    wait
    ;;
  *)
    echo "usage: $0 drift" >&2
    exit 2
    ;;
esac
