//! `ccrnn eval`: score a student against a teacher on trials of the chosen stimulus
//! (SCIENCE.md §6): recorded and unrecorded activity MSE and 1 − mean |ρ|, readout MSE, gain and
//! bias errors, and the shuffled-label baseline. Writes `scores.csv`, `scores.json` and the
//! teacher-vs-student traces plot.

use super::{finish, load_model, stimulus, trace_panels};
use crate::args::EvalArgs;
use crate::configs::ConfigFile;
use crate::plots;
use crate::table::{self, ScoreRow};
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::{Context, Result, bail};
use ccrnn_core::{NeuronSet, SimOptions, simulate};
use ccrnn_fit::evaluate;
use ccrnn_fit::metrics::shuffle_baseline;
use serde_json::json;

pub fn run(a: EvalArgs, ui: &Ui) -> Result<i32> {
    let teacher = load_model(&a.teacher)?.model;
    let sf = load_model(&a.student)?;
    let student = sf.model;
    if teacher.n() != student.n() || teacher.n_in() != student.n_in() || teacher.n_out() != student.n_out() {
        bail!(
            "{} has N = {}, {} inputs, {} outputs but {} has N = {}, {} inputs, {} outputs",
            a.teacher.display(),
            teacher.n(),
            teacher.n_in(),
            teacher.n_out(),
            a.student.display(),
            student.n(),
            student.n_in(),
            student.n_out()
        );
    }
    let n = teacher.n();
    super::distinct_neurons(a.neurons.as_ref())?;
    let recorded = match (&a.neurons, &sf.recorded) {
        (Some(v), _) => NeuronSet::nonempty(v, n).context("--neurons")?,
        (None, Some(v)) => NeuronSet::new(v, n).with_context(|| format!("{}: recorded", a.student.display()))?,
        (None, None) => bail!(
            "{} does not list its recorded neurons: give --neurons I,J,…",
            a.student.display()
        ),
    };
    let stim = stimulus(&a.stim, &teacher)?;
    let mut inputs = vec![a.teacher.as_path(), a.student.as_path()];
    if let Some(p) = &a.stim.inputs {
        inputs.push(p);
    }
    let mut run = crate::run::start("eval", &a.out, a.stim.stim_seed, &inputs, &ConfigFile::default())?;
    let reference = simulate(&teacher, &stim, &SimOptions::noiseless())?;
    let scores = evaluate(&teacher, &reference, &student, &stim, &recorded)?;
    let all = NeuronSet::nonempty(&(0..n).collect::<Vec<_>>(), n)?;
    let baseline = shuffle_baseline(&teacher, &reference, &all, 20, ccrnn_core::Seeds(0).shuffle());
    let rows = vec![ScoreRow::evaluation(&scores)];
    run.write("scores.csv", &table::csv(&rows)?)?;
    let doc = json!({
        "command": "eval", "rows": rows, "trials": stim.trials(), "steps": stim.steps(),
        "shuffle_mse": baseline.shuffle_mse, "shuffle_corr_err": baseline.shuffle_corr_err,
        "shuffle_gain_rmse": baseline.shuffle_gain_rmse, "shuffle_bias_rmse": baseline.shuffle_bias_rmse,
    });
    run.write("scores.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    run.metric(&doc)?;
    let student_traj = simulate(&student, &stim, &SimOptions::noiseless())?;
    let traces = trace_panels(&reference, &student_traj, recorded.indices(), teacher.dt as f64, 0);
    plots::save(&run, "traces", &traces, 3, (400, 260))?;
    finish(run, doc, ui, |dir| {
        ui.say(format!("{} trials × {} steps, noise-free", stim.trials(), stim.steps()));
        out!("{}", table::render(&rows, Some(&baseline)))?;
        outln!("wrote {}", dir.display())?;
        Ok(())
    })
}
