"""The command line's `ccrnn demo` from Python: the same teacher, students, seeds and table.

    python crates/ccrnn-py/examples/demo_table.py          # about 4 minutes on 2 cores

An N = 300 E/I teacher trained 700 steps on the sine task; students fitted 600 steps to the
readout only or to M = 1, 4, 16, 64 recorded neurons of its noisy activity; scores on held-out
trials against the shuffle baseline. The numbers equal `ccrnn demo`'s to the last digit.
"""

import time

import ccrnn


def main(seed=0):
    t0 = time.time()
    teacher = ccrnn.ei_teacher(300, seed=seed, steps=700, callback=ccrnn.progress_bar(700, "teacher"))
    train, _ = ccrnn.sine_task(60, seed=seed + 200)
    heldout, _ = ccrnn.sine_task(60, seed=seed + 300)
    ms = [0, 1, 4, 16, 64]
    total = 600 * len(ms)
    bar = ccrnn.progress_bar(total, "students")
    res = ccrnn.study(
        teacher, train, heldout, ms=ms, steps=600, lr=0.01, seed=seed,
        callback=lambda row, step, loss: bar(row * 600 + step, loss),
    )
    print(f"\nN = 300 E/I teacher; students fitted 600 steps; scores on held-out trials, noise-free ({time.time() - t0:.0f} s)\n")
    head = ["M", "recorded MSE", "unrecorded MSE", "rec 1-|ρ|", "unrec 1-|ρ|", "readout MSE", "gain RMSE", "bias RMSE"]
    print("".join(f"{h:>15}" for h in head))
    for m, r in zip(ms, res["rows"]):
        name = "readout" if m == 0 else str(m)
        rec = "—" if m == 0 else f"{r['recorded_mse']:.4f}"
        rcorr = "—" if m == 0 else f"{r['recorded_corr_err']:.3f}"
        print(
            f"{name:>15}{rec:>15}{r['unrecorded_mse']:>15.4f}{rcorr:>15}{r['unrecorded_corr_err']:>15.3f}"
            f"{r['readout_mse']:>15.5f}{r['gain_rmse']:>15.3f}{r['bias_rmse']:>15.4f}"
        )
    b = res["baseline"]
    print(
        f"{'shuffle':>15}{'':>15}{b['shuffle_mse']:>15.4f}{'':>15}{b['shuffle_corr_err']:>15.3f}"
        f"{'':>15}{b['shuffle_gain_rmse']:>15.3f}{b['shuffle_bias_rmse']:>15.4f}"
    )


if __name__ == "__main__":
    main()
