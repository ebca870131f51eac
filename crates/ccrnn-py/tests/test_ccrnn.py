"""The Python bindings: arrays cross with the right dtypes and shapes, results equal the
command line's for the same seed, bad arguments raise clear exceptions."""

import json
import os
import pathlib
import signal
import subprocess
import threading

import numpy as np
import pytest

import ccrnn
from helpers import cli, run

def small_model(n=12, seed=0):
    rng = np.random.default_rng(seed)
    signs = np.where(np.arange(n) < n * 0.7, 1, -1).astype(np.int8)
    mask = rng.random((n, n)) < 0.5
    w = (np.abs(rng.normal(size=(n, n))) * 1.2 / np.sqrt(n) * signs[None, :] * mask).astype(np.float32)
    return ccrnn.Model(
        w,
        mask=mask,
        signs=signs,
        g=(1 + 0.2 * rng.normal(size=n)).astype(np.float32),
        b=(0.1 * rng.normal(size=n)).astype(np.float32),
        w_in=rng.normal(size=(2, n)).astype(np.float32),
        w_out=(rng.normal(size=(n, 1)) / n).astype(np.float32),
    )


def test_connectome_arrays_round_trip():
    ids = np.array([2**60 + 7, 5, 2**53 + 1], dtype=np.uint64)
    w = np.array([[0, 2, 0], [1, 0, 3], [0, 4, 0]], dtype=np.float64)
    c = ccrnn.connectome_from_matrix(w, signs=[1, -1, 0], ids=ids, labels=["a", "b", "c"])
    assert (c.n, c.n_edges, c.synapses) == (3, 4, 10.0)
    assert c.ids.dtype == np.uint64 and list(c.ids) == list(ids), "64-bit ids survive exactly"
    assert c.signs.dtype == np.int8 and list(c.signs) == [1, -1, 0]
    assert c.labels == ["a", "b", "c"]
    data, indices, indptr = c.csr()
    assert (data.dtype, indices.dtype, indptr.dtype) == (np.float64, np.int64, np.int64)
    dense = np.zeros((3, 3))
    for i in range(3):
        dense[i, indices[indptr[i] : indptr[i + 1]]] = data[indptr[i] : indptr[i + 1]]
    assert np.array_equal(dense, w)
    scipy = pytest.importorskip("scipy.sparse")
    c2 = ccrnn.connectome_from_matrix(scipy.csr_matrix(w))
    assert np.array_equal(c2.csr()[0], data)
    worm = ccrnn.Connectome.load("celegans")
    assert (worm.n, worm.n_edges) == (302, 3671)
    assert json.loads(worm.report_json)["self_loops"] == 38


def test_model_arrays_save_and_load(tmp_path):
    m = small_model()
    assert (m.n, m.n_in, m.n_out) == (12, 2, 1)
    for name in ["g", "b", "tau", "h0"]:
        a = getattr(m, name)
        assert a.dtype == np.float32 and a.shape == (12,), name
    assert m.w_in.shape == (2, 12) and m.w_out.shape == (12, 1) and m.weights().shape == (12, 12)
    assert m.beta == 1.0, "global softplus smoothness by default"
    per = ccrnn.Model(m.weights(), beta=np.linspace(0.5, 2, 12, dtype=np.float32))
    assert per.beta.shape == (12,) and per.beta.dtype == np.float32
    m.save(tmp_path / "m.npz")
    z = np.load(tmp_path / "m.npz")
    assert np.array_equal(z["g"], m.g), "NumPy reads the model file"
    back = ccrnn.Model.load(tmp_path / "m.npz")
    for name in ["g", "b", "tau", "h0", "w_in", "w_out", "signs"]:
        assert np.array_equal(getattr(back, name), getattr(m, name)), name
    assert np.array_equal(back.weights(), m.weights())
    u, y = ccrnn.sine_task(5, seed=3)
    assert u.shape == (5, 400, 2) and y.shape == (5, 400, 1) and u.dtype == np.float32
    r = m.simulate(u)
    assert r["activity"].shape == (5, 400, 12) and r["activity"].dtype == np.float32
    assert r["readout"].shape == (5, 400, 1)
    assert np.array_equal(back.simulate(u)["activity"], r["activity"])


def test_simulation_equals_the_command_line(tmp_path):
    m = small_model(seed=1)
    m.save(tmp_path / "m.npz")
    u, _ = ccrnn.sine_task(6, seed=4)
    np.savez(tmp_path / "in.npz", inputs=u)
    run("simulate", "m.npz", "--inputs", "in.npz", "--noise", "0.01", "--seed", "3", "--quiet", "--out", "s", cwd=tmp_path)
    from_cli = np.load(tmp_path / "s" / "trajectory.npz")["activity"]
    mine = m.simulate(u, noise=0.01, seed=3)["activity"]
    assert np.array_equal(mine, from_cli), "same model, inputs and seed: the same numbers"


def teacher_recording_and_cli_fit(tmp_path, *flags):
    """A small teacher, its noisy recording, and the command line's fit to 10 of its neurons
    (with `flags`): (teacher, recording, the fit's JSON document)."""
    teacher = ccrnn.ei_teacher(40, seed=2, steps=20)
    teacher.save(tmp_path / "t.npz")
    u, _ = ccrnn.sine_task(16, seed=200)
    rec = teacher.simulate(u, noise=0.002, seed=1)
    np.savez(tmp_path / "rec.npz", inputs=u, activity=rec["activity"], recorded=np.arange(40))
    out = run(
        "fit", "--model", "t.npz", "--recording", "rec.npz", "--m", "10", "--steps", "25", "--lr", "0.01",
        "--seed", "4", "--quiet", "--json", *flags, "--out", "f", cwd=tmp_path,
    )
    return teacher, rec, json.loads(out)


def test_fit_equals_the_command_line(tmp_path):
    teacher, rec, doc = teacher_recording_and_cli_fit(tmp_path)
    res = ccrnn.fit(teacher, rec, m=10, steps=25, lr=0.01, seed=4)
    assert res.model.recorded == doc["recorded"]
    assert res.termination == "MaxSteps" and not res.interrupted
    assert res.losses.dtype == np.float64 and list(res.steps) == [1, 10, 20] and res.final_step == 25
    assert res.final_loss == doc["final_loss"], "the same fit, step for step"
    student = ccrnn.Model.load(tmp_path / "f" / "student.npz")
    assert np.array_equal(student.g, res.model.g) and np.array_equal(student.b, res.model.b)
    held, _ = ccrnn.sine_task(16, seed=300)
    a = ccrnn.evaluate(teacher, res.model, held)
    b = ccrnn.evaluate(teacher, student, held)
    assert a["unrecorded_mse"] == b["unrecorded_mse"] and a["m"] == 10


def test_reproducible_mode_equals_the_command_line(tmp_path):
    teacher, rec, doc = teacher_recording_and_cli_fit(tmp_path, "--reproducible")
    meta = json.loads((tmp_path / "f" / "meta.json").read_text())
    assert meta["reproducible"] and meta["matmul_kernels"] == "fixed-order"
    assert not ccrnn.reproducible()
    ccrnn.set_reproducible(True)
    try:
        assert ccrnn.reproducible()
        res = ccrnn.fit(teacher, rec, m=10, steps=25, lr=0.01, seed=4)
    finally:
        ccrnn.set_reproducible(False)
    assert res.final_loss == doc["final_loss"], "the same fixed-order fit, step for step"
    student = ccrnn.Model.load(tmp_path / "f" / "student.npz")
    assert np.array_equal(student.g, res.model.g) and np.array_equal(student.b, res.model.b)


def test_keyboard_interrupt_stops_cleanly_with_the_best_parameters():
    teacher = small_model(seed=5)
    u, _ = ccrnn.sine_task(8, seed=1)
    rec = teacher.simulate(u)

    def stop_at_7(step, loss):
        if step >= 7:
            raise KeyboardInterrupt

    res = ccrnn.fit(teacher, rec, steps=50, lr=0.01, callback=stop_at_7, report_every=1)
    assert res.interrupted and res.termination == "Stopped" and res.final_step == 7
    assert np.all(np.isfinite(res.model.g))
    # A real Ctrl-C (SIGINT from another thread) during a longer fit. Python's own handler is
    # installed explicitly: a process started in the background by a non-interactive shell
    # inherits SIGINT ignored, and Python then installs none.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
        timer.start()
        res = ccrnn.fit(teacher, rec, steps=200_000, lr=0.01)
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert res.interrupted and res.final_step < 200_000


def test_theory_functions():
    m = small_model(seed=6)
    u, _ = ccrnn.sine_task(4, seed=2)
    gn = ccrnn.gauss_newton(m, u, neurons=[0, 1, 2, 3])
    h = gn["H"]
    assert h.shape == (24, 24) and np.allclose(h, h.T)
    ev = gn["eigenvalues"]
    assert np.all(np.diff(ev) <= 1e-12) and ev[0] > 0
    p = ccrnn.prioritize(m, u, recorded=[0], n_random=3)
    assert sorted(p["order"]) == list(range(1, 12))
    assert p["remaining"][-1] <= p["worst"][0] + 1e-12


def test_bad_arguments_raise_clear_exceptions(tmp_path):
    m = small_model()
    u, _ = ccrnn.sine_task(2, seed=0)
    with pytest.raises(ccrnn.CcrnnError, match="inputs: expected shape"):
        m.simulate(np.zeros((2, 10, 5), np.float32))
    bad = u.copy()
    bad[1, 3, 0] = np.nan
    with pytest.raises(ccrnn.CcrnnError, match="NaN"):
        m.simulate(bad)
    with pytest.raises(TypeError, match="nosuch"):
        m.simulate(u, nosuch=1)
    with pytest.raises(TypeError):
        m.simulate(u.astype(np.float64))  # float32 is required: a clear TypeError, no crash
    with pytest.raises(ccrnn.CcrnnError, match="missing.npz"):
        ccrnn.Model.load(tmp_path / "missing.npz")
    with pytest.raises(ccrnn.CcrnnError, match="zebrafish"):
        ccrnn.Connectome.load("zebrafish")
    with pytest.raises(ccrnn.CcrnnError, match="g: expected 12 neurons"):
        ccrnn.Model(m.weights(), g=np.ones(5, np.float32))
    with pytest.raises(ccrnn.CcrnnError, match="activation"):
        ccrnn.Model(m.weights(), activation="swish")
    rec = m.simulate(u)
    with pytest.raises(ccrnn.CcrnnError, match="m = 99"):
        ccrnn.fit(m, rec, m=99, steps=2)
    with pytest.raises(ccrnn.CcrnnError, match="expected \"adam\", \"lbfgs\" or \"gauss-newton\""):
        ccrnn.fit(m, rec, method="newton", steps=2)
    with pytest.raises(ccrnn.CcrnnError, match="lr"):
        ccrnn.fit(m, rec, lr=-1.0, steps=2)
    # how a student starts: the rule and the words of the command line's [student] section
    with pytest.raises(ccrnn.CcrnnError, match='init = "random": expected permuted or model'):
        ccrnn.fit(m, rec, init="random", steps=2)
    with pytest.raises(ccrnn.CcrnnError, match="student.gain_factor = 0: must be > 0"):
        ccrnn.fit(m, rec, gain_factor=0.0, steps=2)
    with pytest.raises(ccrnn.CcrnnError, match="columns"):
        ccrnn.fit(m, {"inputs": u, "activity": rec["activity"][:, :, :3]}, steps=2)


def test_neuron_selection_and_its_refusals_equal_the_command_lines(tmp_path):
    """The same recording file and the same choice of neurons: the command line and Python fit
    the same neurons to the same loss, or refuse with the same words (each in its own spelling:
    `--neurons`/`recorded`, `--m 5`/`m = 5`)."""
    m = small_model(seed=3)
    m.save(tmp_path / "m.npz")
    u, _ = ccrnn.sine_task(4, seed=8)
    act = m.simulate(u)["activity"]
    files = {
        "labelled.npz": dict(inputs=u, activity=act[:, :, [2, 5, 7, 9]], recorded=np.array([2, 5, 7, 9])),
        "full.npz": dict(inputs=u, activity=act),
        "narrow.npz": dict(inputs=u, activity=act[:, :, [9, 4, 6]]),
    }
    for name, arrays in files.items():
        np.savez(tmp_path / name, **arrays)
    cases = [
        ("labelled.npz", ["--neurons", "9,5"], dict(recorded=[9, 5])),
        ("labelled.npz", ["--m", "2"], dict(m=2)),
        ("labelled.npz", [], {}),
        ("full.npz", ["--m", "3"], dict(m=3)),
        ("full.npz", ["--neurons", "11,0"], dict(recorded=[11, 0])),
        ("narrow.npz", ["--neurons", "9,4,6"], dict(recorded=[9, 4, 6])),
        # refusals
        ("labelled.npz", ["--neurons", "3"], dict(recorded=[3])),
        ("labelled.npz", ["--m", "5"], dict(m=5)),
        ("labelled.npz", ["--neurons", "5,5"], dict(recorded=[5, 5])),
        ("narrow.npz", [], {}),
        ("narrow.npz", ["--neurons", "9,4"], dict(recorded=[9, 4])),
        ("full.npz", ["--neurons", "12"], dict(recorded=[12])),
    ]
    spelled = lambda msg: msg.replace("--neurons", "recorded").replace("--m ", "m = ")
    for i, (name, flags, kwargs) in enumerate(cases):
        out = subprocess.run(
            [cli(), "fit", "--model", "m.npz", "--recording", name, "--steps", "2", "--seed", "4",
             "--quiet", "--json", *flags, "--out", f"f{i}"],
            cwd=tmp_path, capture_output=True, text=True,
        )
        try:
            res = ccrnn.fit(m, dict(np.load(tmp_path / name)), steps=2, seed=4, **kwargs)
        except ccrnn.CcrnnError as e:
            assert out.returncode != 0, f"{name} {flags}: Python refused ({e}), the command line fitted"
            cli_msg = out.stderr.strip().splitlines()[-1].removeprefix("error: ").removeprefix(f"{name}: ")
            py_msg = str(e).removeprefix("recording: ")
            assert spelled(cli_msg) == py_msg, f"{name} {flags}"
            continue
        assert out.returncode == 0, f"{name} {flags}: the command line refused: {out.stderr}"
        doc = json.loads(out.stdout)
        assert res.model.recorded == doc["recorded"], f"{name} {flags}"
        assert res.final_loss == doc["final_loss"], f"{name} {flags}"


def test_named_seed_streams_are_the_command_lines():
    s = ccrnn.seeds(5)
    # The offsets ccrnn has always used (ccrnn_core::Seeds): the demo's held-out stimulus of
    # seed 5 is sine_task(seed=305), its students start from seed 6 and record from seed 7.
    assert (s["teacher_task"], s["train_stimulus"], s["heldout_stimulus"]) == (105, 205, 305)
    assert (s["student_init"], s["recorded_set"]) == (6, 7)
    assert s["shuffle"] == 5 ^ 0x5EED and s["recording_noise"] == 5 ^ 0xDA7A
