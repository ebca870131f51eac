//! Fits one student task of a sweep directory again, outside the sweep, with other fitting
//! knobs, printing every iteration (loss, evaluations, λ, seconds) to stderr and the scores on
//! held-out trials: the diagnostic behind the tuning of paper-scale fits.
//!
//!     cargo run --release -p ccrnn-lab --example probe_student -- DIR TASK_ID \
//!         [steps=200] [max_cg=50] [cg_tol=0.1] [w_scale=1] [adam_lr=0.01]
//!
//! `steps`, `max_cg`, `cg_tol`: the Gauss–Newton cap and its conjugate-gradient solves;
//! `w_scale`: multiplies the initial weights of an unconstrained student; `adam_lr`: fit by
//! Adam (the recipe's batch size and clip) at this learning rate instead.

use ccrnn_core::{SimOptions, simulate};
use ccrnn_fit::{GaussNewton, IterState, Method, MethodKind, SolverState, evaluate, fit};
use ccrnn_lab::sweep::{SweepDir, TaskSpec, student_task, teacher_task};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        return Err("usage: probe_student DIR TASK_ID [key=value ...] (see the file's header)".into());
    }
    let dir = SweepDir::open(std::path::Path::new(&args[0]))?;
    let task = dir.task(&args[1])?.clone();
    let TaskSpec::Student(spec) = &task.spec else {
        return Err("not a student task".into());
    };
    let teacher_id = &task.needs[0];
    let data = teacher_task::load(&dir.task_dir(teacher_id))?;
    let summary: teacher_task::TeacherSummary = dir.result(teacher_id)?;
    let student_task::Prepared {
        mut init,
        recorded,
        data: fit_data,
        fit: mut fit_cfg,
    } = student_task::prepare(&dir.recipe, task.seed, spec, &data, &summary)?;
    let mut gn = GaussNewton::default();
    let mut w_scale = 1.0f32;
    for kv in &args[2..] {
        let (k, v) = kv.split_once('=').ok_or("key=value")?;
        match k {
            "steps" => fit_cfg.steps = v.parse()?,
            "max_cg" => gn.max_cg = v.parse()?,
            "cg_tol" => gn.cg_tol = v.parse()?,
            "w_scale" => w_scale = v.parse()?,
            "adam_lr" => {
                fit_cfg.lr = v.parse()?;
                fit_cfg.method = MethodKind::Adam;
            }
            _ => return Err(format!("unknown {k}").into()),
        }
    }
    if w_scale != 1.0 {
        let w = ccrnn_core::GroupSet::parse(&["w"])?;
        let th: Vec<f32> = init.theta(w).iter().map(|x| x * w_scale).collect();
        init.set_theta(w, &th)?;
    }
    let mut cfg = fit_cfg.validate()?;
    if cfg.method.kind() == MethodKind::GaussNewton {
        cfg.method = Method::GaussNewton(gn);
    }
    let start = Instant::now();
    let mut trace = |s: &IterState<f32>| -> ccrnn_fit::Result<()> {
        let lambda = match &s.solver {
            SolverState::GaussNewton { lambda, .. } => lambda.map(|l| l as f64).unwrap_or(f64::NAN),
            _ => f64::NAN,
        };
        eprintln!(
            "{:4} loss {:.5e} evals {:5} lambda {:.2e} {:.1}s",
            s.step,
            s.cost,
            s.evaluations,
            lambda,
            start.elapsed().as_secs_f64()
        );
        Ok(())
    };
    let mut every = ccrnn_fit::Every(1, &mut trace);
    let out = fit(init, data.train.clone(), fit_data, &cfg, None, Some(&mut every))?;
    let reference = simulate(&data.model, &data.heldout, &SimOptions::noiseless())?;
    let student = if spec.unconstrained {
        student_task::match_unrecorded(&reference.a, &out.model, &data, &recorded)?
    } else {
        out.model.clone()
    };
    let s = evaluate(&data.model, &reference, &student, &data.heldout, &recorded)?;
    println!(
        "{} {:?}: {} iterations, {} evaluations, {:.1} s; recorded 1-|rho| {:.4}, unrecorded {:.4} (shuffle {:.3})",
        task.id,
        out.termination,
        out.state.step,
        out.state.evaluations,
        start.elapsed().as_secs_f64(),
        s.recorded_corr_err,
        s.unrecorded_corr_err,
        summary.shuffle_corr_err
    );
    Ok(())
}
