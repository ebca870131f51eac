"""Calcium-imaging recordings in the formats labs have them, written by the real libraries
(pynwb for NWB, NumPy for suite2p folders and labelled .npz, plain text for CSV): the command
line and Python read each to the arrays that were written; bad files give clear errors; a fit
through the observation model recovers a connectome teacher's unrecorded neurons."""

import json
import os

import numpy as np
import pytest

import ccrnn
import imaging_files as imf
from helpers import fails, run

# hdmf warns when a ROI region is made before its table is placed in the file; the files are valid
pytestmark = pytest.mark.filterwarnings("ignore:The linked table:UserWarning")


def needs_pynwb():
    try:
        import pynwb  # noqa: F401
    except ImportError:
        if os.environ.get("CCRNN_REQUIRE_PYNWB"):
            pytest.fail("pynwb is not installed (CCRNN_REQUIRE_PYNWB is set)")
        pytest.skip("pynwb is not installed")


def signal_with_gaps(frames=40, rois=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(frames, rois)).astype(np.float32)
    y[rng.random(y.shape) < 0.1] = np.nan
    return y


def same(a, b):
    """Equal arrays, NaN where the other has NaN."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(a[~np.isnan(a)], b[~np.isnan(b)])


def read_both(path, tmp_path, *flags, **kwargs):
    """The file as Python reads it and as `ccrnn imaging --out` writes it."""
    mine = ccrnn.read_imaging(path, **kwargs)
    run("imaging", str(path), *flags, "--out", "cli.npz", cwd=tmp_path)
    z = np.load(tmp_path / "cli.npz")
    cli = {"signal": z["signal"], "times": z["times"], "labels": bytes(z["labels"]).decode().split("\n")}
    return mine, cli


def test_nwb_written_by_pynwb_reads_the_same_in_python_and_on_the_command_line(tmp_path):
    needs_pynwb()
    y = signal_with_gaps()
    times = 0.25 + np.arange(40) / 3.0
    labels = ["AVAL", "AVAR", "RIML", "SMDVL", "cell_7"]
    imf.write_nwb(tmp_path / "ts.nwb", times, y, labels, extra_series=True)
    mine, cli = read_both(tmp_path / "ts.nwb", tmp_path)
    for got in (mine, cli):
        assert same(got["signal"], y) and got["signal"].dtype == np.float32
        assert np.allclose(got["times"], times) and got["labels"] == labels
    assert "DfOverF/RoiResponseSeries" in mine["source"], "DfOverF is preferred to Fluorescence"
    # the other series by name; a rate instead of timestamps; a label column of another name
    raw = ccrnn.read_imaging(tmp_path / "ts.nwb", series="raw")
    assert same(raw["signal"], 2 * y) and raw["unit"] == "a.u."
    imf.write_nwb(tmp_path / "rate.nwb", times, y, labels, rate=3.0, label_column="roi_name", interface="Fluorescence")
    mine, cli = read_both(tmp_path / "rate.nwb", tmp_path)
    for got in (mine, cli):
        assert np.allclose(got["times"], times) and got["labels"] == labels and same(got["signal"], y)
    ids = ccrnn.read_imaging(tmp_path / "rate.nwb", label_column="id")["labels"]
    assert ids == ["0", "1", "2", "3", "4"]


def test_bad_nwb_files_give_errors_naming_file_and_field(tmp_path):
    needs_pynwb()
    import h5py
    from pynwb import NWBHDF5IO, NWBFile
    import datetime

    nwb = NWBFile(session_description="none", identifier="x", session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    with NWBHDF5IO(str(tmp_path / "empty.nwb"), "w") as io:
        io.write(nwb)
    with pytest.raises(ccrnn.CcrnnError, match="empty.nwb: no RoiResponseSeries .*modules: none.*ophys module is expected"):
        ccrnn.read_imaging(tmp_path / "empty.nwb")
    assert "an ophys module is expected at /processing/ophys" in fails("imaging", "empty.nwb", cwd=tmp_path)
    y = signal_with_gaps()
    imf.write_nwb(tmp_path / "s.nwb", np.arange(40) / 3.0, y, ["a", "b", "c", "d", "e"], extra_series=True)
    with h5py.File(tmp_path / "s.nwb", "a") as f:
        del f["processing/ophys/DfOverF/RoiResponseSeries/timestamps"]
    with pytest.raises(ccrnn.CcrnnError, match="neither 'timestamps' nor 'starting_time'.*--frame-rate"):
        ccrnn.read_imaging(tmp_path / "s.nwb")
    assert np.allclose(ccrnn.read_imaging(tmp_path / "s.nwb", frame_rate=2.0)["times"], np.arange(40) / 2.0)
    with pytest.raises(ccrnn.CcrnnError, match="no RoiResponseSeries \"nope\".*DfOverF/RoiResponseSeries"):
        ccrnn.read_imaging(tmp_path / "s.nwb", series="nope")
    with pytest.raises(ccrnn.CcrnnError, match="no column \"name_x\""):
        ccrnn.read_imaging(tmp_path / "s.nwb", series="raw", label_column="name_x")


def test_a_suite2p_folder_reads_the_same_in_python_and_on_the_command_line(tmp_path):
    rng = np.random.default_rng(1)
    f = rng.uniform(100, 200, size=(6, 50))
    fneu = rng.uniform(10, 20, size=(6, 50))
    iscell = np.column_stack([[1, 0, 1, 1, 0, 1], rng.random(6)])
    imf.write_suite2p(tmp_path / "suite2p" / "plane0", f, fneu, iscell, fs=7.5)
    expected = (f - 0.7 * fneu)[[0, 2, 3, 5]].T
    mine, cli = read_both(tmp_path / "suite2p", tmp_path)
    for got in (mine, cli):
        assert np.allclose(got["signal"], expected, rtol=1e-6)
        assert got["labels"] == ["0", "2", "3", "5"]
        assert np.allclose(got["times"], np.arange(50) / 7.5)
    no_np = ccrnn.read_imaging(tmp_path / "suite2p", neuropil=0.0, frame_rate=10.0)
    assert np.allclose(no_np["signal"], f[[0, 2, 3, 5]].T.astype(np.float32))
    assert np.allclose(no_np["times"], np.arange(50) / 10.0)


def test_labelled_csv_and_npz_read_the_same_in_python_and_on_the_command_line(tmp_path):
    y = signal_with_gaps(frames=12, rois=3)
    times = np.arange(12) * 0.2
    labels = ["ASHL", "ASHR", "AIBL"]
    imf.write_csv(tmp_path / "rec.csv", times, y, labels)
    np.savez(tmp_path / "rec.npz", signal=y, labels=np.array(labels), times=times)
    for name in ("rec.csv", "rec.npz"):
        mine, cli = read_both(tmp_path / name, tmp_path)
        for got in (mine, cli):
            assert same(got["signal"], y) and np.allclose(got["times"], times) and got["labels"] == labels
    np.savez(tmp_path / "obj.npz", signal=y, labels=np.array(labels, dtype=object), times=times)
    with pytest.raises(ccrnn.CcrnnError, match="obj.npz: array 'labels': holds Python objects"):
        ccrnn.read_imaging(tmp_path / "obj.npz")


def connectome_teacher(tmp_path):
    """The C. elegans teacher with gap junctions (2 stimulus trials of 400 steps, dt 0.05)."""
    run("connectome", "teacher", "celegans", "--gap-junctions", "celegans", "--trials", "2", "--quiet", "--out", "T", cwd=tmp_path)
    teacher = ccrnn.Model.load(tmp_path / "T" / "teacher.npz")
    stim = np.load(tmp_path / "T" / "stimulus.npz")
    return teacher, stim


def test_labels_that_match_nothing_and_frames_faster_than_dt_are_refused(tmp_path):
    teacher, stim = connectome_teacher(tmp_path)
    assert teacher.labels[:2] == ["ADAL", "ADAR"], "model files keep the worm's neuron names"
    imf.write_csv(tmp_path / "x.csv", np.arange(5) / 3.0, np.ones((5, 2)), ["foo", "bar"])
    err = fails("imaging", "x.csv", "--model", "T/teacher.npz", cwd=tmp_path)
    assert "x.csv: no ROI label matches a neuron of the model" in err and "ADAL" in err
    imf.write_csv(tmp_path / "fast.csv", np.arange(5) / 100.0, np.ones((5, 2)), ["AVAL", "AVAR"])
    err = fails("fit", "--model", "T/teacher.npz", "--imaging", "fast.csv", "--out", "f", cwd=tmp_path)
    assert "fast.csv" in err and "dt = 0.05" in err
    assert not (tmp_path / "f").exists(), "nothing written for a refused fit"
    with pytest.raises(ccrnn.CcrnnError, match="fast.csv.*dt = 0.05"):
        ccrnn.fit_imaging(teacher, [tmp_path / "fast.csv"])
    with pytest.raises(ccrnn.CcrnnError, match="indicator \"gcamp9\""):
        ccrnn.fit_imaging(teacher, [tmp_path / "x.csv"], indicator="gcamp9")


@pytest.fixture(scope="module")
def worm_sessions(tmp_path_factory):
    """Two imaging sessions (GCaMP6s-like filter, 3 Hz, 10 % missing, scale, offset, noise) of
    different 60 % subsets of the worm teacher's neurons, as NWB files, with their inputs:
    (directory, teacher, stimulus, the neurons recorded in either)."""
    needs_pynwb()
    d = tmp_path_factory.mktemp("worm")
    teacher, stim = connectome_teacher(d)
    rng = np.random.default_rng(0)
    n = len(teacher.labels)
    seen = set()
    for b in range(2):
        rec = np.sort(rng.choice(n, int(0.6 * n), replace=False))
        seen |= set(rec.tolist())
        t, y, _, _ = imf.image(stim["activity"][b][:, rec], 0.05, seed=b)
        imf.write_nwb(d / f"s{b}.nwb", t, y, [teacher.labels[i] for i in rec])
        np.savez(d / f"in{b}.npz", inputs=stim["inputs"][b], times=np.arange(400) * 0.05)
    return d, teacher, stim, seen


SESSIONS = ["--imaging", "s0.nwb", "s1.nwb", "--inputs", "in0.npz", "in1.npz"]


def test_a_fit_through_the_indicator_predicts_the_unrecorded_neurons(worm_sessions):
    """The command line's and Python's fits are the same fit, and its prediction of the
    never-recorded neurons' activity beats the starting point's by far."""
    d, teacher, stim, seen = worm_sessions
    dt = 0.05
    n = len(teacher.labels)
    flags = [*SESSIONS, "--method", "gauss-newton", "--steps", "6"]
    doc = json.loads(run("fit", "--model", "T/teacher.npz", *flags, "--json", "--quiet", "--out", "f", cwd=d))
    res = ccrnn.fit_imaging(
        teacher, [d / "s0.nwb", d / "s1.nwb"], inputs=[d / "in0.npz", d / "in1.npz"], method="gauss-newton", steps=6,
    )
    assert res.final_loss == doc["final_loss"], "the same fit, step for step"
    p = res.prediction
    saved = np.load(d / "f" / "prediction.npz")
    assert np.array_equal(saved["activity"], p["activity"]) and list(saved["recorded"]) == p["recorded"]
    assert sorted(p["recorded"]) == sorted(seen) and p["activity"].shape == (2, 60, n)
    assert all(m["unmatched"] == [] for m in p["matchings"])
    unrec = [i for i in range(n) if i not in seen]

    def error(activity):
        """Median 1 − |ρ| of the never-recorded neurons against the teacher at the frames."""
        errs = []
        for i in unrec:
            truth = np.concatenate([np.interp(p["times"][b][:60] / dt, np.arange(400), stim["activity"][b][:, i]) for b in range(2)])
            pred = np.concatenate([activity[b][:60, i] for b in range(2)])
            if truth.std() > 1e-6 and pred.std() > 1e-6:
                errs.append(1 - abs(np.corrcoef(truth, pred)[0, 1]))
        return np.median(errs)

    fitted = error(p["activity"])
    init = ccrnn.Model.load(d / "f" / "initial.npz")
    a0 = init.simulate(np.ascontiguousarray(stim["inputs"], dtype=np.float32))["activity"]
    frames = np.stack([np.stack([np.interp(p["times"][b][:60] / dt, np.arange(400), a0[b][:, i]) for i in range(n)], axis=1) for b in range(2)])
    initial = error(frames)
    assert fitted < 0.05 and fitted < initial / 3, (fitted, initial)
    assert np.nanmedian(p["one_minus_rho"]) < 0.05


def test_cross_validation_on_held_out_neurons(worm_sessions):
    """`ccrnn cv` and Python's `cross_validate` give the same scores; the connectome student
    predicts held-out neurons better than its shuffled labels and than no recurrence."""
    d, teacher, _, seen = worm_sessions
    flags = ["--folds", "2", "--steps", "4"]
    doc = json.loads(run("cv", "--model", "T/teacher.npz", *SESSIONS, *flags, "--json", "--quiet", "--out", "cv", cwd=d))
    r = ccrnn.cross_validate(
        teacher, [d / "s0.nwb", d / "s1.nwb"], inputs=[d / "in0.npz", d / "in1.npz"], folds=2, steps=4,
    )
    by = {s["model"]: s for s in r["summary"]}
    assert [s["model"] for s in doc["models"]] == ["connectome", "shuffled", "no-recurrence", "unconstrained"]
    for s in doc["models"]:
        assert s["median_corr"] == by[s["model"]]["median_corr"] and s["neurons"] == len(seen)
    rows = (d / "cv" / "cv.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 * len(seen) and rows[0].startswith("model,fold,neuron,label,corr,explained_variance")
    assert sorted(sum(r["folds"], [])) == sorted(seen)
    held = np.load(d / "cv" / "heldout.npz")
    assert np.array_equal(held["predicted"], r["predicted"], equal_nan=True)
    c, s, nr = by["connectome"], by["shuffled"], by["no-recurrence"]
    assert c["median_corr"] > 0.9 and c["median_corr"] > s["median_corr"] + 0.3, (c, s)
    assert c["median_corr"] > nr["median_corr"], (c, nr)
    for f in ("cv.png", "heldout_traces.png", "summary.json"):
        assert (d / "cv" / f).is_file()
    with pytest.raises(ccrnn.CcrnnError, match="folds"):
        ccrnn.cross_validate(teacher, [d / "s0.nwb"], inputs=[d / "in0.npz"], folds=1)
