#!/usr/bin/env bash
# ccrnn's benchmarks, each against an independent PyTorch implementation of the same equations
# measured in the same run, on this machine, with the same thread count. Not part of CI.
#
#   bash bench/run.sh [THREADS]            (default 2)
#   FULL=1 bash bench/run.sh               also ccrnn's own Adam recipe in the time-to-fit race
#   SKIP_FIT=1 / SKIP_FLYVIS=1             leave out the long parts
#   KEEP_TORCH_FIT=1                       reuse the PyTorch recipe's result of an earlier run
#                                          (its 7000 steps take about 18 minutes; the table says so)
#
# Writes bench/results/results.md (the table) and the raw JSON lines beside it. Creates
# bench/.venv with torch and numpy from PyPI on first use. Takes about 45 minutes on 2 cores,
# most of it the PyTorch recipe's 7000 steps.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
out=bench/results
mkdir -p "$out"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q numpy torch
fi
py=bench/.venv/bin/python
export RAYON_NUM_THREADS="$threads"
cargo build --release -q -p ccrnn-lab --example bench_step --example bench_sparse \
  --example time_to_fit --example bench_flyvis
ex=target/release/examples

echo "== dense step (N = 300, 60 trials × 400 steps)" >&2
$ex/bench_step --reps 20 > "$out/dense_ccrnn.json"
$py bench/torch_step.py --threads "$threads" --reps 20 > "$out/dense_torch.json"

echo "== sparse step (N = 3000, p = 0.05, 16 trials × 400 steps)" >&2
$ex/bench_sparse --reps 10 --out "$out" > "$out/sparse_ccrnn.json"
$py bench/torch_sparse.py "$out/sparse.npz" --threads "$threads" --reps 5 > "$out/sparse_torch.json"

if [ -z "${SKIP_FIT:-}" ]; then
  echo "== time to fit (N = 300, M = 30): ccrnn L-BFGS and Gauss-Newton vs the paper's recipe in PyTorch" >&2
  methods=lbfgs,gauss-newton
  [ -n "${FULL:-}" ] && methods=lbfgs,gauss-newton,adam
  $ex/time_to_fit --out "$out" --methods "$methods" --lbfgs-steps 1000 --gn-steps 50 --eval-every-s 1 > "$out/fit_ccrnn.jsonl"
  if [ -n "${KEEP_TORCH_FIT:-}" ] && [ -s "$out/fit_torch.json" ]; then
    echo "   (PyTorch recipe: kept from $(date -r "$out/fit_torch.json" '+%F %R'))" >&2
  else
    $py bench/torch_fit.py "$out/problem.npz" --threads "$threads" --eval-every-s 10 > "$out/fit_torch.json"
  fi
fi

if [ -z "${SKIP_FLYVIS:-}" ]; then
  echo "== flyvis: simulation at extent 89, students at extent 15" >&2
  $ex/bench_flyvis simulate --extent 89 --trials 1 --steps 20 > "$out/flyvis_sim.json"
  $ex/bench_flyvis student --extent 15 --trials 4 --steps 400 --m 1000 > "$out/flyvis_student.json"
  $ex/bench_flyvis student --extent 15 --trials 4 --steps 400 --m 1000 --memory-mb 256 > "$out/flyvis_student_ckpt.json"
fi

python3 bench/table.py "$out" | tee "$out/results.md"
