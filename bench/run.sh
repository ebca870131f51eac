#!/usr/bin/env bash
# Benchmark one training step (forward + backpropagation + Adam, 60 trials, N = 300, T = 400,
# M = 30, f32) of ccrnn against the independent PyTorch implementation in torch_step.py,
# both measured now, on this machine, with the same thread count. Not part of CI.
#
#   bash bench/run.sh [THREADS]        (default 2)
#
# Creates bench/.venv with torch and numpy from PyPI on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
if [ ! -x bench/.venv/bin/python ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q numpy torch
fi
cargo build --release -q -p ccrnn-lab --example bench_step
ours=$(RAYON_NUM_THREADS="$threads" target/release/examples/bench_step --reps 20)
theirs=$(bench/.venv/bin/python bench/torch_step.py --threads "$threads" --reps 20)
echo "$ours"
echo "$theirs"
python3 - "$ours" "$theirs" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"\n| implementation | threads | s / step |\n|---|---|---|")
print(f"| ccrnn | {o['threads']} | {o['step_s']:.4f} |")
print(f"| PyTorch {t['version']} eager | {t['threads']} | {t['step_s']:.4f} |")
print(f"\nccrnn / PyTorch = {o['step_s'] / t['step_s']:.3f}  (PyTorch is {t['step_s'] / o['step_s']:.2f}x slower)")
PY
