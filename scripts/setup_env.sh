#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv with everything lizrcl needs.
# torch is installed first, pinned to the CPU build, so mace-torch does not pull CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test,teacher]"
echo "lizrcl environment ready: $(.venv/bin/lizrcl --version)"
