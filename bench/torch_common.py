"""What the PyTorch references share: timing the paper's training step (not for CI)."""
import time

import torch


def time_training_steps(simulate, g, bias, rec, target, reps, warmup):
    """Seconds of each of `reps` training steps of g and bias after `warmup` untimed ones: the
    recorded neurons' mean squared error, backpropagation, gradient clipping at norm 2 and an
    Adam step with lr 1e-3 (the paper's recipe, all trials in one step, noise 0.002)."""
    opt = torch.optim.Adam([g, bias], lr=1e-3)
    times = []
    for r in range(reps + warmup):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = ((simulate(g, bias, 0.002)[:, :, rec] - target) ** 2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([g, bias], 2.0)
        opt.step()
        if r >= warmup:
            times.append(time.perf_counter() - t0)
    return times
