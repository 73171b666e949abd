#!/usr/bin/env bash
# Rebuild the shipped model (lizrcl_tools/data/lizrcl_mace_small.model) from its recipe:
# the one documented command of docs/default_model.md. Hours of CPU training; the rebuild's
# wall time and errors are not yet measured. Rerun to resume. WORK: work folder.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec nice -n 10 "${PYTHON:-.venv/bin/python}" -m lizrcl_tools learn lizrcl_tools/data/recipes/default_model.yaml \
    -o "${WORK:-default_model_work}"
