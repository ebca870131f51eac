//! The bad-input corpus: hundreds of malformed model files, recordings, connectome tables,
//! configurations, recipes and flags, each made by this test from a valid one by a single
//! change. Every one must be refused the same way: exit code 2 (1 for `config check`'s
//! "invalid"), a message that names the file, array, field or flag at fault, no panic, no
//! abort, no signal, and nothing left behind in the working directory.

use ndarray::{ArrayD, IxDyn};
use ndarray_npy::NpzWriter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One array of a `.npz` under construction.
#[derive(Clone)]
enum Arr {
    F(ArrayD<f32>),
    I(ArrayD<i64>),
    U(ArrayD<u8>),
}

type Npz = BTreeMap<&'static str, Arr>;

fn f(shape: &[usize], v: f32) -> Arr {
    Arr::F(ArrayD::from_elem(IxDyn(shape), v))
}

fn write(path: &Path, z: &Npz) {
    let mut w = NpzWriter::new(std::fs::File::create(path).unwrap());
    for (name, a) in z {
        match a {
            Arr::F(a) => w.add_array(*name, a).unwrap(),
            Arr::I(a) => w.add_array(*name, a).unwrap(),
            Arr::U(a) => w.add_array(*name, a).unwrap(),
        }
    }
    w.finish().unwrap();
}

const N: usize = 6;

/// A valid 6-neuron model with one input and one output.
fn model() -> Npz {
    let mut w = ArrayD::from_elem(IxDyn(&[N, N]), 0.1f32);
    let mut mask = ArrayD::from_elem(IxDyn(&[N, N]), 1u8);
    for i in 0..N {
        w[[i, i]] = 0.0;
        mask[[i, i]] = 0;
    }
    let mut z = Npz::new();
    z.insert("W", Arr::F(w));
    z.insert("mask", Arr::U(mask));
    z.insert("signs", Arr::I(ArrayD::from_elem(IxDyn(&[N]), 1)));
    z.insert("g", f(&[N], 1.0));
    z.insert("b", f(&[N], 0.0));
    z.insert("tau", f(&[N], 1.0));
    z.insert("h0", f(&[N], 0.0));
    z.insert("beta", f(&[], 1.0));
    z.insert("W_in", f(&[1, N], 0.5));
    z.insert("W_out", f(&[N, 1], 0.2));
    z.insert("dt", f(&[], 0.05));
    z
}

/// A valid recording of every neuron of [`model`]: 2 trials × 8 steps.
fn recording() -> Npz {
    let mut z = Npz::new();
    z.insert("activity", f(&[2, 8, N], 0.3));
    z.insert(
        "recorded",
        Arr::I(ArrayD::from_shape_vec(IxDyn(&[N]), (0..N as i64).collect()).unwrap()),
    );
    z.insert("inputs", f(&[2, 8, 1], 0.0));
    z.insert("readout", f(&[2, 8, 1], 0.1));
    z
}

/// Single changes of a float array: wrong shapes, NaN and ±inf in one entry.
fn float_mutations(name: &'static str, a: &ArrayD<f32>) -> Vec<(String, Arr, Vec<String>)> {
    let mut v = Vec::new();
    let shape = a.shape().to_vec();
    let mut longer = shape.clone();
    if let Some(x) = longer.first_mut().filter(|_| name != "W_in") {
        *x += 1;
        v.push((format!("{name}-longer"), f(&longer, 0.1), vec![format!("'{name}'")]));
    }
    let mut deeper = shape.clone();
    deeper.push(2);
    v.push((format!("{name}-deeper"), f(&deeper, 0.1), vec![format!("'{name}'")]));
    if !a.is_empty() {
        for (tag, bad) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("-inf", f32::NEG_INFINITY)] {
            let mut b = a.clone();
            *b.iter_mut().last().unwrap() = bad;
            v.push((format!("{name}-{tag}"), Arr::F(b), vec![format!("'{name}'")]));
        }
    }
    v
}

struct Case {
    name: String,
    args: Vec<String>,
    /// Every one must appear in the message.
    needles: Vec<String>,
    /// 2, or 1 for `config check`.
    code: i32,
}

fn case(name: impl Into<String>, args: &[&str], needles: &[&str]) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        needles: needles.iter().map(|s| s.to_string()).collect(),
        code: 2,
    }
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// Model files: one change each, every one read by three commands.
fn model_cases(d: &Path, cases: &mut Vec<Case>) {
    let base = model();
    let mut files: Vec<(String, Npz, Vec<String>)> = Vec::new();
    for (name, a) in &base {
        if let Arr::F(a) = a {
            for (tag, arr, needles) in float_mutations(name, a) {
                let mut z = base.clone();
                z.insert(name, arr);
                files.push((tag, z, needles));
            }
        }
    }
    for required in ["W", "g", "b", "h0", "dt"] {
        let mut z = base.clone();
        z.remove(required);
        files.push((format!("no-{required}"), z, s(&[&format!("'{required}'")])));
    }
    let values: [(&'static str, f32, &str); 8] = [
        ("tau", 0.0, "tau"),
        ("tau", -1.0, "tau"),
        ("dt", 0.0, "dt"),
        ("dt", -0.05, "dt"),
        ("beta", 0.0, "beta"),
        ("beta", -2.0, "beta"),
        ("g", f32::NAN, "g"),
        ("tau", f32::NAN, "tau"),
    ];
    for (name, v, needle) in values {
        let mut z = base.clone();
        let shape = match &base[name] {
            Arr::F(a) => a.shape().to_vec(),
            _ => unreachable!(),
        };
        z.insert(name, f(&shape, v));
        files.push((format!("{name}={v}"), z, s(&[needle])));
    }
    for (tag, value) in [("mask-2", 2u8), ("mask-255", 255)] {
        let mut z = base.clone();
        let mut m = ArrayD::from_elem(IxDyn(&[N, N]), 1u8);
        m[[1, 2]] = value;
        z.insert("mask", Arr::U(m));
        files.push((tag.into(), z, s(&["'mask'", "[1, 2]"])));
    }
    for (tag, value) in [("signs-5", 5i64), ("signs--2", -2)] {
        let mut z = base.clone();
        let mut m = ArrayD::from_elem(IxDyn(&[N]), 1i64);
        m[[3]] = value;
        z.insert("signs", Arr::I(m));
        files.push((tag.into(), z, s(&["signs"])));
    }
    {
        let mut z = base.clone();
        z.insert("W", f(&[0, 0], 0.0));
        files.push(("zero-neurons".into(), z, s(&["'W'", "at least one neuron"])));
        let mut z = base.clone();
        z.insert("W", f(&[N, N + 1], 0.0));
        files.push(("W-not-square".into(), z, s(&["'W'", "square"])));
        let mut z = base.clone();
        z.insert("W", f(&[1, N, N], 0.0));
        files.push(("W-3d".into(), z, s(&["'W'", "1 × 6 × 6"])));
        let mut z = base.clone();
        z.insert("W", Arr::I(ArrayD::from_elem(IxDyn(&[N, N]), 1)));
        files.push(("W-integer".into(), z, s(&["'W'"])));
        let mut z = base.clone();
        z.insert(
            "activation",
            Arr::U(ArrayD::from_shape_vec(IxDyn(&[4]), b"nope".to_vec()).unwrap()),
        );
        files.push(("activation-nope".into(), z, s(&["activation", "nope"])));
        let mut z = base.clone();
        z.insert(
            "gain_placement",
            Arr::U(ArrayD::from_shape_vec(IxDyn(&[3]), b"mid".to_vec()).unwrap()),
        );
        files.push(("gain-placement-mid".into(), z, s(&["gain_placement"])));
    }
    // Unstable dynamics (dt/τ = 5·10²⁸): refused where the state first stops being finite.
    let mut z = base.clone();
    z.insert("tau", f(&[N], 1e-30));
    write(&d.join("unstable.npz"), &z);
    cases.push(case(
        "unstable (simulate)",
        &["simulate", "unstable.npz", "--inputs", "rec.npz", "--out", "o"],
        &["diverged at step"],
    ));
    cases.push(case(
        "unstable (fit)",
        &["fit", "--model", "unstable.npz", "--recording", "rec.npz", "--out", "o"],
        &["diverged"],
    ));
    for (k, (tag, z, needles)) in files.into_iter().enumerate() {
        let file = format!("model-{k}.npz");
        write(&d.join(&file), &z);
        let mut needles = needles;
        needles.push(file.clone());
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let f = file.as_str();
        let commands: [Vec<&str>; 3] = [
            vec!["simulate", f, "--inputs", "rec.npz"],
            vec!["fit", "--model", f, "--recording", "rec.npz", "--steps", "1"],
            vec!["prioritize", "--model", f, "--inputs", "rec.npz", "--k-max", "2"],
        ];
        for (c, args) in commands.iter().enumerate() {
            let mut a = args.clone();
            a.extend(["--out", "o"]);
            cases.push(case(
                format!("model {tag} ({})", ["simulate", "fit", "prioritize"][c]),
                &a,
                &needles,
            ));
        }
    }
}

/// Recordings: one change each, read by `fit` (and the stimulus part by `simulate`).
fn recording_cases(d: &Path, cases: &mut Vec<Case>) {
    let base = recording();
    let mut files: Vec<(String, Npz, Vec<String>)> = Vec::new();
    for (name, a) in &base {
        if let Arr::F(a) = a {
            for (tag, arr, needles) in float_mutations(name, a) {
                let mut z = base.clone();
                z.insert(name, arr);
                files.push((tag, z, needles));
            }
        }
    }
    let idx = |v: Vec<i64>| Arr::I(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap());
    for (tag, rec, needle) in [
        ("recorded-out-of-range", idx(vec![0, 1, 2, 3, 4, 99]), "99"),
        ("recorded-negative", idx(vec![0, 1, 2, 3, 4, -1]), "-1"),
        ("recorded-duplicate", idx(vec![0, 1, 2, 3, 4, 4]), "4"),
        ("recorded-short", idx(vec![0, 1, 2]), "recorded"),
        ("recorded-2d", Arr::I(ArrayD::zeros(IxDyn(&[2, 3]))), "recorded"),
        ("recorded-float", f(&[N], 1.0), "recorded"),
    ] {
        let mut z = base.clone();
        z.insert("recorded", rec);
        files.push((tag.into(), z, s(&[needle])));
    }
    {
        let mut z = base.clone();
        z.remove("activity");
        files.push(("no-activity".into(), z, s(&["activity"])));
        let mut z = base.clone();
        z.insert("activity", f(&[2, 8], 0.1));
        files.push(("activity-2d".into(), z, s(&["'activity'"])));
        let mut z = base.clone();
        z.insert("activity", f(&[0, 8, N], 0.1));
        files.push(("activity-no-trials".into(), z, s(&["activity"])));
        let mut z = base.clone();
        z.insert("inputs", f(&[3, 8, 1], 0.0));
        files.push(("inputs-trials".into(), z, s(&["inputs"])));
        let mut z = base.clone();
        z.insert("inputs", f(&[2, 8, 3], 0.0));
        files.push(("inputs-channels".into(), z, s(&["inputs"])));
        let mut z = base.clone();
        z.insert("initial_state", f(&[2, N + 2], 0.0));
        files.push(("initial-state-shape".into(), z, s(&["initial_state"])));
    }
    for (k, (tag, z, needles)) in files.into_iter().enumerate() {
        let file = format!("rec-{k}.npz");
        write(&d.join(&file), &z);
        let mut needles = needles;
        needles.push(file.clone());
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let f = file.as_str();
        cases.push(case(
            format!("recording {tag} (fit)"),
            &[
                "fit",
                "--model",
                "model.npz",
                "--recording",
                f,
                "--steps",
                "1",
                "--out",
                "o",
            ],
            &needles,
        ));
        if tag.starts_with("readout") {
            cases.push(case(
                format!("recording {tag} (fit --readout)"),
                &[
                    "fit",
                    "--model",
                    "model.npz",
                    "--recording",
                    f,
                    "--readout",
                    "--steps",
                    "1",
                    "--out",
                    "o",
                ],
                &needles,
            ));
        }
        if tag.starts_with("inputs") || tag.starts_with("initial") {
            cases.push(case(
                format!("recording {tag} (simulate)"),
                &["simulate", "model.npz", "--inputs", f, "--out", "o"],
                &needles,
            ));
        }
    }
}

/// Files that are not what they claim: empty, text, truncated, a directory, absurd headers.
fn not_npz_cases(d: &Path, cases: &mut Vec<Case>) {
    std::fs::write(d.join("empty.npz"), b"").unwrap();
    std::fs::write(d.join("text.npz"), b"W = [[1, 2], [3, 4]]\n").unwrap();
    let good = std::fs::read(d.join("model.npz")).unwrap();
    std::fs::write(d.join("truncated.npz"), &good[..good.len() / 2]).unwrap();
    std::fs::write(d.join("tail-cut.npz"), &good[..good.len() - 30]).unwrap();
    std::fs::create_dir(d.join("folder.npz")).unwrap();
    // A lone .npy claiming 10^12 float32 values in 200 bytes.
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }";
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    npy.extend((h.len() as u16).to_le_bytes());
    npy.extend(h.as_bytes());
    npy.extend([0u8; 64]);
    std::fs::write(d.join("huge.npy"), &npy).unwrap();
    // The same array inside an archive, as the model's `g`.
    {
        let file = std::fs::File::create(d.join("huge-g.npz")).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let src = zip::ZipArchive::new(std::fs::File::open(d.join("model.npz")).unwrap());
        let mut src = src.unwrap();
        for i in 0..src.len() {
            let mut e = src.by_index(i).unwrap();
            let name = e.name().to_string();
            zip.start_file(&name, opts).unwrap();
            if name == "g.npy" {
                std::io::Write::write_all(&mut zip, &npy).unwrap();
            } else {
                std::io::copy(&mut e, &mut zip).unwrap();
            }
        }
        zip.finish().unwrap();
    }
    for file in [
        "empty.npz",
        "text.npz",
        "truncated.npz",
        "tail-cut.npz",
        "folder.npz",
        "huge-g.npz",
        "missing.npz",
    ] {
        for (c, args) in [
            ("simulate", vec!["simulate", file, "--inputs", "rec.npz", "--out", "o"]),
            (
                "fit model",
                vec!["fit", "--model", file, "--recording", "rec.npz", "--out", "o"],
            ),
            (
                "fit recording",
                vec!["fit", "--model", "model.npz", "--recording", file, "--out", "o"],
            ),
            ("inputs", vec!["simulate", "model.npz", "--inputs", file, "--out", "o"]),
        ] {
            cases.push(case(format!("{file} ({c})"), &args, &[file]));
        }
    }
    for (c, args) in [
        (
            "fit",
            vec!["fit", "--model", "model.npz", "--recording", "huge.npy", "--out", "o"],
        ),
        (
            "eval",
            vec![
                "eval",
                "--teacher",
                "model.npz",
                "--student",
                "model.npz",
                "--neurons",
                "0",
                "--inputs",
                "huge.npy",
                "--out",
                "o",
            ],
        ),
    ] {
        cases.push(case(format!("huge.npy ({c})"), &args, &["huge.npy"]));
    }
}

/// Connectome edge lists and node tables, each with one defect.
fn connectome_cases(d: &Path, cases: &mut Vec<Case>) {
    let good = "pre,post,syn_count,nt_type,neuropil\n1,2,5,ACH,AL_L\n2,3,4,GABA,AL_L\n3,1,6,ACH,MB_R\n";
    let edits: Vec<(&str, String, Vec<&str>)> = vec![
        ("empty", String::new(), vec!["empty"]),
        ("header-only", "pre,post,syn_count\n".into(), vec!["no edges"]),
        ("no-count-column", "pre,post\n1,2\n".into(), vec!["column"]),
        ("no-post-column", "pre,syn_count\n1,2\n".into(), vec!["column"]),
        ("count-text", good.replace("1,2,5", "1,2,five"), vec!["line 2", "five"]),
        ("count-negative", good.replace("1,2,5", "1,2,-5"), vec!["line 2", "-5"]),
        ("count-nan", good.replace("1,2,5", "1,2,nan"), vec!["line 2"]),
        ("count-inf", good.replace("1,2,5", "1,2,inf"), vec!["line 2"]),
        ("id-text", good.replace("2,3,4", "two,3,4"), vec!["line 3", "two"]),
        ("id-negative", good.replace("2,3,4", "-2,3,4"), vec!["line 3"]),
        ("id-float", good.replace("2,3,4", "2.5,3,4"), vec!["line 3"]),
        (
            "id-huge",
            good.replace("2,3,4", "99999999999999999999999,3,4"),
            vec!["line 3"],
        ),
        ("short-row", good.replace("2,3,4,GABA,AL_L", "2,3"), vec!["line 3"]),
        (
            "nt-unknown",
            good.replace("GABA", "KRYPTONITE"),
            vec!["line 3", "KRYPTONITE"],
        ),
        ("binary", "\u{0}\u{1}\u{2}garbage".into(), vec![]),
    ];
    for (k, (tag, text, needles)) in edits.into_iter().enumerate() {
        let file = format!("edges-{k}.csv");
        std::fs::write(d.join(&file), text).unwrap();
        let mut needles = needles;
        needles.push(&file);
        let f = file.as_str();
        cases.push(case(
            format!("edges {tag} (info)"),
            &["connectome", "info", f],
            &needles,
        ));
        cases.push(case(
            format!("edges {tag} (teacher)"),
            &["connectome", "teacher", f, "--out", "o"],
            &needles,
        ));
    }
    std::fs::write(d.join("edges.csv"), good).unwrap();
    std::fs::write(d.join("edges.csv.gz"), b"\x1f\x8b\x08\x00not gzip at all").unwrap();
    let node_edits: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "nodes-missing-id",
            "root_id,super_class\n1,central\n2,central\n",
            vec!["3"],
        ),
        ("nodes-no-id-column", "name,super_class\na,central\n", vec!["column"]),
        ("nodes-id-text", "root_id,super_class\none,central\n", vec!["line 2"]),
        (
            "nodes-duplicate-id",
            "root_id,super_class\n1,a\n1,b\n2,c\n3,d\n",
            vec!["1"],
        ),
    ];
    for (tag, text, needles) in node_edits {
        let file = format!("{tag}.csv");
        std::fs::write(d.join(&file), text).unwrap();
        let mut needles = needles;
        needles.push(&file);
        cases.push(case(
            format!("{tag} (info)"),
            &["connectome", "info", "edges.csv", "--nodes", &file],
            &needles,
        ));
    }
    for (tag, args, needles) in [
        (
            "gz-corrupt",
            vec!["connectome", "info", "edges.csv.gz"],
            vec!["edges.csv.gz"],
        ),
        (
            "neuropil-absent",
            vec!["connectome", "info", "edges.csv", "--neuropil", "NOPE"],
            vec!["--neuropil NOPE", "AL_L"],
        ),
        (
            "neuropil-no-column",
            vec!["connectome", "info", "celegans", "--neuropil", "AL_L"],
            vec!["neuropil"],
        ),
        (
            "threshold-negative",
            vec!["connectome", "info", "edges.csv", "--threshold", "-1"],
            vec!["--threshold"],
        ),
        (
            "threshold-nan",
            vec!["connectome", "info", "edges.csv", "--threshold", "nan"],
            vec!["threshold"],
        ),
        (
            "keep-ids-missing",
            vec!["connectome", "info", "edges.csv", "--keep-ids", "nope.txt"],
            vec!["nope.txt"],
        ),
        (
            "unknown-builtin",
            vec!["connectome", "info", "flywire"],
            vec!["flywire"],
        ),
        (
            "gap-missing",
            vec![
                "connectome",
                "teacher",
                "celegans",
                "--gap-junctions",
                "gaps.csv",
                "--out",
                "o",
            ],
            vec!["gaps.csv"],
        ),
        (
            "trials-zero",
            vec!["connectome", "teacher", "edges.csv", "--trials", "0", "--out", "o"],
            vec!["--trials"],
        ),
        (
            "trials-huge",
            vec![
                "connectome",
                "teacher",
                "edges.csv",
                "--trials",
                "1000000000000",
                "--out",
                "o",
            ],
            vec!["--trials", "memory"],
        ),
        (
            "gap-scale-nan",
            vec![
                "connectome",
                "teacher",
                "celegans",
                "--gap-junctions",
                "celegans",
                "--gap-scale",
                "nan",
                "--out",
                "o",
            ],
            vec!["gap"],
        ),
        (
            "ms-beyond",
            vec!["connectome", "study", "celegans", "--ms", "1000", "--out", "o"],
            vec!["--ms"],
        ),
        (
            "no-eigenvalue",
            vec!["connectome", "teacher", "edges.csv", "--out", "o"],
            vec!["eigenvalue"],
        ),
    ] {
        cases.push(case(tag, &args, &needles));
    }
}

/// Configuration files: one bad value each, checked by `config check` (exit 1, "invalid") and
/// refused by the command that reads them (exit 2).
fn config_cases(d: &Path, cases: &mut Vec<Case>) {
    let values: Vec<(&str, &str, &str)> = vec![
        // (section, line, the field the message must name)
        ("fit", "steps = 0", "steps"),
        ("fit", "lr = -1.0", "lr"),
        ("fit", "lr = nan", "lr"),
        ("fit", "lr = inf", "lr"),
        ("fit", "lr = 0.0", "lr"),
        ("fit", "clip = -1.0", "clip"),
        ("fit", "clip = nan", "clip"),
        ("fit", "batch_size = 0", "batch_size"),
        ("fit", "noise_std = -0.1", "noise_std"),
        ("fit", "noise_std = nan", "noise_std"),
        ("fit", "memory_mb = 0.0", "memory_mb"),
        ("fit", "memory_mb = -5.0", "memory_mb"),
        ("fit", "memory_mb = nan", "memory_mb"),
        ("fit", "method = \"newton\"", "method"),
        ("fit", "train = [\"zz\"]", "train"),
        ("fit", "train = []", "train"),
        ("fit", "steps = -3", "steps"),
        ("fit", "steps = \"many\"", "steps"),
        ("fit", "stepz = 10", "stepz"),
        ("fit", "lr = [1, 2]", "lr"),
        ("student", "gain_factor = 0.0", "gain_factor"),
        ("student", "gain_factor = -1.0", "gain_factor"),
        ("student", "gain_factor = nan", "gain_factor"),
        ("student", "init = \"random\"", "init"),
        ("student", "gainfactor = 1.0", "gainfactor"),
    ];
    let teacher: Vec<(&str, &str, &str)> = vec![
        ("teacher.ei", "n = 0", "n"),
        ("teacher.ei", "n = 1", "n"),
        ("teacher.ei", "n = 1000000000", "memory"),
        ("teacher.ei", "frac_exc = 1.5", "frac_exc"),
        ("teacher.ei", "p_conn = -0.1", "p_conn"),
        ("teacher.ei", "dt = 0.0", "dt"),
        ("teacher.ei", "tau = -1.0", "tau"),
        ("teacher.ei", "beta = 0.0", "beta"),
        ("teacher.ei", "beta = nan", "beta"),
        ("teacher.ei", "n = -5", "n"),
        ("teacher.task", "dt = 0.0", "dt"),
        ("teacher.task", "steps = 0", "steps"),
        ("teacher.task", "trials = 0", "trials"),
        ("teacher.task", "trials = 1000000000", "memory"),
        ("teacher.task", "steps = 1000000000", "memory"),
        ("teacher.task", "omega = 0.0", "omega"),
        ("teacher.task", "omega = nan", "omega"),
        ("teacher.task", "pulse_window = [5.0, 2.0]", "pulse_window"),
        ("teacher.task", "pulse_window = [-1.0, 2.0]", "pulse_window"),
        ("teacher.task", "catch_prob = 1.5", "catch_prob"),
        ("teacher.task", "catch_prob = nan", "catch_prob"),
        ("teacher.training", "steps = 0", "steps"),
        ("teacher.training", "lr = -1.0", "lr"),
    ];
    let mut k = 0;
    let mut add = |text: String, needle: &str, command: Option<Vec<&str>>, cases: &mut Vec<Case>| {
        let file = format!("config-{k}.toml");
        k += 1;
        std::fs::write(d.join(&file), &text).unwrap();
        let mut c = case(
            format!("{file}: {}", text.lines().last().unwrap_or("")),
            &["config", "check", &file],
            &[&file, needle],
        );
        // Values that parse are "invalid" (exit 1); text that does not parse is an error (2).
        let parses = ![
            "stepz",
            "gainfactor",
            "method",
            "init",
            "steps = \"",
            "lr = [",
            "n = -5",
            "steps = -3",
            "kind = \"lstm",
            "seed = 3",
        ]
        .iter()
        .any(|p| text.contains(p));
        c.code = if parses { 1 } else { 2 };
        cases.push(c);
        if let Some(mut args) = command {
            args.push(&file);
            args.extend(["--out", "o"]);
            cases.push(case(format!("{file} ({})", args[0]), &args, &[&file, needle]));
        }
    };
    for (section, line, needle) in values {
        let text = format!("[{section}]\n{line}\n");
        let command =
            (section == "fit").then(|| vec!["fit", "--model", "model.npz", "--recording", "rec.npz", "--config"]);
        add(text, needle, command, cases);
    }
    for (section, line, needle) in teacher {
        let text = format!("[teacher]\nkind = \"ei-task\"\n[{section}]\n{line}\n");
        add(text, needle, Some(vec!["teacher", "--config"]), cases);
    }
    for (text, needle) in [
        (
            "[teacher]\nkind = \"chaotic\"\n[teacher.chaotic]\nn = 1000000000\n",
            "memory",
        ),
        ("[teacher]\nkind = \"chaotic\"\n[teacher.chaotic]\nn = 1\n", "teacher.n"),
        (
            "[teacher]\nkind = \"low-rank\"\n[teacher.low_rank]\nn = 1000000000\n",
            "memory",
        ),
        (
            "[teacher]\nkind = \"low-rank\"\n[teacher.low_rank]\nburn_in = 100000000000\n",
            "burn_in",
        ),
        ("[teacher]\nkind = \"chaotic\"\ntrials = 1000000000000\n", "memory"),
        ("[teacher]\nkind = \"chaotic\"\ntrials = 0\n", "trials"),
        (
            "[teacher]\nkind = \"chaotic\"\n[teacher.low_rank]\nn = 100\n",
            "low_rank",
        ),
        ("[teacher]\nkind = \"ei-task\"\n[teacher.chaotic]\nn = 100\n", "chaotic"),
        ("[teacher]\nseed = 3\n", "kind"),
        ("[teacher]\nkind = \"lstm\"\n", "kind"),
        ("[demo.teacher]\nn = 1\n", "n"),
        ("[demo.study]\nms = []\n", "ms"),
        ("[demo.study]\nms = [500]\n", "ms"),
        ("[demo.task]\ntrials = 1000000000000\n", "memory"),
        ("[demo.teacher_training]\nlr = nan\n", "lr"),
        ("[demo.study.fit]\nsteps = 0\n", "steps"),
    ] {
        let command = if text.contains("[demo") {
            vec!["demo", "--config"]
        } else {
            vec!["teacher", "--config"]
        };
        add(text.to_string(), needle, Some(command), cases);
    }
    // Files that are not configurations at all.
    for (text, needle) in [
        (String::new(), "sets nothing"),
        ("# only a comment\n".to_string(), "sets nothing"),
        ("[fit\nsteps = 3\n".to_string(), "line 1"),
        ("\u{feff}[fit]\nsteps = 0\n".to_string(), "steps"),
        (
            format!("a = {}1{}\n", "[".repeat(5000), "]".repeat(5000)),
            "more characters",
        ),
        ("[fit]\nsteps = 3\n[fit]\nsteps = 4\n".to_string(), "fit"),
        ("\u{0}\u{1}binary".to_string(), "line 1"),
    ] {
        let parses = text.contains("steps = 0");
        let file = format!("config-{k}.toml");
        k += 1;
        std::fs::write(d.join(&file), &text).unwrap();
        let mut c = case(
            format!("{file}: not a configuration"),
            &["config", "check", &file],
            &[&file, needle],
        );
        c.code = if parses { 1 } else { 2 };
        cases.push(c);
        cases.push(case(
            format!("{file} (fit)"),
            &[
                "fit",
                "--model",
                "model.npz",
                "--recording",
                "rec.npz",
                "--config",
                &file,
                "--out",
                "o",
            ],
            &[&file],
        ));
    }
    cases.push(case(
        "config check on a missing file",
        &["config", "check", "none.toml"],
        &["none.toml"],
    ));
}

/// Sweep recipes: one bad value each, refused by `sweep run` before any task starts.
fn recipe_cases(d: &Path, cases: &mut Vec<Case>) {
    let lines: Vec<(&str, &str, &str)> = vec![
        ("", "replicates = 0", "replicates"),
        ("", "replicates = 100000000", "memory"),
        ("", "name = \"a b\"", "name"),
        ("", "name = \"\"", "name"),
        ("", "replicates = -1", "replicates"),
        ("", "seed = \"x\"", "seed"),
        ("", "colour = 1", "colour"),
        ("teacher", "n = []", "teacher.n"),
        ("teacher", "n = [1]", "teacher.n"),
        ("teacher", "n = [1000000000]", "memory"),
        ("teacher", "trials = 0", "trials"),
        ("teacher", "heldout_trials = 0", "heldout_trials"),
        ("teacher", "steps = 1", "steps"),
        ("teacher", "steps = 100000000000", "memory"),
        ("teacher", "data_noise = -1.0", "data_noise"),
        ("teacher", "data_noise = nan", "data_noise"),
        ("teacher", "kind = \"hopfield\"", "kind"),
        ("student", "ms = []", "student.ms"),
        ("student", "ms = [1000]", "student.ms"),
        ("student", "beta = [0.0]", "student.beta"),
        ("student", "beta = [nan]", "student.beta"),
        ("student", "beta_training = []", "beta_training"),
        ("student", "beta_training = [\"sometimes\"]", "beta_training"),
        ("student", "unconstrained = []", "unconstrained"),
        ("student", "connectome_noise = [2.0]", "connectome_noise"),
        ("student", "connectome_noise = [-0.5]", "connectome_noise"),
        ("student", "gain_factor = 0.0", "gain_factor"),
        ("fit", "steps = 0", "steps"),
        ("fit", "lr = -1.0", "lr"),
        ("fit", "method = \"sgd\"", "method"),
    ];
    for (k, (section, line, needle)) in lines.into_iter().enumerate() {
        let key = line.split('=').next().unwrap().trim();
        let mut text = String::new();
        for (sec, defaults) in [
            ("", vec!["name = \"corpus\""]),
            (
                "teacher",
                vec![
                    "n = [20]",
                    "trials = 4",
                    "heldout_trials = 2",
                    "steps = 20",
                    "training_steps = 2",
                ],
            ),
            ("student", vec!["ms = [0, 4]"]),
            ("fit", vec!["steps = 2"]),
        ] {
            if !sec.is_empty() {
                text += &format!("[{sec}]\n");
            }
            for l in defaults
                .iter()
                .filter(|l| sec != section || l.split('=').next().unwrap().trim() != key)
            {
                text += &format!("{l}\n");
            }
            if sec == section {
                text += &format!("{line}\n");
            }
        }
        let file = format!("recipe-{k}.toml");
        std::fs::write(d.join(&file), &text).unwrap();
        cases.push(case(
            format!("{file}: {line}"),
            &["sweep", "run", &file, "--out", "o"],
            &[needle],
        ));
        cases.push(case(
            format!("{file}: {line} (slurm)"),
            &["sweep", "slurm", &file, "--out", "o"],
            &[needle],
        ));
    }
    std::fs::write(d.join("recipe-empty.toml"), "").unwrap();
    cases.push(case(
        "empty recipe",
        &["sweep", "run", "recipe-empty.toml", "--out", "o"],
        &["recipe-empty.toml", "sets nothing"],
    ));
    cases.push(case(
        "unknown recipe",
        &["sweep", "run", "fig9", "--out", "o"],
        &["fig9"],
    ));
    cases.push(case(
        "unknown scale",
        &["sweep", "run", "fig2-recordings", "--scale", "huge", "--out", "o"],
        &["huge"],
    ));
    cases.push(case(
        "sweep run into a non-sweep directory",
        &["sweep", "run", "fig1-degeneracy", "--out", "notsweep"],
        &["notsweep", "not a sweep directory"],
    ));
    cases.push(case(
        "status of a non-sweep directory",
        &["sweep", "status", "notsweep"],
        &["notsweep", "not a sweep directory"],
    ));
    cases.push(case(
        "collect of a missing directory",
        &["sweep", "collect", "nowhere"],
        &["nowhere"],
    ));
    cases.push(case(
        "run-task index",
        &["sweep", "run-task", "notsweep", "--index", "3"],
        &["notsweep"],
    ));
    cases.push(case(
        "report of a non-sweep directory",
        &["report", "notsweep", "--out", "o"],
        &["notsweep"],
    ));
}

/// Flags: one bad value each on otherwise valid commands.
fn flag_cases(cases: &mut Vec<Case>) {
    let fit = ["fit", "--model", "model.npz", "--recording", "rec.npz", "--out", "o"];
    let sim = ["simulate", "model.npz", "--inputs", "rec.npz", "--out", "o"];
    let silent = ["simulate", "silent.npz", "--out", "o"];
    let flags: Vec<(&[&str], Vec<&str>, &str)> = vec![
        (&fit, vec!["--steps", "0"], "steps"),
        (&fit, vec!["--steps", "-1"], "--steps"),
        (&fit, vec!["--lr", "nan"], "lr"),
        (&fit, vec!["--lr", "-1"], "lr"),
        (&fit, vec!["--lr", "0"], "lr"),
        (&fit, vec!["--lr", "inf"], "lr"),
        (&fit, vec!["--memory-mb", "0"], "memory_mb"),
        (&fit, vec!["--memory-mb", "nan"], "memory_mb"),
        (&fit, vec!["--m", "0"], "--m 0"),
        (&fit, vec!["--m", "7"], "--m 7"),
        (&fit, vec!["--neurons", "0,0"], "--neurons"),
        (&fit, vec!["--neurons", "99"], "99"),
        (&fit, vec!["--neurons", "-1"], "--neurons"),
        (&fit, vec!["--neurons", "a,b"], "--neurons"),
        (&fit, vec!["--method", "newton"], "--method"),
        (&fit, vec!["--train", "zz"], "zz"),
        (&fit, vec!["--init", "random"], "--init"),
        (&fit, vec!["--layout", "tnb"], "--layout"),
        (&fit, vec!["--seed", "-1"], "--seed"),
        (&fit, vec!["--readout", "--neurons", "1"], "--neurons"),
        (&sim, vec!["--noise", "-1"], "--noise"),
        (&sim, vec!["--noise", "nan"], "--noise"),
        (&sim, vec!["--sine-task"], "--sine-task"),
        (&silent, vec!["--trials", "0"], "--trials 0"),
        (&silent, vec!["--steps", "0"], "--steps 0"),
        (&silent, vec!["--trials", "1000000000", "--steps", "1000"], "memory"),
        (&silent, vec!["--trials", "99999999999999999999999"], "--trials"),
        (&silent, vec!["--steps", "1e3"], "--steps"),
        (&["simulate", "model.npz", "--out", "o"], vec![], "--inputs"),
        (
            &[
                "eval",
                "--teacher",
                "model.npz",
                "--student",
                "silent.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec![],
            "0 inputs",
        ),
        (
            &[
                "eval",
                "--teacher",
                "model.npz",
                "--student",
                "model.npz",
                "--neurons",
                "0",
                "--sine-task",
                "--out",
                "o",
            ],
            vec!["--trials", "0"],
            "--trials",
        ),
        (
            &[
                "eval",
                "--teacher",
                "model.npz",
                "--student",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--neurons", "3,3"],
            "--neurons",
        ),
        (
            &[
                "prioritize",
                "--model",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--k-max", "0"],
            "--k-max",
        ),
        (
            &[
                "prioritize",
                "--model",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--k-max", "99"],
            "--k-max",
        ),
        (
            &[
                "prioritize",
                "--model",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--recorded", "9"],
            "9",
        ),
        (
            &[
                "prioritize",
                "--model",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--groups", "zz"],
            "--groups",
        ),
        (
            &[
                "prioritize",
                "--model",
                "model.npz",
                "--inputs",
                "rec.npz",
                "--out",
                "o",
            ],
            vec!["--time-stride", "0"],
            "--time-stride",
        ),
        (&["demo", "--out", "o"], vec!["--seed", "x"], "--seed"),
        (
            &["demo", "--out", "o"],
            vec!["--config", "nothing.toml"],
            "nothing.toml",
        ),
        (&["teacher", "--out", "o"], vec!["--preset", "hopfield"], "--preset"),
        (
            &["teacher", "--out", "o"],
            vec!["--config", "nothing.toml"],
            "nothing.toml",
        ),
        (
            &["sweep", "run", "fig2-recordings", "--out", "o"],
            vec!["--jobs", "0"],
            "--jobs",
        ),
        (
            &["sweep", "run", "fig2-recordings", "--out", "o"],
            vec!["--jobs", "-2"],
            "--jobs",
        ),
        (&["config", "init"], vec!["fancy"], "fancy"),
        (&["connectome", "info", "celegans"], vec!["--extent", "-1"], "--extent"),
        (
            &["connectome", "info", "celegans"],
            vec!["--unknown-sign", "maybe"],
            "--unknown-sign",
        ),
        (
            &["connectome", "info", "celegans"],
            vec!["--glutamate-sign", "2"],
            "--glutamate-sign",
        ),
        (
            &["--threads", "x", "connectome", "info", "celegans"],
            vec![],
            "--threads",
        ),
        (&["nonsense"], vec![], "nonsense"),
    ];
    for (base, extra, needle) in flags {
        let mut args = base.to_vec();
        args.extend(extra.iter());
        cases.push(case(format!("flags {}", extra.join(" ")), &args, &[needle]));
    }
}

fn run(d: &Path, c: &Case) -> Result<(), String> {
    let before = entries(d);
    let o = Command::new(env!("CARGO_BIN_EXE_ccrnn"))
        .current_dir(d)
        .args(&c.args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .map_err(|e| format!("could not run: {e}"))?;
    let err = String::from_utf8_lossy(&o.stderr);
    let fail = |why: String| {
        Err(format!(
            "{} — ccrnn {}: {why}\n    stderr: {err}",
            c.name,
            c.args.join(" ")
        ))
    };
    if o.status.code().is_none() {
        return fail(format!("killed by a signal ({:?})", o.status));
    }
    if err.contains("panicked") || err.contains("memory allocation of") || err.contains("stack backtrace") {
        return fail("panic or abort".into());
    }
    if o.status.code() != Some(c.code) {
        for p in entries(d).iter().filter(|p| !before.contains(p)) {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
        }
        return fail(format!("exit code {:?}, expected {}", o.status.code(), c.code));
    }
    for n in &c.needles {
        if !err.contains(n.as_str()) {
            return fail(format!("message does not name {n:?}"));
        }
    }
    let after = entries(d);
    if after != before {
        // remove what the case left, so that one failure does not cascade into the next
        for p in after.iter().filter(|p| !before.contains(p)) {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
        }
        return fail("left files behind".into());
    }
    Ok(())
}

fn entries(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn every_bad_input_is_refused_by_name_without_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    write(&d.join("model.npz"), &model());
    write(&d.join("rec.npz"), &recording());
    let mut silent = model();
    silent.insert("W_in", f(&[0, N], 0.0));
    write(&d.join("silent.npz"), &silent);
    std::fs::create_dir(d.join("notsweep")).unwrap();
    std::fs::write(d.join("notsweep/notes.txt"), "mine").unwrap();

    let mut cases = Vec::new();
    model_cases(d, &mut cases);
    recording_cases(d, &mut cases);
    not_npz_cases(d, &mut cases);
    connectome_cases(d, &mut cases);
    config_cases(d, &mut cases);
    recipe_cases(d, &mut cases);
    flag_cases(&mut cases);

    // The valid inputs the corpus was made from are accepted.
    for args in [
        vec![
            "simulate",
            "model.npz",
            "--inputs",
            "rec.npz",
            "--quiet",
            "--out",
            "ok1",
        ],
        vec![
            "fit",
            "--model",
            "model.npz",
            "--recording",
            "rec.npz",
            "--steps",
            "1",
            "--quiet",
            "--out",
            "ok2",
        ],
        vec!["connectome", "info", "edges.csv"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_ccrnn"))
            .current_dir(d)
            .args(&args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    for ok in ["ok1", "ok2"] {
        std::fs::remove_dir_all(d.join(ok)).unwrap();
    }

    // One after another: each must leave the directory as it found it.
    let failures = std::sync::Mutex::new(Vec::new());
    for c in &cases {
        let t0 = std::time::Instant::now();
        if let Err(e) = run(d, c) {
            failures.lock().unwrap().push(e);
        }
        if t0.elapsed().as_secs_f64() > 1.0 {
            println!("slow: {} ({:.1} s)", c.name, t0.elapsed().as_secs_f64());
        }
    }
    let failures = failures.into_inner().unwrap();
    println!(
        "bad-input corpus: {} inputs, {} refused as required",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(cases.len() >= 300, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
