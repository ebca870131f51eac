"""Independent PyTorch implementation of one ccrnn training step, for timing (not for CI).

The model of SCIENCE.md section 2 with presynaptic gain, written the way the paper's code
writes it: an eager time loop, autograd for the gradients, torch.optim.Adam with
gradient-norm clipping. Setting: N = 300 E/I network (mask density 0.5), T = 400 steps,
60 trials (all in one step), M = 30 recorded neurons, float32, noise 0.002, softplus beta = 1.

    python bench/torch_step.py [--n 300] [--trials 60] [--reps 20] [--threads 2]

Prints one JSON line with the median and the fastest seconds per step.
"""
import argparse
import json

import numpy as np
import torch
from torch_common import time_training_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--m", type=int, default=30)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    n, b, t_len, dt = a.n, a.trials, a.steps, 0.05
    n_exc = int(round(0.7 * n))
    sign = np.where(np.arange(n) < n_exc, 1.0, -1.0)
    mask = rng.random((n, n)) < 0.5
    w = mask * (2.4 * rng.standard_normal((n, n)) / np.sqrt(n) + 1.0 / n)
    w[:, sign < 0] *= 4
    w[w * sign[None, :] < 0] = 0
    w *= 0.5  # keep the benchmark network well inside the stable regime
    g_t = np.abs(1 + 0.4 * rng.standard_normal(n))
    b_t = rng.uniform(-0.1, 0.1, n)
    w_in = rng.standard_normal((2, n)) / dt
    u = np.zeros((b, t_len, 2))
    for k in range(b):
        u[k, rng.integers(40, 100), rng.integers(0, 2)] = 1.0

    f = lambda x: torch.tensor(x, dtype=torch.float32)
    W, Win, U = f(w), f(w_in), f(u)
    h0 = torch.zeros(n)
    rec = torch.tensor(rng.permutation(n)[: a.m])

    drive = U @ Win  # input currents of all steps at once, B x T x N
    WT = W.T.contiguous()

    def simulate(g, bias, noise_std):
        # as the paper's code does: all noise drawn up front, one fused update per step
        noise = noise_std * torch.randn(b, t_len, n)
        h = h0.expand(b, n)
        gp = torch.relu(g)
        acts = []
        for i in range(t_len):
            act = gp * torch.nn.functional.softplus(h + bias, beta=1.0)
            acts.append(act)
            if i + 1 < t_len:
                h = h + noise[:, i] + dt * (-h + act @ WT + drive[:, i])
        return torch.stack(acts, dim=1)

    with torch.no_grad():
        target = simulate(f(g_t), f(b_t), 0.002)[:, :, rec]
    g = torch.nn.Parameter(f(0.5 * rng.permutation(g_t)))
    bias = torch.nn.Parameter(f(rng.permutation(b_t)))
    times = time_training_steps(simulate, g, bias, rec, target, a.reps, warmup=3)
    print(json.dumps({"impl": "pytorch", "version": torch.__version__, "n": n, "trials": b, "steps": t_len,
                      "threads": torch.get_num_threads(), "step_s": float(np.median(times)),
                      "step_min_s": float(np.min(times))}))


if __name__ == "__main__":
    main()
