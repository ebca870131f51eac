//! The paper's Figure 1–2 setting end to end: build the N = 300 E/I teacher, train it on the
//! sine task, fit students to the readout only and to M recorded neurons, and print the table
//! of recorded / unrecorded errors against the shuffle baseline.
//!
//!     cargo run --release -p ccrnn-lab --example paper_table -- [--quick] [--n N]
//!         [--teacher-steps S] [--student-steps S] [--ms 0,1,4,16,64] [--seed K] [--out DIR]
//!         [--teacher DIR/teacher.npz]
//!
//! Writes `DIR/table.csv`, `DIR/result.json` and the trained teacher `DIR/teacher.npz`
//! (default DIR: runs/paper_table); `--teacher` reuses a saved teacher instead of training one.

use ccrnn_core::{Beta, Connectivity, Model, NeuronParams, SimOptions, simulate};
use ccrnn_fit::{FitConfig, IterState};
use ccrnn_lab::{EiSpec, SineTask, Study, run_study};
use std::io::Write;
use std::time::Instant;

struct Args {
    n: usize,
    teacher_steps: u64,
    student_steps: u64,
    lr: f64,
    ms: Vec<usize>,
    seed: u64,
    out: std::path::PathBuf,
    teacher: Option<std::path::PathBuf>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        n: 300,
        teacher_steps: 1400,
        student_steps: 3000,
        lr: 1e-3,
        ms: vec![0, 1, 4, 16, 64],
        seed: 0,
        out: "runs/paper_table".into(),
        teacher: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => {
                a.n = 100;
                a.teacher_steps = 600;
                a.student_steps = 600;
                a.ms = vec![0, 1, 4, 16, 32];
            }
            "--n" => a.n = val()?.parse().map_err(|e| format!("--n: {e}"))?,
            "--teacher-steps" => a.teacher_steps = val()?.parse().map_err(|e| format!("--teacher-steps: {e}"))?,
            "--student-steps" => a.student_steps = val()?.parse().map_err(|e| format!("--student-steps: {e}"))?,
            "--lr" => a.lr = val()?.parse().map_err(|e| format!("--lr: {e}"))?,
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = val()?.into(),
            "--teacher" => a.teacher = Some(val()?.into()),
            "--ms" => {
                a.ms = val()?
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().map_err(|e| format!("--ms {s:?}: {e}")))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let t_all = Instant::now();
    let task = SineTask::default();
    let spec = EiSpec {
        n: args.n,
        ..EiSpec::default()
    };
    let (teacher, lam) = match &args.teacher {
        Some(path) => {
            eprintln!("teacher: loading {}", path.display());
            (load_teacher(path)?, f64::NAN)
        }
        None => {
            eprintln!("teacher: generating E/I network, N = {} (seed {})", args.n, args.seed);
            let (raw, lam) = spec.generate(args.seed)?;
            eprintln!("  stable draw, leading eigenvalue of the linearisation {lam:.3}");
            let raw = raw.cast::<f32>();
            let (task_stim, task_y) = task.generate::<f32>(args.seed.wrapping_add(100))?;
            let tcfg = FitConfig {
                steps: args.teacher_steps,
                ..EiSpec::training_config(args.seed)
            };
            let t0 = Instant::now();
            let mut tprog = |s: &IterState<f32>| -> ccrnn_fit::Result<()> {
                eprint!(
                    "\r  training teacher: step {:>5}/{}  loss {:.5}   ",
                    s.step, tcfg.steps, s.cost
                );
                Ok(())
            };
            let mut every = ccrnn_fit::Every(50, &mut tprog);
            let trained = EiSpec::train(raw, task_stim, task_y, &tcfg, Some(&mut every))?;
            eprintln!("\n  trained in {:.1} s", t0.elapsed().as_secs_f64());
            std::fs::create_dir_all(&args.out)?;
            save_teacher(&trained.model, &args.out.join("teacher.npz"))?;
            (trained.model, lam)
        }
    };
    let n = teacher.n();

    // Held-out task trials: how well the teacher solves the task.
    let (train, _) = task.generate::<f32>(args.seed.wrapping_add(200))?;
    let (heldout, held_y) = task.generate::<f32>(args.seed.wrapping_add(300))?;
    let yt = simulate(&teacher, &heldout, &SimOptions::noiseless())?.y;
    let task_mse = (&yt - &held_y).mapv(|d| (d as f64).powi(2)).mean().unwrap_or(f64::NAN);
    eprintln!("  teacher readout MSE vs task target (held-out trials): {task_mse:.5}");

    let study = Study {
        ms: args.ms.clone(),
        fit: FitConfig {
            steps: args.student_steps,
            lr: args.lr,
            seed: args.seed,
            report_every: 50,
            ..FitConfig::default()
        },
        seed: args.seed,
        ..Study::default()
    };
    let mut prog = |row: usize, s: &IterState<f32>| {
        eprint!(
            "\r  student M = {:>3}: step {:>5}/{}  loss {:.5}   ",
            args.ms[row], s.step, args.student_steps, s.cost
        );
    };
    let res = run_study(&teacher, &train, &heldout, &study, &mut prog)?;
    eprintln!();

    let b = &res.baseline;
    println!(
        "\nN = {}, teacher trained {} steps (task MSE {:.4}), students {} Adam steps; held-out trials, noise-free",
        n, args.teacher_steps, task_mse, args.student_steps
    );
    println!(
        "{:>6} {:>12} {:>14} {:>12} {:>14} {:>11} {:>9} {:>9} {:>8}",
        "M",
        "recorded_mse",
        "unrecorded_mse",
        "rec_1-|rho|",
        "unrec_1-|rho|",
        "readout_mse",
        "gain_rms",
        "bias_rms",
        "seconds"
    );
    let mut csv = String::from(
        "m,recorded_mse,unrecorded_mse,recorded_corr_err,unrecorded_corr_err,readout_mse,gain_rmse,bias_rmse,seconds\n",
    );
    for r in &res.rows {
        let s = &r.heldout;
        let v = [
            s.recorded_mse,
            s.unrecorded_mse,
            s.recorded_corr_err,
            s.unrecorded_corr_err,
            s.readout_mse,
            s.gain_rmse,
            s.bias_rmse,
            r.seconds,
        ];
        println!(
            "{:>6} {:>12.4} {:>14.4} {:>12.3} {:>14.3} {:>11.5} {:>9.3} {:>9.4} {:>8.1}",
            s.m, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
        );
        csv += &format!("{},{}\n", s.m, v.map(|x| x.to_string()).join(","));
    }
    println!(
        "{:>6} {:>12} {:>14.4} {:>12} {:>14.3} {:>11} {:>9.3} {:>9.4}",
        "shuf", "", b.shuffle_mse, "", b.shuffle_corr_err, "", b.shuffle_gain_rmse, b.shuffle_bias_rmse
    );
    std::fs::create_dir_all(&args.out)?;
    write_atomic(&args.out.join("table.csv"), csv.as_bytes())?;
    let json = serde_json::json!({ "n": n, "teacher_steps": args.teacher_steps, "teacher_task_mse": task_mse, "leading_eigenvalue": lam, "student_steps": args.student_steps, "seed": args.seed, "result": res });
    write_atomic(
        &args.out.join("result.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    eprintln!(
        "wrote {}/table.csv and result.json; total {:.1} s",
        args.out.display(),
        t_all.elapsed().as_secs_f64()
    );
    Ok(())
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::File::create(&tmp)?.write_all(bytes)?;
    std::fs::rename(tmp, path)
}

/// Saves a model as `.npz` with the fixture's keys (`W_eff`, `mask`, `sign`, `g`, `b`, `tau`,
/// `h0`, `W_in`, `W_out`, `dt`, `beta`), written to a temporary file and renamed.
fn save_teacher(m: &Model<f32>, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use ndarray_npy::NpzWriter;
    let tmp = path.with_extension("npz.tmp");
    let mut npz = NpzWriter::new(std::fs::File::create(&tmp)?);
    let w = m.coupling.to_dense();
    let n = m.n();
    let mut mask = ndarray::Array2::<u8>::zeros((n, n));
    let p = m.coupling.pattern();
    for (k, i) in p.rows().into_iter().enumerate() {
        mask[(i as usize, p.col()[k] as usize)] = 1;
    }
    npz.add_array("W_eff", &w)?;
    npz.add_array("mask", &mask)?;
    npz.add_array("sign", &ndarray::Array1::from(m.signs.clone()))?;
    npz.add_array("g", &m.params.g)?;
    npz.add_array("b", &m.params.b)?;
    npz.add_array("tau", &m.params.tau)?;
    npz.add_array("h0", &m.params.h0)?;
    npz.add_array("W_in", &m.w_in)?;
    npz.add_array("W_out", &m.w_out)?;
    npz.add_array("dt", &ndarray::arr0(m.dt))?;
    npz.add_array("beta", &ndarray::arr0(m.params.beta.of(0)))?;
    npz.finish()?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

/// Loads a model saved by [`save_teacher`] (softplus, presynaptic gain, dense).
fn load_teacher(path: &std::path::Path) -> Result<Model<f32>, Box<dyn std::error::Error>> {
    use ndarray::{Ix0, Ix1, Ix2, OwnedRepr};
    use ndarray_npy::NpzReader;
    let ctx = |k: &str| format!("{}: array {k}", path.display());
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut npz = NpzReader::new(file).map_err(|e| format!("{}: not a readable .npz ({e})", path.display()))?;
    let w: ndarray::Array2<f32> = npz.by_name("W_eff").map_err(|e| format!("{}: {e}", ctx("W_eff")))?;
    let mask: ndarray::Array2<u8> = npz.by_name("mask").map_err(|e| format!("{}: {e}", ctx("mask")))?;
    let sign: ndarray::Array1<i8> = npz.by_name("sign").map_err(|e| format!("{}: {e}", ctx("sign")))?;
    let mut get1 = |k: &str| {
        npz.by_name::<OwnedRepr<f32>, Ix1>(k)
            .map_err(|e| format!("{}: {e}", ctx(k)))
    };
    let mut p = NeuronParams::default_for(w.nrows());
    p.g = get1("g")?;
    p.b = get1("b")?;
    p.tau = get1("tau")?;
    p.h0 = get1("h0")?;
    let w_in = npz
        .by_name::<OwnedRepr<f32>, Ix2>("W_in")
        .map_err(|e| format!("{}: {e}", ctx("W_in")))?;
    let w_out = npz
        .by_name::<OwnedRepr<f32>, Ix2>("W_out")
        .map_err(|e| format!("{}: {e}", ctx("W_out")))?;
    let dt = npz
        .by_name::<OwnedRepr<f32>, Ix0>("dt")
        .map_err(|e| format!("{}: {e}", ctx("dt")))?
        .into_scalar();
    p.beta = Beta::Global(
        npz.by_name::<OwnedRepr<f32>, Ix0>("beta")
            .map_err(|e| format!("{}: {e}", ctx("beta")))?
            .into_scalar(),
    );
    let conn = Connectivity::from_dense(w.view(), Some(mask.mapv(|x| x != 0).view()), sign.to_vec())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Model::builder(conn)
        .params(p)
        .w_in(w_in)
        .w_out(w_out)
        .dt(dt)
        .build()
        .map_err(|e| format!("{}: {e}", path.display()))?)
}
