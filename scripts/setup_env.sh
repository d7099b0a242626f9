#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv with pip.
# Usage: bash scripts/setup_env.sh        (idempotent; quick when nothing changed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $PY"
  "$PY" -m venv .venv
fi
stamp=.venv/.muvi-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing muvi and its dependencies (first time: a few minutes)"
  .venv/bin/pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
  .venv/bin/pip install -q -e ".[all,dev]" 2>&1 | grep -v "is ignored" || true
  # facenet-pytorch pins old versions of torch and numpy; its MTCNN runs fine with ours.
  .venv/bin/pip install -q --no-deps "facenet-pytorch>=2.5" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import muvi, torch, opensmile" || { echo "[setup] install failed" >&2; exit 1; }
  touch "$stamp"
fi
