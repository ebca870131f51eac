//! One module per subcommand; shared pieces (stimulus choice, standard plots) here.

mod analyze;
mod config;
mod connectome;
mod connectome_study;
mod connectome_teacher;
mod cv;
mod demo;
mod eval;
mod fit;
mod imaging;
mod prioritize;
mod report;
mod simulate;
mod slurm;
mod study_report;
mod sweep;
mod teacher;

use crate::args::{Command, StimArgs};
use crate::plots::{Panel, Series, color};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, bail};
use ccrnn_core::{Model, Stimulus, Trajectory};
use ccrnn_fit::History;
use ccrnn_lab::SineTask;
use std::path::Path;

/// Runs a subcommand; the exit code on success (0, or 1 for a failed check).
pub fn run(cmd: Command, ui: &Ui) -> Result<i32> {
    match cmd {
        Command::Demo(a) => demo::run(a, ui),
        Command::Teacher(a) => teacher::run(a, ui),
        Command::Simulate(a) => simulate::run(a, ui),
        Command::Fit(a) => fit::run(a, ui),
        Command::Eval(a) => eval::run(a, ui),
        Command::Config(c) => config::run(c, ui),
        Command::Analyze(c) => analyze::run(c, ui),
        Command::Prioritize(a) => prioritize::run(a, ui),
        Command::Connectome(c) => connectome::run(c, ui),
        Command::Imaging(a) => imaging::run(a, ui),
        Command::Cv(a) => cv::run(a, ui),
        Command::Sweep(c) => sweep::run(c, ui),
        Command::Report(a) => report::run(a, ui),
    }
}

/// Turns the reproducible mode on if `on` (the flag, a config or a recipe asked for it); never
/// turns it off, so any one of them suffices.
pub(crate) fn reproducible_if(on: bool) {
    if on {
        ccrnn_core::kernels::set_reproducible(true);
    }
}

/// Refuses a `--neurons` list that names a neuron twice (a recording file with a repeated
/// neuron is refused too): a repeat is a typing slip, not a request.
pub(crate) fn distinct_neurons(list: Option<&Vec<usize>>) -> Result<()> {
    if let Some(l) = list {
        let mut seen = std::collections::BTreeSet::new();
        if let Some(i) = l.iter().find(|&&i| !seen.insert(i)) {
            anyhow::bail!("--neurons: neuron {i} is listed twice");
        }
    }
    Ok(())
}

/// Moves the run directory into place, then prints `doc` (with `run_dir` added) as one JSON
/// document if `--json`, else calls `human` with the final directory.
fn finish(
    run: ccrnn_io::RunDir,
    mut doc: serde_json::Value,
    ui: &Ui,
    human: impl FnOnce(&Path) -> Result<()>,
) -> Result<i32> {
    let dir = run.finish()?;
    if ui.json {
        doc["run_dir"] = serde_json::json!(dir.display().to_string());
        outln!("{}", serde_json::to_string(&doc)?)?;
    } else {
        human(&dir)?;
    }
    Ok(0)
}

/// A fitting observer: moves `bar`, appends `{..extra, step, loss, grad_norm}` to the run's
/// `metrics.jsonl`, keeping the first write error in `err` (observers cannot fail the fit for
/// a full disk; the command reports it after the fit).
fn fit_observer<'a>(
    bar: &'a indicatif::ProgressBar,
    run: &'a mut ccrnn_io::RunDir,
    extra: serde_json::Value,
    err: &'a mut Option<ccrnn_io::Error>,
) -> impl FnMut(&ccrnn_fit::IterState<f32>) -> ccrnn_fit::Result<()> + 'a {
    move |s| {
        bar.set_position(s.step);
        bar.set_message(format!("loss {:.4e}", s.cost));
        let mut rec = extra.clone();
        rec["step"] = serde_json::json!(s.step);
        rec["loss"] = serde_json::json!(s.cost);
        rec["grad_norm"] = serde_json::json!(s.grad_norm);
        if let Err(e) = run.metric(&rec) {
            err.get_or_insert(e);
        }
        Ok(())
    }
}

/// `--time-stride` must take at least every step.
fn check_time_stride(stride: usize) -> Result<()> {
    if stride == 0 {
        bail!("--time-stride 0: must be >= 1 (1 = every step)");
    }
    Ok(())
}

/// The parameter groups named on the command line.
fn groups(names: &[String]) -> Result<ccrnn_core::GroupSet> {
    if names.is_empty() {
        bail!("--groups: give at least one group");
    }
    ccrnn_core::GroupSet::parse(names).map_err(|e| anyhow::anyhow!("--groups: {e}"))
}

/// Loads a model file, with the file named in any error.
fn load_model(path: &Path) -> Result<ccrnn_io::ModelFile> {
    Ok(ccrnn_io::load_model(path)?)
}

/// The stimulus chosen by `--inputs`, `--sine-task` or neither (no input).
fn stimulus(a: &StimArgs, model: &Model<f32>) -> Result<Stimulus<f32>> {
    if let Some(path) = &a.inputs {
        return Ok(ccrnn_io::load_stimulus(path, a.layout.into(), model.n(), model.n_in())?);
    }
    if a.trials == 0 {
        bail!("--trials 0: must be >= 1");
    }
    if a.sine_task {
        if model.n_in() != SineTask::N_IN {
            bail!(
                "--sine-task: the sine task has {} input channels, the model {}",
                SineTask::N_IN,
                model.n_in()
            );
        }
        let task = SineTask {
            trials: a.trials,
            dt: model.dt as f64,
            ..SineTask::default()
        };
        if let Some(r) = ccrnn_io::memory::run_over_budget(task.trials, task.steps, model.n()) {
            bail!("--trials {}: {r}", a.trials);
        }
        return Ok(task.generate::<f32>(a.stim_seed).context("--sine-task")?.0);
    }
    if model.n_in() > 0 {
        bail!(
            "the model has {} input channels: give --inputs FILE or --sine-task",
            model.n_in()
        );
    }
    if a.steps == 0 {
        bail!("--steps 0: must be >= 1");
    }
    if let Some(r) = ccrnn_io::memory::run_over_budget(a.trials, a.steps, model.n()) {
        bail!("--trials {}, --steps {}: {r}", a.trials, a.steps);
    }
    Ok(Stimulus::silent(a.trials, a.steps))
}

/// The loss curves of fits, on a log axis.
fn loss_panel(title: &str, curves: &[(String, &History)]) -> Panel {
    Panel {
        title: title.into(),
        x_label: "Adam step".into(),
        y_label: "minibatch loss (MSE)".into(),
        series: curves
            .iter()
            .enumerate()
            .map(|(i, (name, h))| {
                let pts = h.step.iter().zip(&h.loss).map(|(&s, &l)| (s as f64, l)).collect();
                Series::line(name.clone(), pts, color(i))
            })
            .collect(),
        log_y: true,
        log_x: false,
        x_names: None,
    }
}

/// Teacher (solid) vs student (dashed) activity of up to three recorded and three unrecorded
/// neurons on one trial.
fn trace_panels(
    teacher: &Trajectory<f32>,
    student: &Trajectory<f32>,
    recorded: &[usize],
    dt: f64,
    trial: usize,
) -> Vec<Panel> {
    let n = teacher.a.shape()[2];
    let unrec: Vec<usize> = (0..n).filter(|i| !recorded.contains(i)).collect();
    let pick = |v: &[usize]| -> Vec<usize> {
        if v.len() <= 3 {
            v.to_vec()
        } else {
            vec![v[0], v[v.len() / 2], v[v.len() - 1]]
        }
    };
    let mut panels = Vec::new();
    for (kind, idx) in [("recorded", pick(recorded)), ("unrecorded", pick(&unrec))] {
        for i in idx {
            let series = |tr: &Trajectory<f32>| -> Vec<(f64, f64)> {
                (0..tr.a.shape()[1])
                    .map(|t| (t as f64 * dt, tr.a[(trial, t, i)] as f64))
                    .collect()
            };
            panels.push(Panel {
                title: format!("neuron {i} ({kind})"),
                x_label: "time (units of τ)".into(),
                y_label: "activity a".into(),
                series: vec![
                    Series::line("teacher", series(teacher), plotters::style::RGBColor(30, 30, 30)),
                    Series::line(
                        "student",
                        series(student),
                        color(if kind == "recorded" { 0 } else { 3 }),
                    )
                    .dashed(),
                ],
                log_y: false,
                log_x: false,
                x_names: None,
            });
        }
    }
    panels
}
