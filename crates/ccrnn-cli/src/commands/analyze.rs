//! `ccrnn analyze hessian|dimension`: the Gauss–Newton spectrum of a model (stiff and sloppy
//! parameter directions, SCIENCE.md §7) and the participation ratio of activity.

use super::{finish, groups, load_model, stimulus};
use crate::args::{AnalyzeCmd, DimensionArgs, HessianArgs};
use crate::configs::ConfigFile;
use crate::plots::{self, Panel, Series, color};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Result, bail};
use ccrnn_analysis::{GnOptions, Spectrum, gauss_newton, linalg::sym_eigen, participation_ratio};
use ccrnn_core::{SimOptions, simulate};
use ndarray::{Array1, Ix3};
use serde_json::json;

pub fn run(c: AnalyzeCmd, ui: &Ui) -> Result<i32> {
    match c {
        AnalyzeCmd::Hessian(a) => hessian(a, ui),
        AnalyzeCmd::Dimension(a) => dimension(a, ui),
    }
}

fn spectrum_panel(title: &str, values: &Array1<f64>, name: &str) -> Panel {
    Panel {
        title: title.into(),
        x_label: "rank".into(),
        y_label: "eigenvalue".into(),
        series: vec![Series::line(
            name,
            values.iter().enumerate().map(|(k, &v)| ((k + 1) as f64, v)).collect(),
            color(0),
        )],
        log_y: true,
        log_x: false,
        x_names: None,
    }
}

fn hessian(a: HessianArgs, ui: &Ui) -> Result<i32> {
    let teacher = load_model(&a.model)?.model;
    let gs = groups(&a.sens.groups)?;
    let student = a.student.as_ref().map(|p| load_model(p)).transpose()?;
    let initial = a.initial.as_ref().map(|p| load_model(p)).transpose()?;
    for (path, m) in [(&a.student, &student), (&a.initial, &initial)] {
        if let (Some(p), Some(m)) = (path, m)
            && m.model.theta_len(gs) != teacher.theta_len(gs)
        {
            bail!(
                "{}: its parameters do not match {} (different N?)",
                p.display(),
                a.model.display()
            );
        }
    }
    super::distinct_neurons(a.neurons.as_ref())?;
    let rows = a
        .neurons
        .clone()
        .or_else(|| student.as_ref().and_then(|s| s.recorded.clone()));
    let stim = stimulus(&a.stim, &teacher)?;
    super::check_time_stride(a.sens.time_stride)?;
    let opts = GnOptions {
        groups: gs,
        rows: rows.clone(),
        time_stride: a.sens.time_stride,
        t_start: 0,
    };
    let mut inputs = vec![a.model.as_path()];
    inputs.extend(a.student.iter().map(|p| p.as_path()));
    inputs.extend(a.initial.iter().map(|p| p.as_path()));
    inputs.extend(a.stim.inputs.iter().map(|p| p.as_path()));
    let run = crate::run::start("analyze-hessian", &a.out, 0, &inputs, &ConfigFile::default())?;
    let p = teacher.theta_len(gs);
    ui.say(format!(
        "Gauss–Newton matrix: {p} parameters ({}), {} rows, {} trials, every {} steps",
        a.sens.groups.join(", "),
        rows.as_ref().map_or(teacher.n(), |r| r.len()),
        stim.trials(),
        a.sens.time_stride
    ));
    let t0 = std::time::Instant::now();
    let h = gauss_newton(&teacher.cast::<f64>(), &stim.cast::<f64>(), &opts)?;
    let spec = Spectrum::of(&h)?;
    let seconds = t0.elapsed().as_secs_f64();
    let total: f64 = spec.values.sum();
    let mut csv = String::from("rank,eigenvalue,cumulative_fraction\n");
    let mut acc = 0.0;
    for (k, v) in spec.values.iter().enumerate() {
        acc += v;
        csv += &format!("{},{v},{}\n", k + 1, acc / total);
    }
    run.write("spectrum.csv", csv.as_bytes())?;
    let mut doc = json!({
        "command": "analyze hessian", "parameters": p, "rows": rows.as_ref().map_or(teacher.n(), |r| r.len()),
        "lambda_max": spec.values[0], "decades": spec.decades(),
        "n_stiff_90": spec.n_stiff(0.9), "n_stiff_99": spec.n_stiff(0.99), "n_stiff_999": spec.n_stiff(0.999),
        "seconds": seconds,
    });
    let mut panels = vec![spectrum_panel(
        "Gauss–Newton spectrum",
        &spec.values,
        "eigenvalues of H",
    )];
    if let Some(s) = &student {
        let th = |m: &ccrnn_core::Model<f32>| Array1::from_iter(m.theta(gs).into_iter().map(f64::from));
        let e1 = th(&s.model) - th(&teacher);
        let proj = spec.project(e1.view());
        let mut pcsv = String::from("rank,eigenvalue,error_component\n");
        for (k, (v, c)) in spec.values.iter().zip(&proj).enumerate() {
            pcsv += &format!("{},{v},{c}\n", k + 1);
        }
        run.write("projection.csv", pcsv.as_bytes())?;
        let mut series = vec![Series::line(
            "student − model",
            proj.iter().enumerate().map(|(k, c)| ((k + 1) as f64, c * c)).collect(),
            color(3),
        )];
        if let Some(i) = &initial {
            let e0 = th(&i.model) - th(&teacher);
            let p0 = spec.project(e0.view());
            series.push(Series::line(
                "initial − model",
                p0.iter().enumerate().map(|(k, c)| ((k + 1) as f64, c * c)).collect(),
                color(7),
            ));
            doc["removed_top10"] = json!(spec.removed_fraction(e0.view(), e1.view(), 0..p / 10));
            doc["removed_bottom50"] = json!(spec.removed_fraction(e0.view(), e1.view(), p / 2..p));
            doc["removed_all"] = json!(spec.removed_fraction(e0.view(), e1.view(), 0..p));
        }
        panels.push(Panel {
            title: "parameter error along eigenvectors".into(),
            x_label: "eigenvector rank (stiff → sloppy)".into(),
            y_label: "squared component".into(),
            series,
            log_y: true,
            log_x: false,
            x_names: None,
        });
    }
    plots::save(&run, "spectrum", &panels, 2, (560, 420))?;
    ccrnn_io::npz::write_npz(&run.file("hessian.npz"), |z| {
        z.add("H", &h)?;
        z.add("eigenvalues", &spec.values)?;
        z.add("eigenvectors", &spec.vectors)
    })?;
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    let summary = doc.clone();
    finish(run, doc, ui, |dir| {
        outln!(
            "H: {p} × {p}; eigenvalues span {:.1} decades (λ_max {:.3e}); {} / {} eigenvalues hold 90 / 99 % of the trace",
            spec.decades(),
            spec.values[0],
            spec.n_stiff(0.9),
            spec.n_stiff(0.99)
        )?;
        if let Some(t) = summary.get("removed_top10") {
            outln!(
                "student: error removed along the top 10 % of eigenvectors {:.3}, bottom 50 % {:.3}",
                t.as_f64().unwrap_or(f64::NAN),
                summary["removed_bottom50"].as_f64().unwrap_or(f64::NAN)
            )?;
        }
        outln!("wrote {}", dir.display())?;
        Ok(())
    })
}

fn dimension(a: DimensionArgs, ui: &Ui) -> Result<i32> {
    let (act, input) = match (&a.model, &a.recording) {
        (Some(m), _) => {
            let model = load_model(m)?.model;
            let stim = stimulus(&a.stim, &model)?;
            (simulate(&model, &stim, &SimOptions::noiseless())?.a, m)
        }
        (None, Some(r)) => {
            let rec = ccrnn_io::load_recording(r, a.stim.layout.into(), usize::MAX)?;
            match rec.activity {
                Some(act) => (act, r),
                None => bail!("{}: no array 'activity'", r.display()),
            }
        }
        (None, None) => bail!("give --model or --recording"),
    };
    let run = crate::run::start(
        "analyze-dimension",
        &a.out,
        0,
        &[input.as_path()],
        &ConfigFile::default(),
    )?;
    let (b, t, n) = act.dim();
    let samples = act
        .mapv(f64::from)
        .into_dimensionality::<Ix3>()?
        .into_shape_with_order((b * t, n))?;
    let pr = participation_ratio(samples.view());
    let mean = samples.mean_axis(ndarray::Axis(0)).expect("samples");
    let xc = &samples - &mean.insert_axis(ndarray::Axis(0));
    let cov = ccrnn_core::kernels::product(xc.t(), xc.view()) / ((b * t) as f64 - 1.0).max(1.0);
    let (vals, _) = sym_eigen(cov.view(), "activity covariance")?;
    let vals = vals.mapv(|v| v.max(0.0));
    let mut csv = String::from("rank,eigenvalue\n");
    for (k, v) in vals.iter().enumerate() {
        csv += &format!("{},{v}\n", k + 1);
    }
    run.write("covariance_spectrum.csv", csv.as_bytes())?;
    plots::save(
        &run,
        "covariance_spectrum",
        &[spectrum_panel(
            &format!("activity covariance (PR = {pr:.2})"),
            &vals,
            "eigenvalues",
        )],
        1,
        (640, 420),
    )?;
    let doc = json!({"command": "analyze dimension", "participation_ratio": pr, "neurons": n, "samples": b * t});
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        outln!(
            "participation ratio {pr:.3} of {n} neurons ({} samples); wrote {}",
            b * t,
            dir.display()
        )?;
        Ok(())
    })
}
