//! `ccrnn fit`: fit a student to a recording. The model file gives the connectome (W, mask,
//! signs), W_in, W_out, τ, β and the starting point of the parameters; the recording gives the
//! activity of M neurons (or the readout) and the inputs. Writes `student.npz` (a model file
//! that also lists the neurons it was fitted to), its starting point `initial.npz`, `loss.csv`,
//! the loss plot, and for fits to recorded neurons `neurons.csv`: each neuron's MSE and 1 − ρ
//! between the student's noise-free activity and the recording, flagged where it is poor.

use super::{finish, fit_observer, load_model, loss_panel};
use crate::args::FitArgs;
use crate::configs::ConfigFile;
use crate::ui::Ui;
use crate::ui::outln;
use crate::{plots, table};
use anyhow::{Result, anyhow, bail};
use ccrnn_core::{NeuronSet, SimOptions, simulate};
use ccrnn_fit::metrics::neuron_fits;
use ccrnn_fit::selection::{Choice, Refusal, Selection, Spelling, select};
use ccrnn_fit::{Data, MethodKind, fit};
use ccrnn_io::Recording;
use ndarray::Axis;
use serde_json::json;
use std::path::{Path, PathBuf};

/// What the student is fitted to.
enum Source {
    /// A recording of the model's own kind (activity at its steps, or the readout).
    Recording(PathBuf, Box<Recording>),
    /// Calcium-imaging recordings, one session each, and how they were assembled.
    Imaging(Box<ccrnn_lab::recordings::Loaded>),
}

/// One row of `neurons.csv`.
#[derive(serde::Serialize)]
struct NeuronFitRow {
    neuron: usize,
    /// The connectome's body id, for models that carry them.
    id: Option<u64>,
    /// The neuron's label: the model's neuron name, or for imaging fits what its recordings were matched by.
    label: Option<String>,
    mse: f64,
    one_minus_rho: f64,
    data_sd: f64,
    poorly_fitted: bool,
}

pub fn run(a: FitArgs, ui: &Ui) -> Result<i32> {
    let file = match &a.config {
        Some(p) => {
            let f = ConfigFile::read_valid(p)?;
            if f.fit.is_none() {
                bail!(
                    "{}: no [fit] section (see `ccrnn config init fit`; an empty [fit] takes the defaults)",
                    p.display()
                );
            }
            f
        }
        None => ConfigFile::default(),
    };
    let mut student = file.student.clone().unwrap_or_default();
    // no configuration: the chosen method's defaults (Adam: the paper's recipe), else L-BFGS's
    let mut fc = a.solver.recipe(file.fit.as_ref(), MethodKind::Lbfgs);
    if let Some(i) = a.init {
        student.init = i;
    }
    if let Some(m) = a.memory_mb {
        fc.memory_mb = m;
    }
    if let Some(t) = &a.train {
        fc.train = t.clone();
    }
    if let Some(s) = a.seed {
        fc.seed = s;
    }
    student.validate()?;
    let valid = fc.validate()?;

    let model_file = load_model(&a.model)?;
    let ids = model_file.ids.clone();
    let labels = model_file.labels.clone();
    let model = model_file.model.clone();
    let n = model.n();
    // `pairs`: each fitted neuron and its column in the recording's activity (to score the fit).
    let (source, recorded, data, stim, pairs) = if a.imaging.is_empty() {
        let path = a.recording.clone().expect("clap: --recording or --imaging");
        let rec = ccrnn_io::load_recording(&path, a.layout.into(), n)?;
        let stim = rec.stimulus(&path, model.n_in())?;
        let (recorded, data, pairs) = recording_data(&a, &rec, &path, n, fc.seed, model.n_out())?;
        (Source::Recording(path, Box::new(rec)), recorded, data, stim, pairs)
    } else {
        let loaded = super::imaging::load_sessions(&a.imaging, &a.read, &a.observe, &model_file, ui)?;
        let recorded = loaded.sessions.recorded.clone();
        let data = Data::Observed {
            recorded: recorded.clone(),
            obs: Box::new(loaded.sessions.obs.clone()),
        };
        let stim = loaded.sessions.stim.clone();
        (Source::Imaging(Box::new(loaded)), recorded, data, stim, Vec::new())
    };
    let init = student.start(&model, fc.seed);

    let cfg_file = ConfigFile {
        student: Some(student),
        fit: Some(fc.clone()),
        ..ConfigFile::default()
    };
    let mut inputs = vec![a.model.as_path()];
    inputs.extend(a.recording.as_deref());
    inputs.extend(a.imaging.iter().map(PathBuf::as_path));
    inputs.extend(a.read.label_table.as_deref());
    inputs.extend(a.observe.inputs.iter().map(PathBuf::as_path));
    if let Some(c) = &a.config {
        inputs.push(c);
    }
    let mut run = crate::run::start("fit", &a.out, fc.seed, &inputs, &cfg_file)?;
    ui.say(format!(
        "fitting {} of a {n}-neuron model to {} ({} trials × {} steps), {} {} steps",
        fc.train.join(", "),
        if recorded.is_empty() {
            "the readout".to_string()
        } else {
            format!("{} recorded neurons", recorded.len())
        },
        stim.trials(),
        stim.steps(),
        fc.steps,
        fc.method.name()
    ));
    ccrnn_io::save_model_with_ids(
        &run.file("initial.npz"),
        &init,
        Some(recorded.indices()),
        ids.as_deref(),
        labels.as_deref(),
    )?;
    let bar = ui.bar(fc.steps, "fitting");
    let mut err = None;
    let mut obs = fit_observer(&bar, &mut run, json!({}), &mut err);
    crate::interrupt::watch();
    let mut watched = crate::interrupt::stoppable(ccrnn_fit::Every(fc.report_every, &mut obs));
    let t0 = std::time::Instant::now();
    let out = fit(init, stim, data, &valid, None, Some(&mut watched))?;
    drop(watched);
    let interrupted = out.termination == ccrnn_fit::Termination::Stopped && crate::interrupt::requested();
    drop(obs); // ends the observer's borrows of the run directory
    bar.finish_and_clear();
    if let Some(e) = err {
        return Err(e.into());
    }
    let seconds = t0.elapsed().as_secs_f64();
    ccrnn_io::save_model_with_ids(
        &run.file("student.npz"),
        &out.model,
        Some(recorded.indices()),
        ids.as_deref(),
        labels.as_deref(),
    )?;
    #[derive(serde::Serialize)]
    struct LossRow {
        step: u64,
        loss: f64,
        grad_norm: f64,
    }
    let h = &out.history;
    let loss_rows: Vec<LossRow> = (h.step.iter().zip(&h.loss).zip(&h.grad_norm))
        .map(|((&step, &loss), &grad_norm)| LossRow { step, loss, grad_norm })
        .collect();
    run.write("loss.csv", &table::csv(&loss_rows)?)?;
    // Each recorded neuron's fit: the student's noise-free activity against the recording.
    let neuron_fits = match &source {
        Source::Recording(path, rec) => match &rec.activity {
            Some(act) if !pairs.is_empty() => {
                let stim = rec.stimulus(path, out.model.n_in())?;
                let s = simulate(&out.model, &stim, &SimOptions::noiseless())?;
                let fits = neuron_fits(&s.a, act, &pairs);
                write_neuron_fits(&run, &fits, ids.as_deref(), labels.as_deref())?;
                fits
            }
            _ => Vec::new(),
        },
        Source::Imaging(loaded) => {
            let obs = out
                .observation
                .as_ref()
                .ok_or_else(|| anyhow!("the fit returned no observation model"))?;
            let keys = model_file.neuron_keys();
            let fits = super::imaging::save_prediction(&run, &out.model, loaded, obs, &keys)?;
            write_neuron_fits(&run, &fits, ids.as_deref(), Some(&keys))?;
            fits
        }
    };
    let median_corr_err = table::median(&neuron_fits.iter().map(|f| f.corr_err).collect::<Vec<_>>());
    let poor: Vec<usize> = neuron_fits.iter().filter(|f| f.poor).map(|f| f.neuron).collect();
    plots::save(
        &run,
        "loss",
        &[loss_panel("student fit", &[("student".into(), &out.history)])],
        1,
        (640, 420),
    )?;
    let doc = json!({
        "command": "fit", "m": recorded.len(), "recorded": recorded.indices(),
        "method": fc.method.name(), "steps": out.state.step, "evaluations": out.state.evaluations,
        "final_loss": out.state.cost, "best_loss": out.state.best_cost,
        "termination": out.termination, "converged": out.termination.converged(), "seconds": seconds,
        "interrupted": interrupted,
        "poorly_fitted": poor,
        "median_one_minus_rho": median_corr_err,
    });
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    let code = finish(run, doc, ui, |dir| {
        let how = if interrupted {
            "interrupted: the parameters at that step".to_string()
        } else if out.termination.converged() {
            "converged".to_string()
        } else {
            format!("not converged: {}", out.termination.name())
        };
        outln!(
            "fitted {} steps in {seconds:.1} s ({how}; final loss {:.4e}); student saved to {}",
            out.state.step,
            out.state.cost,
            dir.join("student.npz").display()
        )?;
        if !neuron_fits.is_empty() {
            let worst = neuron_fits.iter().map(|f| f.corr_err).fold(f64::NAN, f64::max);
            outln!(
                "recorded neurons against the recording: median 1 − ρ {median_corr_err:.3}, worst {worst:.3} (per neuron: neurons.csv)"
            )?;
            if !poor.is_empty() {
                outln!(
                    "fitted poorly (1 − ρ > {}, recorded trace varies): {}",
                    ccrnn_fit::metrics::POOR_FIT,
                    poor.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
                )?;
            }
        }
        Ok(())
    })?;
    Ok(if interrupted {
        crate::interrupt::EXIT_INTERRUPTED
    } else {
        code
    })
}

/// The recorded neurons, the data, and each fitted neuron with its column in the recording.
type Fitted = (NeuronSet, Data<f32>, Vec<(usize, usize)>);

/// The recorded neurons, data and (neuron, column) pairs of a recording of the model's kind:
/// its readout (`--readout`) or the activity of the chosen recorded neurons.
fn recording_data(a: &FitArgs, rec: &Recording, path: &Path, n: usize, seed: u64, n_out: usize) -> Result<Fitted> {
    let rpath = path.display();
    if a.readout {
        let y = rec
            .readout
            .clone()
            .ok_or_else(|| anyhow!("{rpath}: --readout needs an array 'readout'"))?;
        if y.shape()[2] != n_out {
            bail!(
                "{rpath}: array 'readout' has {} outputs, the model {n_out}",
                y.shape()[2]
            );
        }
        return Ok((NeuronSet::default(), Data::Readout { data: y }, Vec::new()));
    }
    let act = rec
        .activity
        .as_ref()
        .ok_or_else(|| anyhow!("{rpath}: no array 'activity' (or pass --readout to fit the readout)"))?;
    let choice = Choice {
        neurons: a.neurons.as_deref(),
        m: a.m,
        seed,
    };
    let Selection { set, columns } = select(n, act.shape()[2], rec.recorded.as_deref(), choice, Spelling::CLI)
        .map_err(|e| match e {
            Refusal::Recording(m) => anyhow!("{rpath}: {m}"),
            Refusal::Choice(m) => anyhow!(m),
        })?;
    let data = act.select(Axis(2), &columns);
    let pairs: Vec<(usize, usize)> = set.indices().iter().copied().zip(columns).collect();
    Ok((set.clone(), Data::Activity { recorded: set, data }, pairs))
}

/// Writes `neurons.csv`: each fitted neuron's MSE and 1 − ρ against the data.
fn write_neuron_fits(
    run: &ccrnn_io::RunDir,
    fits: &[ccrnn_fit::metrics::NeuronFit],
    ids: Option<&[u64]>,
    keys: Option<&[String]>,
) -> Result<()> {
    let rows: Vec<NeuronFitRow> = fits
        .iter()
        .map(|f| NeuronFitRow {
            neuron: f.neuron,
            id: ids.map(|v| v[f.neuron]),
            label: keys.map(|k| k[f.neuron].clone()),
            mse: f.mse,
            one_minus_rho: f.corr_err,
            data_sd: f.data_sd,
            poorly_fitted: f.poor,
        })
        .collect();
    run.write("neurons.csv", &table::csv(&rows)?)?;
    Ok(())
}
