#!/usr/bin/env bash
# The main job on the built-in demo data: simulate a study (clearly marked as
# simulated), analyse it, train and evaluate the models, write the HTML report.
# Usage: bash scripts/demo.sh [OUTPUT_DIR]   (default: demo/)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
out=${1:-demo}
.venv/bin/muvi demo --out "$out"
