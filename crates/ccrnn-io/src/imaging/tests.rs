//! Reading, checking and matching imaging recordings, and assembling them for a fit. NWB files
//! and NumPy string arrays are tested on files written by pynwb and NumPy (Python tests).

use super::*;
use crate::npz::write_npz;
use ccrnn_core::{Connectivity, Model, Sampling};
use ndarray::{Array1, Array2, array};

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

fn err(r: Result<impl std::fmt::Debug>) -> String {
    r.expect_err("should fail").to_string()
}

#[test]
fn a_csv_gives_times_labels_and_missing_values() {
    let d = dir();
    let p = d.path().join("rec.csv");
    write(&p, "time,AVAL,AVAR\n0.0,1.5,\n0.5,NaN,2\n1.0,3,4e-1\n");
    let im = read_imaging(&p, &ReadOptions::default()).unwrap();
    assert_eq!(im.labels, ["AVAL", "AVAR"]);
    assert_eq!(im.times, array![0.0, 0.5, 1.0]);
    assert_eq!(im.signal[[0, 0]], 1.5);
    assert!(im.signal[[0, 1]].is_nan() && im.signal[[1, 0]].is_nan());
    assert_eq!(im.signal[[2, 1]], 0.4);
    assert!((im.frame_rate() - 2.0).abs() < 1e-12);
    assert!((im.missing_fraction() - 2.0 / 6.0).abs() < 1e-12);
}

#[test]
fn bad_csvs_are_refused_naming_the_line_and_column() {
    let d = dir();
    let p = d.path().join("bad.csv");
    let cases = [
        ("AVAL,AVAR\n1,2\n", "line 1: expected a header 'time"),
        (
            "time,AVAL\n0,1\n1,x\n",
            "line 3, column \"AVAL\": \"x\" is not a number",
        ),
        ("time,AVAL\n0,1\n1,2,3\n", "line 3"),
        ("time,AVAL\n0,1\n,2\n", "line 3: the frame time is missing"),
        ("time,AVAL\n0,1\n0,2\n", "frame times must increase: frame 1"),
        ("time,AVAL,aval\n0,1,2\n", "ROIs 0 and 1 have the same label"),
        ("time,AVAL\n0,inf\n", "ROI \"AVAL\" at frame 0 is inf"),
        ("time,AVAL\n", "0 frames"),
    ];
    for (text, want) in cases {
        write(&p, text);
        let e = err(read_imaging(&p, &ReadOptions::default()));
        assert!(e.contains("bad.csv") && e.contains(want), "{text:?}: {e}");
    }
    let e = err(read_imaging(&d.path().join("missing.nwb"), &ReadOptions::default()));
    assert!(e.contains("missing.nwb"), "{e}");
    write(&d.path().join("x.txt"), "1");
    let e = err(read_imaging(&d.path().join("x.txt"), &ReadOptions::default()));
    assert!(e.contains("not an imaging file"), "{e}");
    write(&d.path().join("fake.nwb"), "not hdf5");
    let e = err(read_imaging(&d.path().join("fake.nwb"), &ReadOptions::default()));
    assert!(e.contains("fake.nwb: not a readable HDF5/NWB file"), "{e}");
}

#[test]
fn a_labelled_npz_with_a_rate_or_times() {
    let d = dir();
    let p = d.path().join("rec.npz");
    let signal = array![[1.0f32, f32::NAN], [2.0, 3.0], [4.0, 5.0]];
    write_npz(&p, |z| {
        z.add("signal", &signal)?;
        z.add_text("labels", "ASHL\nASHR")?;
        z.add("rate", &ndarray::arr0(4.0))?;
        z.add("start", &ndarray::arr0(1.0))
    })
    .unwrap();
    let im = read_imaging(&p, &ReadOptions::default()).unwrap();
    assert_eq!(im.labels, ["ASHL", "ASHR"]);
    assert_eq!(im.times, array![1.0, 1.25, 1.5]);
    assert!(im.signal[[0, 1]].is_nan());
    write_npz(&p, |z| {
        z.add("signal", &signal)?;
        z.add_text("labels", "ASHL\nASHR")
    })
    .unwrap();
    let e = err(read_imaging(&p, &ReadOptions::default()));
    assert!(e.contains("neither an array 'times'"), "{e}");
    let with_rate = ReadOptions {
        frame_rate: Some(2.0),
        ..ReadOptions::default()
    };
    assert_eq!(read_imaging(&p, &with_rate).unwrap().times, array![0.0, 0.5, 1.0]);
    write_npz(&p, |z| {
        z.add("signal", &signal)?;
        z.add_text("labels", "ASHL")?;
        z.add("times", &array![0.0, 1.0, 2.0])
    })
    .unwrap();
    let e = err(read_imaging(&p, &ReadOptions::default()));
    assert!(e.contains("1 ROI labels for 2 ROIs"), "{e}");
}

fn npy<A: ndarray_npy::WritableElement, D: ndarray::Dimension>(path: &Path, a: &ndarray::Array<A, D>) {
    ndarray_npy::write_npy(path, a).expect("write npy");
}

#[test]
fn a_suite2p_folder_subtracts_neuropil_and_keeps_accepted_cells() {
    let d = dir();
    let plane = d.path().join("suite2p").join("plane0");
    std::fs::create_dir_all(&plane).unwrap();
    let f = Array2::from_shape_fn((3, 5), |(r, t)| (10 * r + t) as f32);
    let fneu = Array2::from_elem((3, 5), 1.0f32);
    npy(&plane.join("F.npy"), &f);
    npy(&plane.join("Fneu.npy"), &fneu);
    npy(&plane.join("iscell.npy"), &array![[1.0, 0.9], [0.0, 0.2], [1.0, 0.7]]);
    // the folder above the plane, without ops.npy: the frame rate must be given
    let e = err(read_imaging(d.path(), &ReadOptions::default()));
    assert!(e.contains("ops.npy") && e.contains("--frame-rate"), "{e}");
    let opts = ReadOptions {
        frame_rate: Some(10.0),
        ..ReadOptions::default()
    };
    let im = read_imaging(d.path(), &opts).unwrap();
    assert_eq!(im.labels, ["0", "2"]);
    assert_eq!(im.signal.dim(), (5, 2));
    assert!((im.signal[[4, 1]] - (24.0 - 0.7)).abs() < 1e-6);
    assert!((im.times[4] - 0.4).abs() < 1e-12);
    npy(&plane.join("iscell.npy"), &array![[1.0, 0.9], [0.0, 0.2]]);
    let e = err(read_imaging(&plane, &opts));
    assert!(e.contains("iscell.npy: 2 ROIs, but F.npy has 3"), "{e}");
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rois_match_neurons_by_label_and_the_rest_is_reported() {
    let neurons = names(&["AVAL", "AVAR", "RIML", "T4a", "T4a"]);
    let m = Matching::new(&names(&["avar", "XYZ", "T4a", " AVAL "]), &neurons, None).unwrap();
    assert_eq!(m.pairs, [(0, 1), (3, 0)]);
    assert_eq!(m.unmatched, ["XYZ"]);
    assert_eq!(m.ambiguous, ["T4a"]);
    assert_eq!(m.unrecorded, [2, 3, 4]);
    let s = m.summary(5);
    assert!(
        s.contains("2 ROIs matched") && s.contains("XYZ") && s.contains("T4a"),
        "{s}"
    );
    let e = Matching::new(&names(&["foo", "bar"]), &neurons, None).unwrap_err();
    assert!(e.contains("no ROI label matches") && e.contains("label table"), "{e}");
    let e = Matching::new(&names(&["AVAL", "aval "]), &neurons, None);
    assert!(e.is_err(), "two ROIs with one neuron's label are refused");
    // through a label table
    let d = dir();
    let t = d.path().join("table.csv");
    write(&t, "roi,neuron\ncell_1,RIML\nCELL_2,AVAL\n");
    let table = read_label_table(&t).unwrap();
    let m = Matching::new(&names(&["cell_2", "cell_1", "cell_9"]), &neurons, Some(&table)).unwrap();
    assert_eq!(m.pairs, [(0, 0), (1, 2)]);
    assert_eq!(m.unmatched, ["cell_9"]);
    write(&t, "roi,neuron\ncell_1\n");
    assert!(err(read_label_table(&t)).contains("line 2"));
}

/// A 4-neuron chain with 2 input channels and dt = 0.05.
fn model() -> Model<f32> {
    let w = array![
        [0.0f32, 0.0, 0.0, 0.0],
        [0.5, 0.0, 0.0, 0.0],
        [0.0, 0.5, 0.0, 0.0],
        [0.0, 0.0, 0.5, 0.0]
    ];
    let c = Connectivity::from_dense(w.view(), None, vec![0; 4]).unwrap();
    Model::builder(c)
        .w_in(Array2::from_elem((2, 4), 1.0))
        .dt(0.05)
        .build()
        .unwrap()
}

fn imaging(path: &str, labels: &[&str], frames: usize, rate: f64, start: f64) -> Imaging {
    Imaging {
        path: path.into(),
        source: "test".into(),
        times: Array1::from_iter((0..frames).map(|k| start + k as f64 / rate)),
        signal: Array2::from_shape_fn((frames, labels.len()), |(f, c)| (f * 10 + c) as f32),
        labels: names(labels),
        unit: String::new(),
    }
}

#[test]
fn sessions_with_different_recorded_neurons_make_one_observation() {
    let m = model();
    let keys = names(&["A", "B", "C", "D"]);
    let recs = [
        imaging("s0.csv", &["C", "A"], 6, 3.0, 10.0),
        imaging("s1.csv", &["B", "A", "Z"], 4, 3.0, 0.0),
    ];
    let s = assemble(&recs, &[], &m, &keys, None, &ObserveOptions::default()).unwrap();
    assert_eq!(s.recorded.indices(), [0, 1, 2]);
    assert_eq!(s.obs.data.shape(), [2, 6, 3]);
    // session 0 recorded C (column 2) and A (column 0); B is missing in it
    assert_eq!(s.obs.data[[0, 5, 2]], 50.0);
    assert_eq!(s.obs.data[[0, 5, 0]], 51.0);
    assert!(s.obs.data[[0, 0, 1]].is_nan());
    // session 1 has 4 frames: the rest is padding
    assert_eq!(s.obs.data[[1, 3, 1]], 30.0);
    assert!(s.obs.data[[1, 4, 0]].is_nan());
    assert_eq!(s.matchings[1].unmatched, ["Z"]);
    assert_eq!(s.start_s, [10.0, 0.0]);
    // the last frame is at 5/3 s = 33.3 steps of 0.05 s: steps 0..=34 and one spare
    assert_eq!(s.stim.steps(), 36);
    assert_eq!(s.stim.u.shape(), [2, 36, 2]);
    assert!(s.obs.profile_affine && s.obs.tau.as_ref().is_some_and(|t| (t[0] - 1.25).abs() < 1e-6));
    // in model units of 10 ms the same recording spans 100× the steps, and τ_ca is 125 units
    let opts = ObserveOptions {
        time_unit_s: 0.01,
        ..ObserveOptions::default()
    };
    let s = assemble(&recs, &[], &m, &keys, None, &opts).unwrap();
    assert_eq!(s.stim.steps(), 3336);
    assert!((s.obs.tau.as_ref().unwrap()[0] - 125.0).abs() < 1e-3);
    // one session across files, no affine map, a saturation
    let opts = ObserveOptions {
        one_session: true,
        affine: false,
        saturation: Some(0.5),
        indicator: None,
        ..ObserveOptions::default()
    };
    let s = assemble(&recs, &[], &m, &keys, None, &opts).unwrap();
    assert_eq!(s.obs.session, [0, 0]);
    assert!(!s.obs.profile_affine && s.obs.scale.is_none() && s.obs.tau.is_none());
    assert_eq!(s.obs.saturation.as_ref().unwrap().to_vec(), [0.5; 3]);
    let bad = ObserveOptions {
        saturation: Some(0.0),
        ..ObserveOptions::default()
    };
    let e = err(assemble(&recs, &[], &m, &keys, None, &bad));
    assert!(e.contains("half-saturation constant 0"), "{e}");
}

#[test]
fn frames_faster_than_the_model_step_are_refused_naming_the_file() {
    let m = model();
    let keys = names(&["A", "B", "C", "D"]);
    let recs = [
        imaging("slow.csv", &["A"], 5, 3.0, 0.0),
        imaging("fast.csv", &["B"], 5, 30.0, 0.0),
    ];
    let e = err(assemble(&recs, &[], &m, &keys, None, &ObserveOptions::default()));
    assert!(e.starts_with("fast.csv") && e.contains("dt = 0.05"), "{e}");
    let e = err(assemble(
        &recs[..1],
        &[],
        &m,
        &names(&["x", "y", "z", "w"]),
        None,
        &ObserveOptions::default(),
    ));
    assert!(e.starts_with("slow.csv") && e.contains("no ROI label matches"), "{e}");
}

#[test]
fn inputs_are_held_on_the_model_steps_from_each_session_start() {
    let d = dir();
    let p = d.path().join("in.csv");
    write(&p, "time,left,right\n10.0,1,0\n10.1,2,0\n10.3,0,5\n");
    let i = read_inputs(&p).unwrap();
    let u = i.held(8, 10.0, 0.05);
    assert_eq!(u.column(0).to_vec(), [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0]);
    assert_eq!(u.column(1).to_vec(), [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 5.0]);
    // before the first sample: zero
    assert_eq!(i.held(3, 9.95, 0.05).column(0).to_vec(), [0.0, 1.0, 1.0]);
    let m = model();
    let keys = names(&["A", "B", "C", "D"]);
    let recs = [imaging("s.csv", &["A"], 4, 3.0, 10.0)];
    let s = assemble(
        &recs,
        std::slice::from_ref(&i),
        &m,
        &keys,
        None,
        &ObserveOptions::default(),
    )
    .unwrap();
    assert_eq!(s.stim.u[[0, 2, 0]], 2.0);
    write(&p, "time,left\n0,1\n");
    let one = read_inputs(&p).unwrap();
    let e = err(assemble(&recs, &[one], &m, &keys, None, &ObserveOptions::default()));
    assert!(e.contains("1 input channels, but the model has 2"), "{e}");
    write(&p, "time,left\n0,\n");
    assert!(err(read_inputs(&p)).contains("missing (NaN)"));
    let sampling = ObserveOptions::parse("gcamp6f", None, true, 1.0, "frame-average", str::to_string).unwrap();
    assert_eq!(sampling.sampling, Sampling::FrameAverage);
    assert!(sampling.fit_tau && sampling.indicator.unwrap().tau_s == 0.7);
    let e = ObserveOptions::parse("gcamp9", None, false, 1.0, "instant", |o| format!("--{o}")).unwrap_err();
    assert!(e.starts_with("--indicator \"gcamp9\"") && e.contains("gcamp6s"), "{e}");
    let e = ObserveOptions::parse("none", Some(1.0), false, 1.0, "instant", str::to_string).unwrap_err();
    assert!(e.contains("do not apply"), "{e}");
}
