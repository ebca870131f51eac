//! `ccrnn prioritize`: which neurons to record next. Each neuron's sensitivity block
//! `∂a_i/∂θ` (stacked over trials and time) of the given model is compressed to its leading
//! directions; the greedy rule of SCIENCE.md §7 ranks them, given those already recorded. The
//! predicted remaining error of the best order is compared with random and worst orders.

use super::{finish, groups, load_model, stimulus};
use crate::args::PrioritizeArgs;
use crate::configs::ConfigFile;
use crate::plots::{self, Panel, Series, color};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, bail};
use ccrnn_analysis::{GnOptions, linear_response, neuron_blocks, numerical_rank, recording_plan};
use serde_json::json;

pub fn run(a: PrioritizeArgs, ui: &Ui) -> Result<i32> {
    let mf = load_model(&a.model)?;
    let model = mf.model;
    let ids = mf.ids;
    let n = model.n();
    let already = a.recorded.clone().or(mf.recorded).unwrap_or_default();
    if let Some(&i) = already.iter().find(|&&i| i >= n) {
        bail!("--recorded: neuron {i} is not in 0..{n}");
    }
    if a.k_max == 0 || a.k_max > n {
        bail!("--k-max {}: must be in 1..={n} (the model's neurons)", a.k_max);
    }
    super::check_time_stride(a.sens.time_stride)?;
    let gs = groups(&a.sens.groups)?;
    let stim = if a.linear {
        None
    } else {
        Some(stimulus(&a.stim, &model)?)
    };
    let opts = GnOptions {
        groups: gs,
        rows: None,
        time_stride: a.sens.time_stride,
        t_start: 0,
    };
    let mut inputs = vec![a.model.as_path()];
    inputs.extend(a.stim.inputs.iter().map(|p| p.as_path()));
    let run = crate::run::start("prioritize", &a.out, a.seed, &inputs, &ConfigFile::default())?;
    let t0 = std::time::Instant::now();
    let blocks = if a.linear {
        let gplus = model.params.g.mapv(|g| f64::from(g.max(0.0)));
        let j = model.coupling.to_dense().mapv(f64::from) * &gplus.insert_axis(ndarray::Axis(0));
        let m = linear_response(j.view()).context("--linear: M = (I − W diag(g⁺))⁻¹ W diag(g⁺)")?;
        ui.say(format!("linear theory: rank M = {}", numerical_rank(m.view(), 1e-9)?));
        m.axis_iter(ndarray::Axis(0))
            .map(|r| r.to_owned().insert_axis(ndarray::Axis(0)))
            .collect()
    } else {
        let stim = stim.as_ref().expect("made unless --linear");
        ui.say(format!(
            "sensitivities of {n} neurons to {} parameters ({}), {} trials, every {} steps",
            model.theta_len(gs),
            a.sens.groups.join(", "),
            stim.trials(),
            a.sens.time_stride
        ));
        neuron_blocks(&model.cast::<f64>(), &stim.cast::<f64>(), &opts, a.k_max)?
    };
    let plan = recording_plan(&blocks, &already, a.random_orders, a.seed)?;
    let seconds = t0.elapsed().as_secs_f64();
    let (best, worst, random_mean) = (&plan.best, &plan.worst, &plan.random_mean);
    // With connectome ids (models built on a connectome), the ranking names the neurons.
    let id_of = |i: usize| ids.as_ref().map_or(String::new(), |v| v[i].to_string());
    let mut csv = String::from("rank,neuron,id,score,predicted_remaining\n");
    for (r, ((&i, s), rem)) in best.order.iter().zip(&best.scores).zip(&best.remaining).enumerate() {
        csv += &format!("{},{i},{},{s},{rem}\n", r + 1, id_of(i));
    }
    run.write("ranking.csv", csv.as_bytes())?;
    let mut ocsv = String::from("recorded,best,random_mean,worst\n");
    for (i, ((b, r), w)) in best.remaining.iter().zip(random_mean).zip(&worst.remaining).enumerate() {
        ocsv += &format!("{},{b},{r},{w}\n", already.len() + i + 1);
    }
    run.write("orders.csv", ocsv.as_bytes())?;
    let x0 = already.len() as f64;
    let curve = |v: &[f64]| -> Vec<(f64, f64)> {
        std::iter::once((x0, best.initial))
            .chain(v.iter().enumerate().map(|(i, &r)| (x0 + i as f64 + 1.0, r)))
            .collect()
    };
    plots::save(
        &run,
        "predicted_error",
        &[Panel {
            title: "predicted remaining error".into(),
            x_label: "recorded neurons".into(),
            y_label: "fraction of tr H".into(),
            series: vec![
                Series::line("best", curve(&best.remaining), color(0)),
                Series::line(
                    format!("random (mean of {})", plan.random_orders),
                    curve(random_mean),
                    color(7),
                ),
                Series::line("worst", curve(&worst.remaining), color(1)),
            ],
            log_y: false,
            log_x: false,
            x_names: None,
        }],
        1,
        (640, 420),
    )?;
    // Recordings (beyond those already made) until the predicted error falls to a level.
    let needed = |v: &[f64], level: f64| {
        if best.initial <= level {
            Some(0)
        } else {
            v.iter().position(|&r| r <= level).map(|k| k + 1)
        }
    };
    let mut need = serde_json::Map::new();
    for level in [0.1, 0.01] {
        need.insert(
            format!("{level}"),
            json!({"best": needed(&best.remaining, level), "random_mean": needed(random_mean, level), "worst": needed(&worst.remaining, level)}),
        );
    }
    let top: Vec<_> = best
        .order
        .iter()
        .zip(&best.scores)
        .zip(&best.remaining)
        .take(20)
        .map(
            |((&i, s), r)| json!({"neuron": i, "id": ids.as_ref().map(|v| v[i]), "score": s, "predicted_remaining": r}),
        )
        .collect();
    let doc = json!({
        "command": "prioritize", "already_recorded": already, "initial_remaining": best.initial,
        "ranking": top, "recordings_needed": need, "linear": a.linear, "seconds": seconds,
    });
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        if !already.is_empty() {
            outln!(
                "with the {} neurons already recorded, predicted remaining error {:.4} (fraction of tr H)",
                already.len(),
                best.initial
            )?;
        }
        outln!("record next (neuron: fraction of error removed → predicted remaining):")?;
        for ((&i, s), r) in best.order.iter().zip(&best.scores).zip(&best.remaining).take(10) {
            let id = ids.as_ref().map_or(String::new(), |v| format!(" (id {})", v[i]));
            outln!("  {i:>6}{id}: {s:.4} → {r:.4}")?;
        }
        let show = |o: Option<usize>| o.map_or("—".to_string(), |k| k.to_string());
        for level in [0.1, 0.01] {
            outln!(
                "recordings to reach a predicted error of {level}: best {}, random {}, worst {}",
                show(needed(&best.remaining, level)),
                show(needed(random_mean, level)),
                show(needed(&worst.remaining, level))
            )?;
        }
        outln!("full ranking in {}", dir.join("ranking.csv").display())?;
        Ok(())
    })
}
