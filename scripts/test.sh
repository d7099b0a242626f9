#!/usr/bin/env bash
# The whole test suite on a fresh machine: environment, lint, types, tests.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system_deps.sh
bash scripts/setup_env.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "[test] ruff"
ruff check src tests benchmarks
ruff format --check src tests benchmarks
echo "[test] imports follow the flow (data -> annotations -> analysis; features + annotations -> models -> predict / report)"
python scripts/check_imports.py
echo "[test] mypy"
mypy
echo "[test] docs: API reference from the docstrings (mkdocs --strict: warnings are errors)"
docs_site=$(mktemp -d)
mkdocs build --strict --site-dir "$docs_site"
rm -rf "$docs_site"
echo "[test] pytest: docstring examples"
pytest -q --doctest-modules src/muvi
echo "[test] pytest: test suite"
pytest -q "$@"
