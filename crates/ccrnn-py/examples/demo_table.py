"""The command line's `ccrnn demo` from Python: the same teacher, students, seeds and numbers.

    python crates/ccrnn-py/examples/demo_table.py          # about 5 minutes on 2 cores

An N = 300 E/I teacher trained 700 steps on the sine task; for M = 0 (the readout only), 1, 4,
16, 64 recorded neurons, three students (own recorded neurons and initial point) fitted by
Gauss-Newton (at most 30 iterations) to its noisy activity on 20 trials; scores on 20 held-out
trials against the shuffle baseline: per M, the median over replicates and its range.
"""

import statistics
import time

import ccrnn


def main(seed=0):
    t0 = time.time()
    teacher = ccrnn.ei_teacher(300, seed=seed, steps=700, callback=ccrnn.progress_bar(700, "teacher"))
    streams = ccrnn.seeds(seed)  # the command line's named random streams
    train, _ = ccrnn.sine_task(20, seed=streams["train_stimulus"])
    heldout, _ = ccrnn.sine_task(20, seed=streams["heldout_stimulus"])
    ms, reps, cap = [0, 1, 4, 16, 64], 3, 30
    bar = ccrnn.progress_bar(cap * len(ms) * reps, "students")
    res = ccrnn.study(
        teacher, train, heldout, ms=ms, method="gauss-newton", steps=cap, replicates=reps, seed=seed,
        callback=lambda row, step, loss: bar(row * cap + min(step, cap), loss),
    )
    print(f"\nN = 300 E/I teacher; students by Gauss-Newton, at most {cap} iterations; {reps} replicates per M ({time.time() - t0:.0f} s)\n")
    head = ["M", "recorded MSE", "unrecorded MSE", "[min", "max]", "rec 1-|ρ|", "unrec 1-|ρ|", "[min", "max]", "converged"]
    print("".join(f"{h:>13}" for h in head))
    for m in ms:
        rows = [r for r in res["rows"] if len(r["recorded"]) == m]
        med = lambda k: statistics.median(r[k] for r in rows)
        lo = lambda k: min(r[k] for r in rows)
        hi = lambda k: max(r[k] for r in rows)
        name = "readout" if m == 0 else str(m)
        rec = "—" if m == 0 else f"{med('recorded_mse'):.4f}"
        rcorr = "—" if m == 0 else f"{med('recorded_corr_err'):.3f}"
        done = sum(r["stopped"] in ("converged", "target-reached") for r in rows)
        print(
            f"{name:>13}{rec:>13}{med('unrecorded_mse'):>13.3f}{lo('unrecorded_mse'):>13.3f}{hi('unrecorded_mse'):>13.3f}"
            f"{rcorr:>13}{med('unrecorded_corr_err'):>13.3f}{lo('unrecorded_corr_err'):>13.3f}"
            f"{hi('unrecorded_corr_err'):>13.3f}{f'{done}/{len(rows)}':>13}"
        )
    b = res["baseline"]
    print(f"{'shuffle':>13}{'':>13}{b['shuffle_mse']:>13.3f}{'':>39}{b['shuffle_corr_err']:>13.3f}")


if __name__ == "__main__":
    main()
