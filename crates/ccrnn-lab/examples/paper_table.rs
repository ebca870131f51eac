//! The paper's Figure 1–2 setting end to end: build the N = 300 E/I teacher, train it on the
//! sine task, fit students to the readout only and to M recorded neurons, and print the table
//! of recorded / unrecorded errors against the shuffle baseline.
//!
//!     cargo run --release -p ccrnn-lab --example paper_table -- [--quick] [--n N]
//!         [--teacher-steps S] [--student-steps S] [--ms 0,1,4,16,64] [--seed K] [--out DIR]
//!
//! Writes `DIR/table.csv` and `DIR/result.json` (default DIR: runs/paper_table).

use ccrnn_core::{SimOptions, simulate};
use ccrnn_fit::{FitConfig, IterState};
use ccrnn_lab::{EiSpec, SineTask, Study, run_study};
use std::io::Write;
use std::time::Instant;

struct Args {
    n: usize,
    teacher_steps: u64,
    student_steps: u64,
    ms: Vec<usize>,
    seed: u64,
    out: std::path::PathBuf,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        n: 300,
        teacher_steps: 1400,
        student_steps: 3000,
        ms: vec![0, 1, 4, 16, 64],
        seed: 0,
        out: "runs/paper_table".into(),
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
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => a.out = val()?.into(),
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
    let teacher = trained.model;
    eprintln!("\n  trained in {:.1} s", t0.elapsed().as_secs_f64());

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
        args.n, args.teacher_steps, task_mse, args.student_steps
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
        println!(
            "{:>6} {:>12.4} {:>14.4} {:>12.3} {:>14.3} {:>11.5} {:>9.3} {:>9.4} {:>8.1}",
            s.m,
            s.recorded_mse,
            s.unrecorded_mse,
            s.recorded_corr_err,
            s.unrecorded_corr_err,
            s.readout_mse,
            s.gain_rmse,
            s.bias_rmse,
            r.seconds
        );
        csv += &format!(
            "{},{},{},{},{},{},{},{},{}\n",
            s.m,
            s.recorded_mse,
            s.unrecorded_mse,
            s.recorded_corr_err,
            s.unrecorded_corr_err,
            s.readout_mse,
            s.gain_rmse,
            s.bias_rmse,
            r.seconds
        );
    }
    println!(
        "{:>6} {:>12} {:>14.4} {:>12} {:>14.3} {:>11} {:>9.3} {:>9.4}",
        "shuf", "", b.shuffle_mse, "", b.shuffle_corr_err, "", b.shuffle_gain_rmse, b.shuffle_bias_rmse
    );
    std::fs::create_dir_all(&args.out)?;
    write_atomic(&args.out.join("table.csv"), csv.as_bytes())?;
    let json = serde_json::json!({ "n": args.n, "teacher_steps": args.teacher_steps, "teacher_task_mse": task_mse, "leading_eigenvalue": lam, "student_steps": args.student_steps, "seed": args.seed, "result": res });
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
