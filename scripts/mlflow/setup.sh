#!/usr/bin/env bash
# Creates (or completes) the Python venv that test/recorder/mlflow-client.test.ts uses to read what
# qtask wrote with MLflow's own client. Idempotent: re-running only installs what is missing.
# Location: $QTASK_MLFLOW_VENV, default ${HOME}/.cache/qtask/venv-mlflow.
set -euo pipefail
venv="${QTASK_MLFLOW_VENV:-${HOME}/.cache/qtask/venv-mlflow}"
# Pinned so a new MLflow release cannot change what the test checks under our feet.
MLFLOW_SKINNY_VERSION=3.17.2
PANDAS_VERSION=3.1.1

if ! command -v python3 >/dev/null; then
  echo "python3 is required (apt-get install python3 python3-venv)" >&2
  exit 1
fi
if [ ! -x "${venv}/bin/python" ]; then
  echo "creating venv ${venv}"
  mkdir -p "$(dirname "${venv}")"
  if ! python3 -m venv "${venv}"; then
    echo "python3 -m venv failed; installing python3-venv" >&2
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv
    python3 -m venv "${venv}"
  fi
fi
if "${venv}/bin/python" -c "import mlflow, pandas, sys; sys.exit(0 if (mlflow.__version__, pandas.__version__) == ('${MLFLOW_SKINNY_VERSION}', '${PANDAS_VERSION}') else 1)" 2>/dev/null; then
  echo "venv ${venv}: mlflow-skinny ${MLFLOW_SKINNY_VERSION}, pandas ${PANDAS_VERSION} present"
  exit 0
fi
"${venv}/bin/python" -m pip install --quiet --disable-pip-version-check \
  "mlflow-skinny==${MLFLOW_SKINNY_VERSION}" "pandas==${PANDAS_VERSION}"
"${venv}/bin/python" -c "import mlflow, pandas; print('venv ready: mlflow', mlflow.__version__, 'pandas', pandas.__version__)"
