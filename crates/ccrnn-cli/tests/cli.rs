//! Runs the `ccrnn` binary: the quick demo, every subcommand on tiny inputs, and bad input.

use ndarray::{Array1, Array2, Array3};
use ndarray_npy::NpzWriter;
use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::*;

#[test]
fn demo_quick_json_shows_unrecorded_error_falling_with_m() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = json(tmp.path(), &["demo", "--quick", "--json", "--quiet", "--out", "demo"]);
    let rows = doc["rows"].as_array().expect("rows");
    let reps = doc["replicates"].as_u64().unwrap() as usize;
    assert!(reps >= 3, "{reps} replicates");
    assert!(rows.len() >= 3 * reps);
    assert_eq!(rows[0]["m"], 0);
    for (i, r) in rows.iter().enumerate() {
        for k in [
            "m",
            "unrecorded_mse",
            "unrecorded_corr_err",
            "gain_rmse",
            "bias_rmse",
            "steps",
        ] {
            assert!(r[k].is_number(), "row lacks {k}: {r}");
        }
        assert!(r.get("recorded_mse").is_some());
        assert_eq!(
            r["replicate"].as_u64().unwrap() as usize,
            i % reps,
            "rows by M, then replicate"
        );
        assert!(r["stopped"].is_string(), "row lacks stopped: {r}");
    }
    // Medians over replicates: the readout-only students' and the largest M's.
    let median = |m: u64| {
        let mut v: Vec<f64> = rows
            .iter()
            .filter(|r| r["m"].as_u64() == Some(m))
            .map(|r| r["unrecorded_corr_err"].as_f64().unwrap())
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let largest = rows.last().unwrap()["m"].as_u64().unwrap();
    let (first, last) = (median(0), median(largest));
    let shuffle = doc["shuffle_corr_err"].as_f64().unwrap();
    assert!(
        last < 0.5 * first,
        "unrecorded 1 − |ρ| did not fall: readout-only median {first}, M = {largest} median {last}"
    );
    assert!(
        last < 0.5 * shuffle,
        "M = {largest}: median unrecorded 1 − |ρ| {last} not far below the shuffle level {shuffle}"
    );
    let d = tmp.path().join("demo");
    has_run_files(
        &d,
        &[
            "metrics.jsonl",
            "table.csv",
            "result.json",
            "teacher.npz",
            "students.npz",
            "error_vs_m.svg",
            "error_vs_m.png",
            "loss.svg",
            "loss.png",
            "traces.svg",
            "traces.png",
        ],
    );
    let png = std::fs::read(d.join("error_vs_m.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(d.join("error_vs_m.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("recorded neurons M"));
    let csv = std::fs::read_to_string(d.join("table.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    let first_metric: Value = serde_json::from_str(
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert!(first_metric["loss"].is_number());
    // The recorded configuration reruns the same demo.
    ok(tmp.path(), &["config", "check", "demo/config.toml"]);
}

/// Writes a config with a small chaotic teacher.
fn small_teacher_config(dir: &Path) -> PathBuf {
    let p = dir.join("teacher.toml");
    std::fs::write(
        &p,
        "[teacher]\nkind = \"chaotic\"\nseed = 3\ntrials = 6\nsteps = 120\n\n[teacher.chaotic]\nn = 40\n",
    )
    .unwrap();
    p
}

#[test]
fn every_subcommand_on_tiny_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_teacher_config(d);
    let t = json(d, &["teacher", "--config", "teacher.toml", "--json", "--out", "t"]);
    assert_eq!(t["n"], 40);
    has_run_files(&d.join("t"), &["teacher.npz", "stimulus.npz"]);

    let s = json(
        d,
        &[
            "simulate",
            "t/teacher.npz",
            "--inputs",
            "t/stimulus.npz",
            "--json",
            "--out",
            "s",
        ],
    );
    assert_eq!(s["trials"], 6);
    assert_eq!(s["steps"], 120);
    // stimulus.npz holds the activity of the teacher as built in memory; the saved and
    // reloaded teacher reproduces it exactly.
    assert_eq!(
        read3(&d.join("t/stimulus.npz"), "activity"),
        read3(&d.join("s/trajectory.npz"), "activity"),
        "the reloaded teacher simulates differently"
    );
    // Inputs from a .npy file.
    ndarray_npy::write_npy(d.join("u.npy"), &Array3::<f32>::zeros((2, 30, 2))).unwrap();
    ok(d, &["teacher", "--n", "12", "--steps", "1", "--quiet", "--out", "tiny"]);
    let v = json(
        d,
        &[
            "simulate",
            "tiny/teacher.npz",
            "--inputs",
            "u.npy",
            "--json",
            "--out",
            "su",
        ],
    );
    assert_eq!(v["steps"], 30);
    // Same seed, different thread counts: identical files.
    ok(
        d,
        &[
            "simulate",
            "t/teacher.npz",
            "--inputs",
            "t/stimulus.npz",
            "--noise",
            "0.01",
            "--seed",
            "5",
            "--threads",
            "1",
            "--out",
            "n1",
        ],
    );
    ok(
        d,
        &[
            "simulate",
            "t/teacher.npz",
            "--inputs",
            "t/stimulus.npz",
            "--noise",
            "0.01",
            "--seed",
            "5",
            "--threads",
            "2",
            "--out",
            "n2",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("n1/trajectory.npz")).unwrap(),
        std::fs::read(d.join("n2/trajectory.npz")).unwrap()
    );

    // a student fitted to 8 recorded neurons of the simulated recording
    let fit_json = |extra: &[&str], out: &str| {
        let args = [
            "fit",
            "--model",
            "t/teacher.npz",
            "--recording",
            "s/trajectory.npz",
            "--m",
            "8",
        ];
        json(d, &[&args[..], extra, &["--json", "--out", out]].concat())
    };
    let f = fit_json(&["--steps", "40"], "f");
    assert_eq!(f["m"], 8);
    assert_eq!(f["steps"], 40);
    assert_eq!(f["method"], "lbfgs");
    // the Gauss-Newton method on the same recording: a few of its iterations go further down
    // than L-BFGS's first few
    let gn = fit_json(&["--method", "gauss-newton", "--steps", "4"], "fg");
    let lb = fit_json(&["--method", "lbfgs", "--steps", "4"], "fl");
    assert_eq!(gn["method"], "gauss-newton");
    assert!(gn["evaluations"].as_u64().unwrap() > gn["steps"].as_u64().unwrap());
    let (lg, ll) = (gn["final_loss"].as_f64().unwrap(), lb["final_loss"].as_f64().unwrap());
    assert!(lg < ll, "gauss-newton {lg} vs lbfgs {ll} after 4 iterations");
    has_run_files(
        &d.join("f"),
        &[
            "student.npz",
            "loss.csv",
            "loss.svg",
            "loss.png",
            "metrics.jsonl",
            "neurons.csv",
        ],
    );
    // each recorded neuron's fit against the recording, one row per neuron
    let per_neuron = std::fs::read_to_string(d.join("f/neurons.csv")).unwrap();
    assert_eq!(per_neuron.lines().count(), 9, "{per_neuron}");
    assert!(per_neuron.starts_with("neuron,id,label,mse,one_minus_rho,data_sd,poorly_fitted"));
    let rho_err = f["median_one_minus_rho"].as_f64().unwrap();
    assert!((0.0..=2.0).contains(&rho_err), "median 1 - rho {rho_err}");
    assert!(f["poorly_fitted"].is_array());
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(d.join("f/meta.json")).unwrap()).unwrap();
    assert_eq!(meta["inputs"].as_array().unwrap().len(), 2);
    assert_eq!(meta["inputs"][0]["sha256"].as_str().unwrap().len(), 64);

    let e = json(
        d,
        &[
            "eval",
            "--teacher",
            "t/teacher.npz",
            "--student",
            "f/student.npz",
            "--inputs",
            "t/stimulus.npz",
            "--json",
            "--out",
            "e",
        ],
    );
    let row = &e["rows"][0];
    assert_eq!(row["m"], 8);
    assert!(row["unrecorded_mse"].as_f64().unwrap() >= 0.0);
    assert!(e["shuffle_mse"].as_f64().unwrap() > 0.0);
    has_run_files(&d.join("e"), &["scores.csv", "scores.json", "traces.svg", "traces.png"]);
    // Theory commands on the same files.
    let h = json(
        d,
        &[
            "analyze",
            "hessian",
            "--model",
            "t/teacher.npz",
            "--student",
            "f/student.npz",
            "--initial",
            "f/initial.npz",
            "--inputs",
            "t/stimulus.npz",
            "--time-stride",
            "5",
            "--json",
            "--out",
            "h",
        ],
    );
    assert_eq!(h["parameters"], 80);
    assert_eq!(h["rows"], 8, "rows default to the student's recorded neurons");
    assert!(h["decades"].as_f64().unwrap() > 0.0);
    for k in ["removed_top10", "removed_bottom50", "removed_all"] {
        assert!(h[k].as_f64().unwrap() <= 1.0, "{k}: {}", h[k]);
    }
    has_run_files(
        &d.join("h"),
        &[
            "hessian.npz",
            "spectrum.csv",
            "projection.csv",
            "spectrum.svg",
            "spectrum.png",
        ],
    );
    let p = json(
        d,
        &[
            "prioritize",
            "--model",
            "f/student.npz",
            "--inputs",
            "t/stimulus.npz",
            "--time-stride",
            "5",
            "--random-orders",
            "3",
            "--json",
            "--out",
            "p",
        ],
    );
    assert_eq!(p["already_recorded"].as_array().unwrap().len(), 8);
    let ranking = p["ranking"].as_array().unwrap();
    assert!(!ranking.is_empty());
    let rem: Vec<f64> = ranking
        .iter()
        .map(|r| r["predicted_remaining"].as_f64().unwrap())
        .collect();
    assert!(rem.windows(2).all(|w| w[1] <= w[0] + 1e-12), "{rem:?}");
    assert!(rem[0] <= p["initial_remaining"].as_f64().unwrap());
    has_run_files(
        &d.join("p"),
        &[
            "ranking.csv",
            "orders.csv",
            "predicted_error.svg",
            "predicted_error.png",
        ],
    );
    let csv = std::fs::read_to_string(d.join("p/ranking.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 40 - 8, "every unrecorded neuron is ranked");
    let dm = json(
        d,
        &[
            "analyze",
            "dimension",
            "--model",
            "t/teacher.npz",
            "--inputs",
            "t/stimulus.npz",
            "--json",
            "--out",
            "dm",
        ],
    );
    let pr = dm["participation_ratio"].as_f64().unwrap();
    assert!((1.0..=40.0).contains(&pr), "PR {pr}");
    // The human table names the rows.
    let table = ok(
        d,
        &[
            "eval",
            "--teacher",
            "t/teacher.npz",
            "--student",
            "f/student.npz",
            "--inputs",
            "t/stimulus.npz",
            "--quiet",
            "--out",
            "e2",
        ],
    );
    assert!(table.contains("unrecorded") && table.contains("shuffle"), "{table}");

    // The task teacher: built, trained a few steps, driven by the sine task.
    let t = json(
        d,
        &[
            "teacher", "--n", "20", "--steps", "3", "--seed", "1", "--json", "--out", "ei",
        ],
    );
    assert_eq!(t["steps"], 3);
    ok(
        d,
        &[
            "simulate",
            "ei/teacher.npz",
            "--sine-task",
            "--trials",
            "3",
            "--out",
            "eis",
        ],
    );
    // Linear theory on its connectome: every neuron ranked, best needs no more than worst.
    let lin = json(
        d,
        &[
            "prioritize",
            "--model",
            "ei/teacher.npz",
            "--linear",
            "--json",
            "--out",
            "lin",
        ],
    );
    let need = &lin["recordings_needed"]["0.01"];
    assert!(
        need["best"].as_u64().unwrap() <= need["worst"].as_u64().unwrap(),
        "{need}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("lin/ranking.csv"))
            .unwrap()
            .lines()
            .count(),
        21
    );

    for preset in ["teacher-ei", "teacher-low-rank", "teacher-chaotic", "fit", "demo"] {
        let file = format!("{preset}.toml");
        ok(d, &["config", "init", preset, "--out", &file]);
        let v = json(d, &["config", "check", &file, "--json"]);
        assert_eq!(v["valid"], true, "{preset}: {v}");
    }
    std::fs::write(d.join("neg.toml"), "[fit]\nlr = -1\n").unwrap();
    let o = ccrnn(d, &["config", "check", "neg.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("fit.lr = -1: must be > 0"));
}

#[test]
fn connectome_info_describes_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A 3-cycle of 2 synapses each (Perron root 2) plus an inhibitory feedback.
    std::fs::write(
        d.join("c.csv"),
        "pre_root_id,post_root_id,neuropil,syn_count,nt_type\n1,2,A,1,ACH\n1,2,B,1,ACH\n2,3,A,2,ACH\n3,1,A,2,GABA\n3,3,A,9,GABA\n",
    )
    .unwrap();
    let v = json(d, &["connectome", "info", "c.csv", "--json"]);
    assert_eq!(v["neurons"], 3);
    assert_eq!(v["edges"], 3);
    assert_eq!(v["synapses"], 6.0);
    assert_eq!(v["report"]["merged_rows"], 1);
    assert_eq!(v["report"]["self_loops"], 1);
    assert!(
        (v["spectral_radius_counts"].as_f64().unwrap() - 2.0).abs() < 1e-6,
        "{v}"
    );
    assert!(
        (v["spectral_radius_signed"].as_f64().unwrap() - 2.0).abs() < 1e-9,
        "{v}"
    );
    let k = json(d, &["connectome", "info", "c.csv", "--keep-ids", "1,2", "--json"]);
    assert_eq!(k["neurons"], 2);
    assert_eq!(k["report"]["deselected"], 1);
    let w = json(
        d,
        &["connectome", "info", "celegans", "--keep-label", "sensory", "--json"],
    );
    assert_eq!(w["neurons"], 83);
    let o = ccrnn(d, &["connectome", "info", "c.csv", "--glutamate-sign", "3"]);
    assert_eq!(o.status.code(), Some(2));
    // The flyvis wiring on a small lattice (63 types × 19 columns + Lawf1/2 on 3 columns each).
    let f = json(d, &["connectome", "info", "flyvis", "--extent", "2", "--json"]);
    assert_eq!(f["neurons"], 63 * 19 + 2 * 3);
    assert_eq!(f["report"]["mixed_sign"], 4 * 19);
}

#[test]
fn connectome_teacher_writes_model_stimuli_and_timing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let v = json(
        d,
        &[
            "connectome",
            "teacher",
            "larva-mb-left",
            "--input-label",
            "PN",
            "--inhibitory-label",
            "MBON",
            "--trials",
            "3",
            "--quiet",
            "--json",
            "--out",
            "t",
        ],
    );
    assert_eq!((v["neurons"].as_u64(), v["inputs"].as_u64()), (Some(209), Some(58)));
    assert!((v["leading_eigenvalue"].as_f64().unwrap() - 0.9).abs() < 0.01, "{v}");
    assert!(v["seconds_per_step"].as_f64().unwrap() > 0.0);
    has_run_files(
        &d.join("t"),
        &["teacher.npz", "stimulus.npz", "heldout.npz", "summary.json"],
    );
    let act = read3(&d.join("t/stimulus.npz"), "activity");
    assert_eq!(act.dim(), (3, 400, 209));
    // The saved teacher reproduces the saved activity (to f32 rounding: the loaded model may
    // sum in another order).
    ok(
        d,
        &[
            "simulate",
            "t/teacher.npz",
            "--inputs",
            "t/stimulus.npz",
            "--quiet",
            "--out",
            "s",
        ],
    );
    let again = read3(&d.join("s/trajectory.npz"), "activity");
    let scale = act.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = (&again - &act).iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(diff <= 1e-5 * scale, "max difference {diff} (scale {scale})");
}

#[test]
fn connectome_study_on_the_bundled_worm() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let v = json(
        d,
        &[
            "connectome",
            "study",
            "celegans",
            "--input-label",
            "sensory",
            "--ms",
            "0,8",
            "--steps",
            "3",
            "--trials",
            "4",
            "--quiet",
            "--json",
            "--out",
            "s",
        ],
    );
    assert_eq!(v["neurons"], 302);
    let lam = v["leading_eigenvalue"].as_f64().unwrap();
    assert!((lam - 0.9).abs() < 0.01, "leading eigenvalue {lam}");
    assert_eq!(v["inputs"], 83);
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    assert_eq!(v["no_recurrence_rows"].as_array().unwrap().len(), 2);
    assert!(v["shuffle_mse"].as_f64().unwrap() > 0.0);
    has_run_files(
        &d.join("s"),
        &[
            "teacher.npz",
            "table.csv",
            "table_no_recurrence.csv",
            "connectome_report.json",
            "error_vs_m.png",
        ],
    );
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(d.join("s/meta.json")).unwrap()).unwrap();
    assert!(
        meta["inputs"].as_array().unwrap().is_empty(),
        "a built-in name is not a file"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("s/connectome_report.json")).unwrap()).unwrap();
    assert_eq!(report["self_loops"], 38);
    assert_eq!(report["files"][0]["path"], "builtin:celegans/edges.csv");
    // The teacher keeps the connectome's ids; a ranking names them.
    ok(
        d,
        &[
            "prioritize",
            "--model",
            "s/teacher.npz",
            "--linear",
            "--quiet",
            "--out",
            "p",
        ],
    );
    let csv = std::fs::read_to_string(d.join("p/ranking.csv")).unwrap();
    let first = csv.lines().nth(1).unwrap();
    let id: u64 = first.split(',').nth(2).unwrap().parse().unwrap();
    assert!((1..=302).contains(&id), "{first}");
    let o = ccrnn(
        d,
        &[
            "connectome",
            "study",
            "celegans",
            "--input-label",
            "nosuch",
            "--out",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("label \"nosuch\" matches no neuron"));
}

fn read3(path: &Path, name: &str) -> Array3<f32> {
    let mut z = ndarray_npy::NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
    z.by_name(name).unwrap()
}

fn write_npz(path: &Path, f: impl FnOnce(&mut NpzWriter<std::fs::File>)) {
    let mut z = NpzWriter::new(std::fs::File::create(path).unwrap());
    f(&mut z);
    z.finish().unwrap();
}

#[test]
fn bad_input_exits_2_naming_file_and_problem_and_leaves_no_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_teacher_config(d);
    ok(d, &["teacher", "--config", "teacher.toml", "--quiet", "--out", "t"]);
    let run = ["--out", "runs/x"];
    let with = |a: &[&'static str]| -> Vec<&'static str> { a.iter().chain(&run).copied().collect() };

    fails(d, &with(&["simulate", "missing.npz"]), &["missing.npz", "No such file"]);
    fails(
        d,
        &with(&["fit", "--model", "t/teacher.npz", "--recording", "nowhere.npz"]),
        &["nowhere.npz"],
    );

    std::fs::write(d.join("malformed.toml"), "[teacher]\nkind = \"chaotic\"\nseed = \n").unwrap();
    fails(
        d,
        &with(&["teacher", "--config", "malformed.toml"]),
        &["malformed.toml", "line 3"],
    );
    std::fs::write(d.join("unknown.toml"), "[teacher]\nkind = \"chaotic\"\nsede = 1\n").unwrap();
    fails(
        d,
        &with(&["teacher", "--config", "unknown.toml"]),
        &["unknown.toml", "unknown field `sede`"],
    );
    std::fs::write(d.join("unknown_fit.toml"), "[fit]\nstep = 10\n").unwrap();
    fails(
        d,
        &with(&[
            "fit",
            "--model",
            "t/teacher.npz",
            "--recording",
            "t/stimulus.npz",
            "--config",
            "unknown_fit.toml",
        ]),
        &["unknown_fit.toml", "unknown field `step`"],
    );

    // Model files: a wrong shape and a missing array.
    let good = d.join("t/teacher.npz");
    let n = 40;
    let base = |z: &mut NpzWriter<std::fs::File>, g_len: usize, with_b: bool| {
        z.add_array("W", &Array2::<f32>::zeros((n, n))).unwrap();
        z.add_array("g", &Array1::<f32>::ones(g_len)).unwrap();
        if with_b {
            z.add_array("b", &Array1::<f32>::zeros(n)).unwrap();
        }
        z.add_array("tau", &ndarray::arr0(1.0f32)).unwrap();
        z.add_array("beta", &ndarray::arr0(1.0f32)).unwrap();
        z.add_array("h0", &Array1::<f32>::zeros(n)).unwrap();
        z.add_array("dt", &ndarray::arr0(0.05f32)).unwrap();
    };
    write_npz(&d.join("shape.npz"), |z| base(z, n - 1, true));
    fails(
        d,
        &with(&["simulate", "shape.npz"]),
        &["shape.npz", "array 'g'", "expected 40 neurons, got 39"],
    );
    write_npz(&d.join("nob.npz"), |z| base(z, n, false));
    fails(d, &with(&["simulate", "nob.npz"]), &["nob.npz", "no array 'b'"]);
    write_npz(&d.join("fine.npz"), |z| base(z, n, true));
    ok(
        d,
        &[
            "simulate", "fine.npz", "--trials", "2", "--steps", "5", "--quiet", "--out", "fine",
        ],
    );
    assert!(good.is_file());

    // Recordings: NaN, a wrong shape, a missing array.
    let mut act = Array3::<f32>::zeros((3, 10, 4));
    act[(2, 7, 1)] = f32::NAN;
    write_npz(&d.join("nan.npz"), |z| {
        z.add_array("activity", &act).unwrap();
        z.add_array("recorded", &Array1::from(vec![0i64, 1, 2, 3])).unwrap();
    });
    let fit = |rec: &'static str| with(&["fit", "--model", "t/teacher.npz", "--recording", rec, "--steps", "2"]);
    fails(d, &fit("nan.npz"), &["nan.npz", "'activity'", "[2, 7, 1]", "NaN"]);
    write_npz(&d.join("cols.npz"), |z| {
        z.add_array("activity", &Array3::<f32>::zeros((3, 10, 4))).unwrap();
        z.add_array("recorded", &Array1::from(vec![0i64, 1, 2])).unwrap();
    });
    fails(d, &fit("cols.npz"), &["cols.npz", "4 neurons but 'recorded' lists 3"]);
    write_npz(&d.join("norec.npz"), |z| {
        z.add_array("activity", &Array3::<f32>::zeros((3, 10, 4))).unwrap()
    });
    fails(d, &fit("norec.npz"), &["norec.npz", "no 'recorded' array", "--neurons"]);
    std::fs::write(d.join("junk.npz"), b"PK not really").unwrap();
    fails(d, &fit("junk.npz"), &["junk.npz", "not a readable .npz"]);

    // Bad values on the command line.
    fails(
        d,
        &with(&[
            "fit",
            "--model",
            "t/teacher.npz",
            "--recording",
            "t/stimulus.npz",
            "--lr",
            "-1",
        ]),
        &["fit.lr = -1"],
    );
    fails(
        d,
        &with(&[
            "fit",
            "--model",
            "t/teacher.npz",
            "--recording",
            "t/stimulus.npz",
            "--m",
            "99",
        ]),
        &["--m 99"],
    );
    let fit_stim = |extra: &[&'static str]| {
        let mut v = vec!["fit", "--model", "t/teacher.npz", "--recording", "t/stimulus.npz"];
        v.extend_from_slice(extra);
        with(&v)
    };
    fails(d, &fit_stim(&["--steps", "0"]), &["fit.steps = 0"]);
    fails(
        d,
        &fit_stim(&["--neurons", "3,3"]),
        &["--neurons", "neuron 3 is listed twice"],
    );
    std::fs::write(d.join("student_only.toml"), "[student]\ngain_factor = 0.5\n").unwrap();
    fails(
        d,
        &fit_stim(&["--config", "student_only.toml"]),
        &["student_only.toml", "no [fit] section"],
    );
    let o = ccrnn(
        d,
        &["sweep", "run", "fig2-recordings", "--jobs", "0", "--out", "runs/x"],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(2) && err.contains("--jobs"), "--jobs 0: {err}");
    fails(
        d,
        &["connectome", "info", "celegans", "--threshold", "-3"],
        &["--threshold", "must be finite and >= 0"],
    );
    // An existing run directory is not overwritten without --force.
    fails(
        d,
        &["simulate", "t/teacher.npz", "--inputs", "t/stimulus.npz", "--out", "t"],
        &["already exists"],
    );
    assert!(!d.join("runs").exists(), "a failed run created runs/");
}

/// The worm with its gap junctions: the teacher carries them (1,091 coupled pairs of Cook et
/// al.'s symmetric matrix), stores them in teacher.npz, and the loaded model reproduces the
/// saved activity.
#[test]
fn connectome_teacher_with_the_worms_gap_junctions() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let args = |out: &'static str, gaps: bool| {
        let mut v = vec![
            "connectome",
            "teacher",
            "celegans",
            "--input-label",
            "sensory",
            "--trials",
            "2",
        ];
        if gaps {
            v.extend(["--gap-junctions", "celegans", "--gap-scale", "0.1"]);
        }
        v.extend(["--quiet", "--json", "--out", out]);
        v
    };
    let v = json(d, &args("g", true));
    assert_eq!(v["gap_junctions"], 1091);
    assert!((v["leading_eigenvalue"].as_f64().unwrap() - 0.9).abs() < 0.01, "{v}");
    has_run_files(&d.join("g"), &["gap_junctions_report.json"]);
    let plain = json(d, &args("p", false));
    assert!(plain["gap_junctions"].is_null());
    let (a, b) = (
        read3(&d.join("g/stimulus.npz"), "activity"),
        read3(&d.join("p/stimulus.npz"), "activity"),
    );
    assert!(
        (&a - &b).iter().any(|x| x.abs() > 1e-3),
        "the gap junctions change the teacher"
    );
    ok(
        d,
        &[
            "simulate",
            "g/teacher.npz",
            "--inputs",
            "g/stimulus.npz",
            "--quiet",
            "--out",
            "s",
        ],
    );
    let again = read3(&d.join("s/trajectory.npz"), "activity");
    let scale = a.iter().fold(0f32, |m, x| m.max(x.abs()));
    let diff = (&again - &a).iter().fold(0f32, |m, x| m.max(x.abs()));
    assert!(diff <= 1e-5 * scale, "max difference {diff} (scale {scale})");
    let o = ccrnn(
        d,
        &[
            "connectome",
            "teacher",
            "celegans",
            "--gap-junctions",
            "nosuch.csv",
            "--out",
            "x",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nosuch.csv"));
    assert!(!d.join("x").exists());
}

/// The elementwise kernels' AVX2/FMA copies and their baseline (SSE2) copies give the same
/// numbers bit for bit: a noisy simulation, and fits by Adam (backpropagation) and by
/// Gauss–Newton (tangents), run once on each path (the baseline forced by the environment).
#[test]
fn elementwise_kernel_paths_give_identical_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok(d, &["teacher", "--preset", "chaotic", "--quiet", "--out", "t"]);
    let run = |tag: &str, baseline: bool| -> Vec<(String, Vec<u32>)> {
        let go = |args: &[&str]| {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ccrnn"));
            cmd.current_dir(d).args(args);
            if baseline {
                cmd.env("CCRNN_KERNELS", "baseline");
            }
            let o = cmd.output().unwrap();
            assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        };
        let sim = format!("sim-{tag}");
        go(&[
            "simulate",
            "t/teacher.npz",
            "--trials",
            "9",
            "--steps",
            "60",
            "--noise",
            "0.05",
            "--quiet",
            "--out",
            &sim,
        ]);
        let rec = format!("{sim}/trajectory.npz");
        let mut arrays = Vec::new();
        let mut read = |file: &str, names: &[&str]| {
            let mut z = ndarray_npy::NpzReader::new(std::fs::File::open(d.join(file)).unwrap()).unwrap();
            for name in names {
                let a: ndarray::ArrayD<f32> = z.by_name(name).unwrap();
                let what = format!("{file}:{name}").replace(tag, "");
                arrays.push((what, a.iter().map(|x| x.to_bits()).collect()));
            }
        };
        read(&rec, &["activity", "h"]);
        for method in ["adam", "gauss-newton"] {
            let out = format!("fit-{method}-{tag}");
            go(&[
                "fit",
                "--model",
                "t/teacher.npz",
                "--recording",
                &rec,
                "--m",
                "12",
                "--method",
                method,
                "--steps",
                "4",
                "--train",
                "g,b,tau",
                "--quiet",
                "--out",
                &out,
            ]);
            read(&format!("{out}/student.npz"), &["g", "b", "tau"]);
        }
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(&sim).join("meta.json")).unwrap()).unwrap();
        let path = meta["elementwise_kernels"].as_str().unwrap().to_string();
        arrays.push((path, Vec::new()));
        arrays
    };
    let fast = run("default", false);
    let base = run("baseline", true);
    assert_eq!(base.last().unwrap().0, "baseline");
    for (a, b) in fast.iter().zip(&base).take(fast.len() - 1) {
        assert_eq!(a.0, b.0);
        assert!(a.1 == b.1, "{}: the two kernel paths differ", a.0);
    }
    eprintln!(
        "elementwise kernels compared: {} against baseline",
        fast.last().unwrap().0
    );
}
