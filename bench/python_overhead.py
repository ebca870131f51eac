"""Overhead of a Python call: `Model.simulate` from Python against the same Rust `simulate`
called repeatedly in one Rust process (`crates/ccrnn-lab/examples/bench_simulate.rs`), same
model, inputs and machine, in one run.

    cargo build --release -p ccrnn-lab --example bench_simulate
    python bench/python_overhead.py [--reps 15]     # needs the ccrnn package

Prints the medians, their difference and ratio, and the time of a 1-trial, 1-step call (the
fixed cost of crossing into Rust).
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

import ccrnn

ROOT = pathlib.Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "examples" / "bench_simulate"))
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    n = a.n
    signs = np.where(np.arange(n) < int(0.8 * n), 1, -1).astype(np.int8)
    mask = rng.random((n, n)) < 0.1
    w = (np.abs(rng.normal(size=(n, n))) * 2 / np.sqrt(0.1 * n) * signs[None, :] * mask).astype(np.float32)
    w[:, signs < 0] *= 4 * 0.8 / 0.2 / 4
    m = ccrnn.Model(w, mask=mask, signs=signs, w_in=rng.normal(size=(2, n)).astype(np.float32),
                    w_out=(rng.normal(size=(n, 1)) / n).astype(np.float32))
    u, _ = ccrnn.sine_task(60, seed=1)
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        m.save(d / "m.npz")
        np.savez(d / "in.npz", inputs=u)
        py = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            out = m.simulate(u)
            py.append(time.perf_counter() - t0)  # the arrays are freed after the timing, as in Rust
            del out
        out = subprocess.run([a.bin, str(d / "m.npz"), str(d / "in.npz"), str(a.reps)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)["median_seconds"]
    tiny = u[:1, :1]
    small = []
    for _ in range(200):
        t0 = time.perf_counter()
        m.simulate(tiny)
        small.append(time.perf_counter() - t0)
    p = statistics.median(py)
    print(f"N = {n}, 60 trials × 400 steps, median of {a.reps}:")
    print(f"  Python Model.simulate   {p * 1e3:8.2f} ms")
    print(f"  Rust simulate           {r * 1e3:8.2f} ms")
    print(f"  difference {1e3 * (p - r):+.2f} ms ({100 * (p - r) / r:+.1f} %), ratio {p / r:.3f}")
    print(f"  a 1-trial, 1-step call from Python: {statistics.median(small) * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
