//! `ccrnn connectome teacher`: a connectome turned into a teacher, with its stimuli and
//! activity; and the construction `connectome study` shares.

use super::connectome::load;
use super::finish;
use crate::args::{ConnectomeSource, ConnectomeTeacherArgs, ConnectomeTeacherOpts};
use crate::configs::ConfigFile;
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Result, bail};
use ccrnn_core::{Connectome, Model, Seeds, SimOptions, Stimulus, simulate};
use ccrnn_io::{LoadReport, RunDir};
use ccrnn_lab::ConnectomeTeacherSpec;
use serde_json::json;

/// A connectome teacher and what it was built from.
pub struct Built {
    /// The connectome (signs after the label rules).
    pub con: Connectome,
    /// What loading dropped or merged.
    pub report: LoadReport,
    /// The neurons the inputs drive (empty: all).
    pub inputs: Vec<usize>,
    /// The teacher (f32, CSR).
    pub teacher: Model<f32>,
    /// Training and held-out stimuli.
    pub train: Stimulus<f32>,
    /// Held-out stimulus.
    pub heldout: Stimulus<f32>,
    /// The teacher's settings and what the scaling reached.
    pub summary: serde_json::Value,
}

/// Loads the connectome, applies the label rules, opens the run directory (via `start`, given
/// the input files to hash) and builds the teacher, saving `teacher.npz` (with body ids) and
/// `connectome_report.json` in the run.
pub fn build(
    source: &ConnectomeSource,
    t: &ConnectomeTeacherOpts,
    ui: &Ui,
    start: impl FnOnce(&[&std::path::Path]) -> Result<RunDir>,
) -> Result<(Built, RunDir)> {
    let (mut con, report) = load(source)?;
    let n = con.n();
    let has = |labels: &[String], l: &str| labels.iter().any(|x| x.eq_ignore_ascii_case(l));
    for l in t.inhibitory_label.iter().chain(&t.input_label) {
        if !con.labels.iter().any(|x| x.eq_ignore_ascii_case(l)) {
            bail!(
                "label {l:?} matches no neuron of {} (see `ccrnn connectome info`)",
                source.file.display()
            );
        }
    }
    if t.trials == 0 {
        bail!("--trials must be at least 1");
    }
    for (s, l) in con.signs.iter_mut().zip(&con.labels) {
        if has(&t.inhibitory_label, l) {
            *s = -1;
        }
    }
    let inputs: Vec<usize> = (0..n).filter(|&i| has(&t.input_label, &con.labels[i])).collect();
    let (gaps, gap_report) = match &t.gap_junctions {
        Some(p) => {
            let (g, r) = ccrnn_io::connectome::load_gap_junctions(p, &con)?;
            (g, Some(r))
        }
        None => (Vec::new(), None),
    };
    // Files are hashed into meta.json; a bundled connectome's hashes are in the load report.
    let files: Vec<&std::path::Path> = std::iter::once(source.file.as_path())
        .chain(source.nodes.iter().map(|p| p.as_path()))
        .chain(t.gap_junctions.iter().map(|p| p.as_path()))
        .filter(|p| p.is_file())
        .collect();
    let run = start(&files)?;
    run.write(
        "connectome_report.json",
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if let Some(r) = &gap_report {
        run.write("gap_junctions_report.json", serde_json::to_string_pretty(r)?.as_bytes())?;
        ui.say(format!(
            "gap junctions: {} coupled neuron pairs ({} rows outside the connectome dropped), conductance {} × the weight per synapse",
            gaps.iter()
                .map(|&(i, j, _)| (i.min(j), i.max(j)))
                .collect::<std::collections::HashSet<_>>()
                .len(),
            r.deselected,
            t.gap_scale
        ));
    }
    ui.say(format!(
        "{}: {n} neurons, {} edges, {} synapses; {} input neurons, {} inhibitory",
        source.file.display(),
        con.edges(),
        con.synapses(),
        if inputs.is_empty() { n } else { inputs.len() },
        con.signs.iter().filter(|&&s| s < 0).count()
    ));
    let spec = ConnectomeTeacherSpec {
        gap_scale: t.gap_scale,
        ..ConnectomeTeacherSpec::default()
    };
    if t.trials == 0 {
        bail!("--trials 0: must be >= 1");
    }
    if let Some(r) = ccrnn_io::memory::run_over_budget(2 * t.trials, spec.steps, n) {
        bail!("--trials {} (training and held-out): {r}", t.trials);
    }
    let t0 = std::time::Instant::now();
    let built = spec.generate(&con, &inputs, &gaps, t.seed)?;
    let seconds = t0.elapsed().as_secs_f64();
    ui.say(format!(
        "teacher: weight per synapse {:.4e}, leading eigenvalue of the linearisation {:.3} ({seconds:.0} s)",
        built.scale, built.eigenvalue,
    ));
    if (built.eigenvalue - spec.target_eigenvalue).abs() > 0.01 {
        ui.say(format!(
            "warning: the leading eigenvalue stayed at {:.3}, short of the target {}: at larger weights the dynamics did not settle (with gap junctions: they pull the eigenvalue down, and the Euler step is unstable once dt/τ × the largest eigenvalue of their Laplacian exceeds 2; try a smaller --gap-scale)",
            built.eigenvalue, spec.target_eigenvalue
        ));
    }
    let teacher = built.model.cast::<f32>();
    ccrnn_io::save_model_with_ids(
        &run.file("teacher.npz"),
        &teacher,
        None,
        Some(&con.ids),
        ccrnn_io::model_file::connectome_labels(&con).as_deref(),
    )?;
    let summary = json!({
        "scale": built.scale, "leading_eigenvalue": built.eigenvalue, "build_seconds": seconds,
        "inputs": inputs.len(), "spec": spec,
        "gap_junctions": built.model.gap.as_ref().map(|g| g.junctions()),
    });
    let out = Built {
        train: spec.stimulus(t.trials, Seeds(t.seed).train_stimulus()).cast::<f32>(),
        heldout: spec.stimulus(t.trials, Seeds(t.seed).heldout_stimulus()).cast::<f32>(),
        con,
        report,
        inputs,
        teacher,
        summary,
    };
    Ok((out, run))
}

pub fn run(a: ConnectomeTeacherArgs, ui: &Ui) -> Result<i32> {
    let (b, run) = build(&a.source, &a.teacher, ui, |files| {
        crate::run::start(
            "connectome-teacher",
            &a.out,
            a.teacher.seed,
            files,
            &ConfigFile::default(),
        )
    })?;
    let n = b.con.n();
    let mut timing = Vec::new();
    for (name, stim) in [("stimulus.npz", &b.train), ("heldout.npz", &b.heldout)] {
        let t0 = std::time::Instant::now();
        let traj = simulate(&b.teacher, stim, &SimOptions::noiseless())?;
        let s = t0.elapsed().as_secs_f64();
        timing.push(s);
        ccrnn_io::save_trajectory(&run.file(name), stim, &traj, b.teacher.dt)?;
    }
    let (trials, steps) = (b.train.trials(), b.train.steps());
    let per_step = timing[0] / steps as f64;
    let mut doc = b.summary;
    doc["command"] = json!("connectome teacher");
    doc["file"] = json!(a.source.file.display().to_string());
    doc["neurons"] = json!(n);
    doc["edges"] = json!(b.con.edges());
    doc["trials"] = json!(trials);
    doc["steps"] = json!(steps);
    doc["simulate_seconds"] = json!(timing[0]);
    doc["seconds_per_step"] = json!(per_step);
    doc["report"] = serde_json::to_value(&b.report)?;
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        outln!(
            "{n}-neuron teacher: {trials} trials × {steps} steps simulated in {:.2} s ({:.2} ms per step for all trials, {:.3} µs per step per neuron and trial)",
            timing[0],
            1e3 * per_step,
            1e6 * per_step / (n * trials) as f64
        )?;
        outln!("wrote {} (teacher.npz, stimulus.npz, heldout.npz)", dir.display())?;
        Ok(())
    })
}
