"""The paper's student recipe in PyTorch, on a problem written by ccrnn (not for CI).

Reads `problem.npz` from `cargo run --release -p ccrnn-lab --example time_to_fit -- --out DIR`
(teacher W, W_in, tau, beta, h0, dt; the student's initial g and b; the recorded neurons; the
training inputs and recorded activity; held-out inputs and the teacher's held-out activity) and
fits g and b as the paper's code does: an eager time loop, autograd, torch.optim.Adam lr 1e-3,
gradient-norm clip 2, minibatches of 32 of the 60 trials, training noise 0.002, 7000 steps.

    python bench/torch_fit.py DIR/problem.npz [--steps 7000] [--threads 2] [--eval-every-s 10]

Prints one JSON line: fit seconds (evaluations excluded), the unrecorded MSE on the held-out
trials (noise-free rollouts, as ccrnn's `evaluate`) and its curve
`[seconds, step, unrecorded MSE]`.
"""
import argparse
import json
import time

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problem")
    ap.add_argument("--steps", type=int, default=7000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--eval-every-s", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    z = np.load(a.problem)
    f = lambda k: torch.tensor(np.asarray(z[k], dtype=np.float32))
    W, Win, tau, beta, h0 = f("w"), f("w_in"), f("tau"), f("beta"), f("h0")
    dt = float(z["dt"])
    alpha = dt / tau
    rec = torch.tensor(z["recorded"].astype(np.int64))
    n = W.shape[0]
    unrec = torch.tensor(np.setdiff1d(np.arange(n), z["recorded"]))
    train_u, train_a, held_u, held_a = f("train_u"), f("train_a"), f("held_u"), f("held_a")
    WT = W.T.contiguous()

    def simulate(g, bias, u, noise_std):
        b, t_len, _ = u.shape
        drive = u @ Win
        noise = noise_std * torch.randn(b, t_len, n) if noise_std > 0 else None
        h = h0.expand(b, n)
        gp = torch.relu(g)
        acts = []
        for i in range(t_len):
            act = gp * torch.nn.functional.softplus(beta * (h + bias)) / beta
            acts.append(act)
            if i + 1 < t_len:
                h = h + alpha * (-h + act @ WT + drive[:, i])
                if noise is not None:
                    h = h + noise[:, i]
        return torch.stack(acts, dim=1)

    def unrecorded_mse(g, bias):
        with torch.no_grad():
            s = simulate(g, bias, held_u, 0.0)
            return float(((s[:, :, unrec] - held_a[:, :, unrec]) ** 2).mean())

    g = torch.nn.Parameter(f("g_init"))
    bias = torch.nn.Parameter(f("b_init"))
    opt = torch.optim.Adam([g, bias], lr=1e-3)
    trials = train_u.shape[0]
    curve = [[0.0, 0, unrecorded_mse(g, bias)]]
    fit_s, next_eval = 0.0, a.eval_every_s
    for step in range(1, a.steps + 1):
        t0 = time.perf_counter()
        idx = torch.randperm(trials)[:32]
        opt.zero_grad()
        out = simulate(g, bias, train_u[idx], 0.002)
        loss = ((out[:, :, rec] - train_a[idx]) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([g, bias], 2.0)
        opt.step()
        fit_s += time.perf_counter() - t0
        if fit_s >= next_eval or step == a.steps:
            curve.append([fit_s, step, unrecorded_mse(g, bias)])
            next_eval = fit_s + a.eval_every_s
    print(json.dumps({"impl": "pytorch", "version": torch.__version__, "method": "adam (paper recipe)",
                      "threads": torch.get_num_threads(), "steps": a.steps, "seconds": fit_s,
                      "unrecorded_mse": curve[-1][2], "curve": curve}))


if __name__ == "__main__":
    main()
