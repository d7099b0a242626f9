#!/usr/bin/env bash
# Run the LASSO tests under the OLDEST scikit-learn that pyproject.toml allows.
# models/lasso.py calls LassoCV(alphas=<int>), which scikit-learn accepts from 1.7
# (1.6.1 raises InvalidParameterError). Installs that one version into a
# temporary folder (no dependencies: the environment's numpy/scipy serve) and
# puts it first on PYTHONPATH; the environment itself is not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
floor=$(sed -n 's/.*"scikit-learn>=\([0-9.]*\)".*/\1/p' pyproject.toml | head -1)
target=$(mktemp -d)
trap 'rm -rf "$target"' EXIT
"$PY" -m pip install -q --no-deps --target "$target" "scikit-learn==$floor"
PYTHONPATH="$target:$PWD/src" "$PY" -c "import sklearn; print('scikit-learn', sklearn.__version__)"
PYTHONPATH="$target:$PWD/src" "$PY" -m pytest tests/models/test_lasso.py -q -p no:cacheprovider
