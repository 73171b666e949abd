#!/usr/bin/env bash
# Set up the environment and run the main job on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
.venv/bin/lizrcl conductivity "$@"
