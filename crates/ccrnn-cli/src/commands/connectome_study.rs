//! `ccrnn connectome study`: the paper's Figure 5 on a connectome file.

use super::connectome::load;
use super::finish;
use super::study_report::write_study;
use crate::args::ConnectomeStudyArgs;
use crate::configs::ConfigFile;
use crate::table::{self, ScoreRow};
use crate::ui::Ui;
use anyhow::{Result, bail};
use ccrnn_core::{SimOptions, Stimulus, simulate};
use ccrnn_fit::{FitConfig, IterState};
use ccrnn_lab::{ConnectomeTeacherSpec, Study, run_study};
use serde_json::json;

fn f32_stim(s: &Stimulus<f64>) -> Stimulus<f32> {
    Stimulus {
        u: s.u.mapv(|x| x as f32),
        h0: s.h0.as_ref().map(|h| h.mapv(|x| x as f32)),
    }
}

pub fn run(a: ConnectomeStudyArgs, ui: &Ui) -> Result<i32> {
    let t_all = std::time::Instant::now();
    let (mut con, report) = load(&a.source)?;
    let n = con.n();
    if let Some(&m) = a.ms.iter().find(|&&m| m > n) {
        bail!("--ms: M = {m} exceeds the {n} neurons of {}", a.source.file.display());
    }
    let has = |labels: &[String], l: &str| labels.iter().any(|x| x.eq_ignore_ascii_case(l));
    for l in a.inhibitory_label.iter().chain(&a.input_label) {
        if !con.labels.iter().any(|x| x.eq_ignore_ascii_case(l)) {
            bail!(
                "label {l:?} matches no neuron of {} (see `ccrnn connectome info`)",
                a.source.file.display()
            );
        }
    }
    for (s, l) in con.signs.iter_mut().zip(&con.labels) {
        if has(&a.inhibitory_label, l) {
            *s = -1;
        }
    }
    let inputs: Vec<usize> = (0..n).filter(|&i| has(&a.input_label, &con.labels[i])).collect();
    let spec = ConnectomeTeacherSpec::default();
    let fit = FitConfig {
        steps: a.steps,
        lr: a.lr,
        seed: a.seed,
        ..FitConfig::default()
    };
    let study = Study {
        ms: a.ms.clone(),
        fit: fit.clone(),
        seed: a.seed,
        ..Study::default()
    };
    // Files are hashed into meta.json; a bundled connectome's hashes are in the load report.
    let files: Vec<&std::path::Path> = std::iter::once(a.source.file.as_path())
        .chain(a.source.nodes.iter().map(|p| p.as_path()))
        .filter(|p| p.is_file())
        .collect();
    let cfg = ConfigFile {
        fit: Some(fit.clone()),
        ..ConfigFile::default()
    };
    let mut run = crate::run::start("connectome-study", &a.out, a.seed, &files, &cfg)?;
    run.write(
        "connectome_report.json",
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    ui.say(format!(
        "{}: {n} neurons, {} edges, {} synapses; {} input neurons, {} inhibitory",
        a.source.file.display(),
        con.edges(),
        con.synapses(),
        if inputs.is_empty() { n } else { inputs.len() },
        con.signs.iter().filter(|&&s| s < 0).count()
    ));
    let t0 = std::time::Instant::now();
    let built = spec.generate(&con, &inputs, a.seed)?;
    ui.say(format!(
        "teacher: weight per synapse {:.4e}, leading eigenvalue of the linearisation {:.3} ({:.0} s)",
        built.scale,
        built.eigenvalue,
        t0.elapsed().as_secs_f64()
    ));
    let teacher = built.model.cast::<f32>();
    ccrnn_io::save_model_with_ids(&run.file("teacher.npz"), &teacher, None, Some(&con.ids))?;
    let train = f32_stim(&spec.stimulus(a.trials, a.seed.wrapping_add(200)));
    let heldout = f32_stim(&spec.stimulus(a.trials, a.seed.wrapping_add(300)));
    let ref_held = simulate(&teacher, &heldout, &SimOptions::noiseless())?;

    let mut results = Vec::new();
    let variants: &[(&str, bool)] = if a.skip_no_recurrence {
        &[("students", false)]
    } else {
        &[("students", false), ("no recurrence", true)]
    };
    for &(label, remove) in variants {
        let st = Study {
            remove_recurrence: remove,
            ..study.clone()
        };
        let total = a.steps * a.ms.len() as u64;
        let bar = ui.bar(total, label);
        let mut err = None;
        let ms = a.ms.clone();
        let mut progress = |row: usize, s: &IterState<f32>| {
            bar.set_position(row as u64 * a.steps + s.step);
            bar.set_message(format!("M = {}: loss {:.3e}", ms[row], s.cost));
            let rec = json!({"phase": label, "m": ms[row], "step": s.step, "loss": s.cost});
            if let Err(e) = run.metric(&rec) {
                err.get_or_insert(e);
            }
        };
        let t0 = std::time::Instant::now();
        let res = run_study(&teacher, &train, &heldout, &st, &mut progress)?;
        bar.finish_and_clear();
        if let Some(e) = err {
            return Err(e.into());
        }
        ui.say(format!(
            "  {label}: {} fits in {:.0} s",
            a.ms.len(),
            t0.elapsed().as_secs_f64()
        ));
        results.push(res);
    }
    let no_rec: Option<Vec<ScoreRow>> = results.get(1).map(|r| {
        r.rows
            .iter()
            .map(|x| ScoreRow::new(&x.heldout, Some(x.steps), Some(x.seconds)))
            .collect()
    });
    let rows = write_study(
        &run,
        &teacher,
        &a.ms,
        &results[0],
        &heldout,
        &ref_held,
        no_rec.as_deref(),
    )?;
    if let Some(nr) = &no_rec {
        run.write("table_no_recurrence.csv", &table::csv(nr)?)?;
    }
    let base = &results[0].baseline;
    let seconds = t_all.elapsed().as_secs_f64();
    let doc = json!({
        "command": "connectome study", "file": a.source.file.display().to_string(),
        "neurons": n, "edges": con.edges(), "synapses": con.synapses(), "inputs": inputs.len(),
        "scale": built.scale, "leading_eigenvalue": built.eigenvalue,
        "rows": rows, "no_recurrence_rows": no_rec,
        "shuffle_mse": base.shuffle_mse, "shuffle_corr_err": base.shuffle_corr_err,
        "report": report, "seconds": seconds,
    });
    run.write("result.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        println!(
            "\n{n}-neuron connectome teacher; students fitted {} steps; scores on held-out trials, noise-free\n",
            a.steps
        );
        print!("{}", table::render(&rows, Some(base)));
        if let Some(nr) = &no_rec {
            println!("\nno-recurrence baseline (students with W removed):");
            print!("{}", table::render(nr, None));
        }
        println!("\nwrote {} in {seconds:.0} s", dir.display());
    })
}
