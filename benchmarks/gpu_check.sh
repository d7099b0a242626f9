#!/usr/bin/env bash
# GPU measurements of batched training and bfloat16, in one go.
#
#   bash benchmarks/gpu_check.sh                        # on the GPU machine, from the repo root
#   GPU_CHECK_QUICK=1 GPU_CHECK_DEVICE=cpu bash benchmarks/gpu_check.sh   # tiny end-to-end check
#
# Needs python3 with torch, numpy, pandas, scipy, scikit-learn (no opensmile, dask, network).
# Everything printed also goes to $OUT/gpu_check.log; JSON files land in $OUT.
# Each part runs under `timeout` within a total budget (GPU_CHECK_BUDGET seconds, default
# 450, under 8 minutes), so a slow part prints what it has and the rest still run or are
# skipped, said so. Parts: caps; one epoch of every network (float32 and bfloat16); the full
# grid at paper settings with its wall time split (stacks, LASSO during/after the stacks,
# scoring, the rest); 10 seeds of the grid's networks in one stack per architecture
# (float32, with the peak GPU memory); then, if time is left, 5 seeds in bfloat16 and the
# bfloat16-vs-float32 comparison.
# The study is SIMULATED (muvi.data.simulator); no figure here is the paper's.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/muvi_gpu_check}"
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
: > "$LOG"
exec > >(tee -a "$LOG") 2>&1
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export OMP_WAIT_POLICY=passive
export PYTHONUNBUFFERED=1  # a part killed by its timeout still shows what it printed
PY="${PYTHON:-python3}"
BUDGET="${GPU_CHECK_BUDGET:-450}"
DEVICE="${GPU_CHECK_DEVICE:-auto}"
THREADS="${GPU_CHECK_THREADS:-$(nproc 2>/dev/null || echo 2)}"
WORKERS=$(( THREADS > 2 ? THREADS - 2 : 1 ))
DATA="${GPU_CHECK_DATA:-/tmp/muvi_gpu_check_sim}"
COMMON=(--data "$DATA" --out "$OUT" --device "$DEVICE" --threads "$THREADS")
SEEDS_TEN=0-9
SEEDS_BF16=0-4
if [ -n "${GPU_CHECK_QUICK:-}" ]; then
  COMMON+=(--quick --experiments 1 2 7)
  SEEDS_TEN=0-2
  SEEDS_BF16=0-1
  echo "QUICK MODE: tiny study and networks, experiments 1, 2, 7; the figures below mean nothing"
fi
START=$SECONDS

part() {  # part NAME MAX_SECONDS MIN_SECONDS ARGS...: run one part within the budget
  local name=$1 max=$2 need=$3
  shift 3
  local left=$(( BUDGET - (SECONDS - START) ))
  if (( left < need )); then
    echo "=== $name: SKIPPED (${left} s of the ${BUDGET} s budget left, needs ${need})"
    return 0
  fi
  local limit=$(( max < left ? max : left ))
  echo "=== $name (limit ${limit} s, $(( SECONDS - START )) s elapsed)"
  local t0=$SECONDS
  timeout --kill-after=5 "$limit" "$PY" benchmarks/batched_grid.py "$@" "${COMMON[@]}"
  local rc=$?
  if (( rc == 124 || rc == 137 )); then
    echo "=== $name: TIMED OUT after ${limit} s (figures above are partial)"
  elif (( rc != 0 )); then
    echo "=== $name: FAILED (exit $rc)"
  fi
  echo "=== $name took $(( SECONDS - t0 )) s"
}

echo "gpu_check: $(date -u +%FT%TZ), $(uname -n), $THREADS CPU threads, device $DEVICE, budget ${BUDGET} s"
"$PY" - <<'PYEOF'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())
if torch.cuda.is_available():
    print("gpu", torch.cuda.get_device_name(0))
PYEOF
part simulate 60 20 --part simulate
part caps 40 15 --part caps
part epochs 100 40 --part epochs
part grid 150 60 --part grid --workers "$WORKERS"
part seeds-float32-$SEEDS_TEN 200 60 --part seeds --seeds $SEEDS_TEN --precision float32
part seeds-bfloat16-$SEEDS_BF16 120 60 --part seeds --seeds $SEEDS_BF16 --precision bfloat16
part compare 20 5 --part compare
echo "gpu_check done in $(( SECONDS - START )) s; log and JSON in $OUT"
