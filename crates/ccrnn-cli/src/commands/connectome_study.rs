//! `ccrnn connectome study`: the paper's Figure 5 on a connectome file.

use super::connectome_teacher::{Built, build};
use super::finish;
use super::study_report::{student_progress, students_bar, write_study};
use crate::args::ConnectomeStudyArgs;
use crate::configs::ConfigFile;
use crate::table::{self, ScoreRow};
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::{Result, bail};
use ccrnn_core::{SimOptions, simulate};
use ccrnn_fit::{FitConfig, MethodKind};
use ccrnn_lab::{Study, run_study};
use serde_json::json;

pub fn run(a: ConnectomeStudyArgs, ui: &Ui) -> Result<i32> {
    let t_all = std::time::Instant::now();
    let fit = FitConfig {
        seed: a.teacher.seed,
        ..a.solver.recipe(None, MethodKind::GaussNewton)
    };
    fit.validate()?;
    let study = Study {
        ms: a.ms.clone(),
        fit: fit.clone(),
        seed: a.teacher.seed,
        replicates: a.replicates as usize,
        ..Study::default()
    };
    let cfg = ConfigFile {
        fit: Some(fit.clone()),
        ..ConfigFile::default()
    };
    let (built, mut run) = build(&a.source, &a.teacher, ui, |files| {
        crate::run::start("connectome-study", &a.out, a.teacher.seed, files, &cfg)
    })?;
    let Built {
        con,
        report,
        inputs,
        teacher,
        train,
        heldout,
        summary,
    } = built;
    let n = con.n();
    if let Some(&m) = a.ms.iter().find(|&&m| m > n) {
        bail!("--ms: M = {m} exceeds the {n} neurons of {}", a.source.file.display());
    }
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
        let bar = students_bar(ui, &st, label);
        let mut err = None;
        let mut progress = student_progress(&bar, &mut run, &st, label, &mut err);
        let t0 = std::time::Instant::now();
        let res = run_study(&teacher, &train, &heldout, &st, &mut progress)?;
        drop(progress);
        bar.finish_and_clear();
        if let Some(e) = err {
            return Err(e.into());
        }
        ui.say(format!(
            "  {label}: {} fits in {:.0} s",
            res.rows.len(),
            t0.elapsed().as_secs_f64()
        ));
        results.push(res);
    }
    let no_rec: Option<Vec<ScoreRow>> = results.get(1).map(|r| r.rows.iter().map(ScoreRow::student).collect());
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
        "scale": summary["scale"], "leading_eigenvalue": summary["leading_eigenvalue"],
        "student_fit": fit.describe(), "student_method": fit.method.name(),
        "student_max_steps": fit.steps, "replicates": study.replicates,
        "rows": rows, "no_recurrence_rows": no_rec,
        "shuffle_mse": base.shuffle_mse, "shuffle_corr_err": base.shuffle_corr_err,
        "report": report, "seconds": seconds,
    });
    run.write("result.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        outln!(
            "\n{n}-neuron connectome teacher; students: {}; {} replicate(s) per M; scores on held-out trials, noise-free\n",
            fit.describe(),
            study.replicates
        )?;
        out!("{}", table::render_study(&rows, Some(base)))?;
        if let Some(nr) = &no_rec {
            outln!("\nno-recurrence baseline (students with W and any gap junctions removed):")?;
            out!("{}", table::render_study(nr, None))?;
        }
        outln!("\nwrote {} in {seconds:.0} s", dir.display())?;
        Ok(())
    })
}
