"""PyTorch reference for the sparse training step (not for CI).

Reads `sparse.npz` from `cargo run --release -p ccrnn-lab --example bench_sparse -- --out DIR`
(W as CSR arrays, W_in, inputs, recorded neurons and their activity) and times one training
step of g and b on it, written as the paper's code would be with a sparse W: an eager time
loop with `torch.sparse_csr_tensor` products, autograd, Adam lr 1e-3 with clip 2, all trials in
one step, noise 0.002, softplus beta = 1, presynaptic gain.

    python bench/torch_sparse.py DIR/sparse.npz [--reps 5] [--threads 2]

Prints one JSON line with the median seconds per step.
"""
import argparse
import json
import time
import warnings

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problem")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    z = np.load(a.problem)
    f = lambda k: torch.tensor(np.asarray(z[k], dtype=np.float32))
    n = len(z["indptr"]) - 1
    W = torch.sparse_csr_tensor(torch.tensor(z["indptr"]), torch.tensor(z["indices"]), f("data"), size=(n, n))
    Win, U, target = f("w_in"), f("u"), f("target")
    dt = float(z["dt"])
    rec = torch.tensor(z["recorded"].astype(np.int64))
    b, t_len, _ = U.shape
    drive = U @ Win

    def simulate(g, bias, noise_std):
        noise = noise_std * torch.randn(b, t_len, n)
        h = torch.zeros(b, n)
        gp = torch.relu(g)
        acts = []
        for i in range(t_len):
            act = gp * torch.nn.functional.softplus(h + bias)
            acts.append(act)
            if i + 1 < t_len:
                h = h + noise[:, i] + dt * (-h + (W @ act.T).T + drive[:, i])
        return torch.stack(acts, dim=1)

    rng = np.random.default_rng(5)
    g = torch.nn.Parameter(f("g")[torch.tensor(rng.permutation(n))] * 0.5)
    bias = torch.nn.Parameter(f("b")[torch.tensor(rng.permutation(n))])
    opt = torch.optim.Adam([g, bias], lr=1e-3)
    times = []
    for r in range(a.reps + 1):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = ((simulate(g, bias, 0.002)[:, :, rec] - target) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([g, bias], 2.0)
        opt.step()
        if r >= 1:  # warm-up
            times.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch", "version": torch.__version__, "n": n, "nnz": int(len(z["data"])),
                      "trials": b, "steps": t_len, "threads": torch.get_num_threads(),
                      "step_s": float(np.median(times))}))


if __name__ == "__main__":
    main()
