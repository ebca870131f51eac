"""Imaging files written by the real libraries, for the tests: NWB 2.x by pynwb, a suite2p-style
folder by NumPy, a labelled CSV; and synthetic calcium imaging of a model's activity (the
ground-truth set-up of docs/recordings.md: a unit-gain first-order indicator filter, frames at
their own rate, a scale and offset per neuron, noise, missing entries)."""

import datetime

import numpy as np


def image(activity, dt_s, *, tau_s=1.25, rate_hz=3.0, missing=0.1, noise=0.1, seed=0):
    """Calcium imaging of ``activity`` (time × neurons, sampled every ``dt_s`` seconds): the
    indicator ``c_{t+1} = γ c_t + (1 − γ) a_t`` (``c_0 = a_0``, ``γ = exp(−dt/τ)``), read at
    ``rate_hz`` frames by linear interpolation, then ``s · c + o`` with ``s ~ U(0.5, 2)``,
    ``o ~ U(−0.2, 0.2)``, Gaussian noise of ``noise`` × each neuron's SD and a fraction
    ``missing`` of entries NaN. Returns (times (F,), signal (F, neurons), scale, offset)."""
    rng = np.random.default_rng(seed)
    a = np.asarray(activity, dtype=np.float64)
    steps, n = a.shape
    g = np.exp(-dt_s / tau_s)
    c = np.empty_like(a)
    c[0] = a[0]
    for t in range(steps - 1):
        c[t + 1] = g * c[t] + (1 - g) * a[t]
    span = (steps - 1) * dt_s
    times = np.arange(0.0, span + 1e-9, 1.0 / rate_hz)
    x = times / dt_s
    k = np.minimum(np.floor(x).astype(int), steps - 2)
    w = (x - k)[:, None]
    framed = (1 - w) * c[k] + w * c[k + 1]
    scale = rng.uniform(0.5, 2.0, n)
    offset = rng.uniform(-0.2, 0.2, n)
    y = scale * framed + offset
    y += noise * y.std(axis=0, keepdims=True) * rng.standard_normal(y.shape)
    y[rng.random(y.shape) < missing] = np.nan
    return times, y.astype(np.float32), scale, offset


def write_nwb(path, times, signal, labels, *, rate=None, label_column="neuron_name", interface="DfOverF", extra_series=False):
    """An NWB file with one RoiResponseSeries (``timestamps``, or ``rate`` if given) under
    /processing/ophys/<interface>, its ROIs labelled in the PlaneSegmentation column
    ``label_column``."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

    nwb = NWBFile(
        session_description="ccrnn test",
        identifier=str(path),
        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    )
    device = nwb.create_device(name="microscope")
    channel = OpticalChannel(name="green", description="GCaMP", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(
        name="plane", optical_channel=channel, imaging_rate=3.0, description="head",
        device=device, excitation_lambda=920.0, indicator="GCaMP6s", location="head",
    )
    ophys = nwb.create_processing_module(name="ophys", description="optical physiology")
    seg = ImageSegmentation()
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="PlaneSegmentation", description="ROIs", imaging_plane=plane)
    ps.add_column(name=label_column, description="neuron label")
    for lab in labels:
        ps.add_roi(image_mask=np.ones((2, 2)), **{label_column: str(lab)})
    region = ps.create_roi_table_region(region=list(range(len(labels))), description="all ROIs")
    kw = {"rate": float(rate), "starting_time": float(times[0])} if rate else {"timestamps": np.asarray(times)}
    series = RoiResponseSeries(name="RoiResponseSeries", data=np.asarray(signal), rois=region, unit="n.a.", **kw)
    container = (DfOverF if interface == "DfOverF" else Fluorescence)(roi_response_series=series)
    ophys.add(container)
    if extra_series:
        region2 = ps.create_roi_table_region(region=list(range(len(labels))), description="all ROIs")
        raw = RoiResponseSeries(name="raw", data=np.asarray(signal) * 2, rois=region2, unit="a.u.", timestamps=np.asarray(times))
        ophys.add(Fluorescence(roi_response_series=raw))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)


def write_suite2p(folder, f, fneu, iscell, fs):
    """A suite2p plane folder: F.npy, Fneu.npy (ROIs × frames, float32), iscell.npy (ROIs × 2),
    ops.npy (a pickled dict with the frame rate ``fs``), as suite2p saves them."""
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "F.npy", np.asarray(f, dtype=np.float32))
    np.save(folder / "Fneu.npy", np.asarray(fneu, dtype=np.float32))
    np.save(folder / "iscell.npy", np.asarray(iscell, dtype=np.float64))
    np.save(folder / "ops.npy", {"fs": float(fs), "tau": 1.25, "nframes": int(np.shape(f)[1])}, allow_pickle=True)


def write_csv(path, times, signal, labels):
    """A CSV ``time,<label>,…`` with empty fields where the signal is NaN."""
    with open(path, "w") as out:
        out.write("time," + ",".join(labels) + "\n")
        for t, row in zip(times, signal):
            out.write(f"{float(t)!r}," + ",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
