#!/usr/bin/env bash
# Creates the Python venv with qlib used to regenerate golden values and to run the qlib side of
# `npm run bench:data`. Not needed by CI (the golden values are committed).
set -euo pipefail
VENV="${QTASK_QLIB_VENV:-${HOME}/.cache/qtask/venv-qlib}"
PY="${PYTHON:-python3.11}"
if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
"$VENV/bin/pip" install -q pyqlib==0.9.7
"$VENV/bin/python" -c 'import qlib; print("qlib", qlib.__version__)'
