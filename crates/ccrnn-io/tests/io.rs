//! Round trips and bad input for the file formats.

use ccrnn_core::{Activation, Beta, Connectivity, GainPlacement, Model, NeuronParams, SimOptions, Stimulus, simulate};
use ccrnn_io::{Layout, load_model, load_recording, save_model, save_trajectory};
use ndarray::{Array1, Array2, Array3};
use ndarray_npy::NpzWriter;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ccrnn-io-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A model using every field: sparse mask, mixed signs, per-neuron β, tanh, postsynaptic gain.
fn model(n: usize, seed: u64) -> Model<f32> {
    model_with_density(n, seed, 0.4)
}

fn model_with_density(n: usize, seed: u64, density: f64) -> Model<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let signs: Vec<i8> = (0..n).map(|j| [1, -1, 0][j % 3]).collect();
    let mask = Array2::from_shape_fn((n, n), |_| rng.random_bool(density));
    let w = Array2::from_shape_fn((n, n), |(i, j)| {
        let v: f32 = rng.random_range(0.0..0.3);
        if !mask[(i, j)] {
            0.0
        } else if signs[j] < 0 || (signs[j] == 0 && i % 2 == 0) {
            -v
        } else {
            v
        }
    });
    let conn = Connectivity::from_dense(w.view(), Some(mask.view()), signs).unwrap();
    let mut p = NeuronParams::default_for(n);
    p.g = Array1::from_shape_fn(n, |_| rng.random_range(0.5..1.5));
    p.b = Array1::from_shape_fn(n, |_| rng.random_range(-0.2..0.2));
    p.tau = Array1::from_shape_fn(n, |_| rng.random_range(0.5..2.0));
    p.h0 = Array1::from_shape_fn(n, |_| rng.random_range(-0.5..0.5));
    p.beta = Beta::PerNeuron(Array1::from_shape_fn(n, |_| rng.random_range(0.5..3.0)));
    Model::builder(conn)
        .params(p)
        .activation(Activation::Tanh)
        .gain(GainPlacement::Postsynaptic)
        .w_in(Array2::from_shape_fn((2, n), |_| rng.random_range(-1.0..1.0)))
        .w_out(Array2::from_shape_fn((n, 3), |_| rng.random_range(-0.1..0.1)))
        .dt(0.1)
        .build()
        .unwrap()
}

/// Sparse networks are stored as CSR arrays (`W_indptr`, `W_indices`, `W_data`), dense ones as
/// `W` + `mask`; both reload to the same model.
#[test]
fn sparse_and_dense_storage_round_trip() {
    let d = tmpdir("storage");
    for (density, sparse) in [(0.05, true), (0.6, false)] {
        let m = model_with_density(40, 3, density);
        let path = d.join(format!("m{density}.npz"));
        save_model(&path, &m, None).unwrap();
        let names = ndarray_npy::NpzReader::new(std::fs::File::open(&path).unwrap())
            .unwrap()
            .names()
            .unwrap();
        assert_eq!(names.iter().any(|n| n == "W_data"), sparse, "{names:?}");
        assert_eq!(names.iter().any(|n| n == "W"), !sparse, "{names:?}");
        let b = load_model(&path).unwrap().model;
        assert_eq!(b.coupling.pattern(), m.coupling.pattern());
        assert_eq!(b.coupling.values(), m.coupling.values());
        assert_eq!(b.signs, m.signs);
    }
    // A CSR index out of range names the file.
    let bad = d.join("bad_csr.npz");
    let mut z = NpzWriter::new(std::fs::File::create(&bad).unwrap());
    z.add_array("W_indptr", &Array1::from(vec![0i64, 1, 2])).unwrap();
    z.add_array("W_indices", &Array1::from(vec![1i64, 5])).unwrap();
    z.add_array("W_data", &Array1::from(vec![0.5f32, 0.5])).unwrap();
    for k in ["g", "b", "h0"] {
        z.add_array(k, &Array1::<f32>::ones(2)).unwrap();
    }
    z.add_array("tau", &ndarray::arr0(1.0f32)).unwrap();
    z.add_array("beta", &ndarray::arr0(1.0f32)).unwrap();
    z.add_array("dt", &ndarray::arr0(0.1f32)).unwrap();
    z.finish().unwrap();
    let e = load_model(&bad).unwrap_err().to_string();
    assert!(e.contains("bad_csr.npz") && e.contains("out of range"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn saved_and_reloaded_model_simulates_identically() {
    let d = tmpdir("roundtrip");
    let m = model(23, 1);
    let path = d.join("m.npz");
    save_model(&path, &m, Some(&[3, 5, 7])).unwrap();
    let back = load_model(&path).unwrap();
    assert_eq!(back.recorded.as_deref(), Some(&[3usize, 5, 7][..]));
    assert_eq!(back.ids, None);
    // Connectome ids above 2^53 survive exactly.
    let ids: Vec<u64> = (0..23).map(|k| 720575940621234567 + k).collect();
    let with_ids = d.join("ids.npz");
    // and so do neuron labels (names with spaces and non-ASCII letters included)
    let labels: Vec<String> = (0..23).map(|k| format!("AV{k} ß-type")).collect();
    ccrnn_io::save_model_with_ids(&with_ids, &m, None, Some(&ids), Some(&labels)).unwrap();
    let f = load_model(&with_ids).unwrap();
    assert_eq!(f.ids, Some(ids));
    assert_eq!(f.labels.as_ref(), Some(&labels));
    assert_eq!(f.neuron_keys(), labels);
    // a label with a line break cannot be stored as a text line: refused, file untouched
    let mut broken = labels.clone();
    broken[4] = "A\nB".into();
    let e = ccrnn_io::save_model_with_ids(&d.join("broken.npz"), &m, None, None, Some(&broken)).unwrap_err();
    assert!(e.to_string().contains("line break"), "{e}");
    assert!(!d.join("broken.npz").exists());
    let b = back.model;
    assert_eq!(b.activation, m.activation);
    assert_eq!(b.gain, m.gain);
    assert_eq!(b.signs, m.signs);
    assert_eq!(b.params, m.params);
    assert_eq!(b.coupling.pattern(), m.coupling.pattern());
    assert_eq!(b.coupling.values(), m.coupling.values());
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let stim = Stimulus::new(Array3::from_shape_fn((5, 60, 2), |_| rng.random_range(-1.0f32..1.0)));
    let opts = SimOptions::noisy(0.05, 4);
    let t1 = simulate(&m, &stim, &opts).unwrap();
    let t2 = simulate(&b, &stim, &opts).unwrap();
    assert_eq!(t1.a, t2.a, "reloaded model simulates differently");
    assert_eq!(t1.y, t2.y);

    // A trajectory file is a recording; time-major files read back to the same arrays.
    let tp = d.join("traj.npz");
    save_trajectory(&tp, &stim, &t1, m.dt).unwrap();
    let rec = load_recording(&tp, Layout::TrialsMajor, 23).unwrap();
    assert_eq!(rec.activity.as_ref().unwrap(), &t1.a);
    assert_eq!(rec.recorded.as_deref().unwrap(), &(0..23).collect::<Vec<_>>()[..]);
    assert_eq!(rec.stimulus(&tp, 2).unwrap(), stim);
    let tm = d.join("time_major.npz");
    let mut z = NpzWriter::new(std::fs::File::create(&tm).unwrap());
    let act_tm = t1.a.clone().permuted_axes([1, 0, 2]).as_standard_layout().into_owned();
    z.add_array("activity", &act_tm.mapv(f64::from)).unwrap();
    z.add_array("recorded", &Array1::from_iter(0..23i32)).unwrap();
    z.finish().unwrap();
    let rec = load_recording(&tm, Layout::TimeMajor, 23).unwrap();
    assert_eq!(rec.activity.unwrap(), t1.a);
    std::fs::remove_dir_all(&d).unwrap();
}

fn write_npz(path: &std::path::Path, f: impl FnOnce(&mut NpzWriter<std::fs::File>)) {
    let mut z = NpzWriter::new(std::fs::File::create(path).unwrap());
    f(&mut z);
    z.finish().unwrap();
}

fn err_of<T: std::fmt::Debug>(r: ccrnn_io::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn bad_files_name_the_file_and_the_problem() {
    let d = tmpdir("bad");
    let good = d.join("good.npz");
    save_model(&good, &model(6, 2), None).unwrap();

    let p = d.join("nan.npz");
    write_npz(&p, |z| {
        let mut a = Array3::<f32>::zeros((2, 4, 3));
        a[(1, 2, 0)] = f32::INFINITY;
        z.add_array("activity", &a).unwrap();
        z.add_array("recorded", &Array1::from(vec![0i64, 1, 2])).unwrap();
    });
    let e = err_of(load_recording(&p, Layout::TrialsMajor, 6));
    assert!(
        e.contains("nan.npz") && e.contains("'activity'") && e.contains("[1, 2, 0]"),
        "{e}"
    );

    let p = d.join("range.npz");
    write_npz(&p, |z| {
        z.add_array("activity", &Array3::<f32>::zeros((2, 4, 2))).unwrap();
        z.add_array("recorded", &Array1::from(vec![0i64, 9])).unwrap();
    });
    let e = err_of(load_recording(&p, Layout::TrialsMajor, 6));
    assert!(e.contains("range.npz") && e.contains("'recorded'[1] = 9"), "{e}");

    let p = d.join("count.npz");
    write_npz(&p, |z| {
        z.add_array("activity", &Array3::<f32>::zeros((2, 4, 3))).unwrap();
        z.add_array("recorded", &Array1::from(vec![0i64, 1])).unwrap();
    });
    let e = err_of(load_recording(&p, Layout::TrialsMajor, 6));
    assert!(e.contains("3 neurons but 'recorded' lists 2"), "{e}");

    let p = d.join("dims.npz");
    write_npz(&p, |z| z.add_array("activity", &Array2::<f32>::zeros((2, 4))).unwrap());
    let e = err_of(load_recording(&p, Layout::TrialsMajor, 6));
    assert!(
        e.contains("expected trials × time × recorded neurons, got 2 × 4"),
        "{e}"
    );

    let p = d.join("dtype.npz");
    write_npz(&p, |z| {
        z.add_array("activity", &Array3::<i32>::zeros((2, 4, 3))).unwrap()
    });
    let e = err_of(load_recording(&p, Layout::TrialsMajor, 6));
    assert!(e.contains("expected float32 or float64"), "{e}");

    let p = d.join("w.npz");
    write_npz(&p, |z| z.add_array("W", &Array2::<f32>::zeros((3, 4))).unwrap());
    let e = err_of(load_model(&p));
    assert!(
        e.contains("w.npz") && e.contains("array 'W': expected a square N post × N pre matrix, got 3 × 4"),
        "{e}"
    );

    let e = err_of(load_model(&d.join("absent.npz")));
    assert!(e.contains("absent.npz"), "{e}");
    std::fs::write(d.join("junk.npz"), b"not a zip").unwrap();
    let e = err_of(load_model(&d.join("junk.npz")));
    assert!(e.contains("junk.npz: not a readable .npz"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// The bytes of an `.npy` array of float64 whose header claims `shape` (written verbatim)
/// and whose data are `data_bytes` zero bytes.
fn crafted_npy(shape: &str, data_bytes: usize) -> Vec<u8> {
    let mut dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + data_bytes, 0);
    out
}

#[test]
fn array_headers_claiming_more_or_less_than_the_file_holds_are_refused_before_reading() {
    let d = tmpdir("crafted");
    // A lone .npy claiming 10¹² values, and one with 1 MB of trailing padding.
    for (shape, bytes, needle) in [("(1000000000000,)", 80, "8.0 TB"), ("(10,)", 1 << 20, "80 bytes")] {
        let p = d.join("x.npy");
        std::fs::write(&p, crafted_npy(shape, bytes)).unwrap();
        let e = ccrnn_io::npz::NpzIn::open(&p)
            .unwrap()
            .floats("array")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("x.npy") && e.contains("header claims") && e.contains(needle),
            "{e}"
        );
    }
    // Inside a model file: a valid model whose W entry is replaced by a crafted one.
    let good = d.join("good.npz");
    save_model(&good, &model(6, 1), None).unwrap();
    for (shape, bytes) in [("(1000000000000, 6)", 288), ("(6, 6)", (6 * 6 * 8) + (1 << 20))] {
        let bad = d.join("bad.npz");
        let mut src = zip::ZipArchive::new(std::fs::File::open(&good).unwrap()).unwrap();
        let mut dst = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        for i in 0..src.len() {
            let e = src.by_index(i).unwrap();
            let name = e.name().to_string();
            drop(e);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            dst.start_file(name.as_str(), opts).unwrap();
            if name == "W.npy" {
                std::io::Write::write_all(&mut dst, &crafted_npy(shape, bytes)).unwrap();
            } else {
                std::io::copy(&mut src.by_index(i).unwrap(), &mut dst).unwrap();
            }
        }
        dst.finish().unwrap();
        let e = load_model(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.npz") && e.contains("array 'W'") && e.contains("header claims"),
            "{e}"
        );
    }
    // A directory where an .npz is expected.
    let e = load_model(&d).unwrap_err().to_string();
    assert!(e.contains("is a directory"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
