"""PyTorch references for the sparse training step (not for CI).

Reads `sparse.npz` from `cargo run --release -p ccrnn-lab --example bench_sparse -- --out DIR`
(W as CSR arrays, W_in, inputs, recorded neurons and their activity) and times one training
step of g and b on it: an eager time loop, Adam lr 1e-3 with clip 2, all trials in one step,
noise 0.002, softplus beta = 1, presynaptic gain. Two ways of writing the sparse product:

- `custom-fn` (the fair reference, what a competent PyTorch user writes): a
  `torch.autograd.Function` whose forward is `torch.mm(W, X)` and whose backward is
  `torch.mm(Wt, G)`, W and its transpose both precomputed as CSR tensors; activity kept
  neuron-major (N × trials) so that no product needs a transpose; noise drawn up front.
- `autograd-csr` (the naive one): `W @ act.T` with W a `torch.sparse_csr_tensor` and autograd
  through the sparse product, which PyTorch differentiates slowly.

    python bench/torch_sparse.py DIR/sparse.npz [--reps 5] [--threads 2] [--impl custom-fn,autograd-csr]

Prints one JSON line per implementation with the median seconds per step (the first step of
each is a warm-up and not counted), all timed in this one process.
"""
import argparse
import json
import warnings

import numpy as np
import torch
from torch_common import time_training_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("problem")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--impl", default="custom-fn,autograd-csr")
    a = ap.parse_args()
    warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
    warnings.filterwarnings("ignore", message=".*Sparse invariant checks are implicitly disabled.*")
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

    wt = W.to_sparse_coo().t().coalesce().to_sparse_csr()  # Wᵀ, precomputed once

    class SpMM(torch.autograd.Function):
        """X ↦ W X (X: N × trials) with the backward G ↦ Wᵀ G."""

        @staticmethod
        def forward(ctx, x):
            return torch.mm(W, x)

        @staticmethod
        def backward(ctx, grad):
            return torch.mm(wt, grad)

    drive_t = drive.permute(1, 2, 0).contiguous()  # T × N × B

    def simulate_custom(g, bias, noise_std):
        """The custom-function version: activity N × trials, noise drawn up front."""
        noise = noise_std * torch.randn(t_len, n, b)
        h = torch.zeros(n, b)
        gp = torch.relu(g)[:, None]
        acts = []
        for i in range(t_len):
            act = gp * torch.nn.functional.softplus(h + bias[:, None])
            acts.append(act)
            if i + 1 < t_len:
                h = h + noise[i] + dt * (-h + SpMM.apply(act) + drive_t[i])
        return torch.stack(acts, dim=0).permute(2, 0, 1)  # B × T × N

    def simulate_autograd(g, bias, noise_std):
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

    impls = {"custom-fn": simulate_custom, "autograd-csr": simulate_autograd}
    for name in a.impl.split(","):
        simulate = impls[name]
        rng = np.random.default_rng(5)
        g = torch.nn.Parameter(f("g")[torch.tensor(rng.permutation(n))] * 0.5)
        bias = torch.nn.Parameter(f("b")[torch.tensor(rng.permutation(n))])
        times = time_training_steps(simulate, g, bias, rec, target, a.reps, warmup=1)
        print(json.dumps({"impl": "pytorch", "variant": name, "version": torch.__version__, "n": n,
                          "nnz": int(len(z["data"])), "trials": b, "steps": t_len,
                          "threads": torch.get_num_threads(), "step_s": float(np.median(times)),
                          "step_min_s": float(np.min(times))}), flush=True)


if __name__ == "__main__":
    main()
