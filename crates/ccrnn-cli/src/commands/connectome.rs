//! `ccrnn connectome info`: what a connectome file holds.

use crate::args::{ConnectomeCmd, ConnectomeSource};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Result, bail};
use ccrnn_analysis::linalg::{Extreme, arnoldi_eigenvalue, perron_root, spectral_radius};
use ccrnn_core::Connectome;
use ccrnn_io::connectome::{SignRules, select};
use ccrnn_io::{LoadOptions, LoadReport, Source, load_connectome};
use ccrnn_lab::teacher::DENSE_EIGEN_MAX;
use serde_json::json;

/// Reads the connectome named by `src`, checking the sign flags.
pub fn load(src: &ConnectomeSource) -> Result<(Connectome, LoadReport)> {
    for (flag, v) in [
        ("--glutamate-sign", src.glutamate_sign),
        ("--unknown-sign", src.unknown_sign),
    ] {
        if !(-1..=1).contains(&v) {
            bail!("{flag} = {v}: must be -1, 0 or 1");
        }
    }
    if !(src.threshold >= 0.0 && src.threshold.is_finite()) {
        bail!("--threshold = {}: must be >= 0", src.threshold);
    }
    let opts = LoadOptions {
        threshold: src.threshold,
        self_loops: src.self_loops,
        signs: SignRules {
            glutamate: src.glutamate_sign,
            unknown: src.unknown_sign,
            ..SignRules::default()
        },
        neuropils: src.neuropil.clone(),
        lattice: ccrnn_io::connectome::Lattice {
            extent: src.extent,
            n_syn_fill: src.n_syn_fill,
        },
    };
    let (con, mut report) = load_connectome(&Source::guess(&src.file, src.nodes.as_deref()), &opts)?;
    let con = select(&con, &src.keep_label, &src.keep_ids, &mut report)
        .map_err(|e| anyhow::anyhow!("{}: {e}", src.file.display()))?;
    Ok((con, report))
}

fn stats(v: &[usize]) -> serde_json::Value {
    let mut s = v.to_vec();
    s.sort_unstable();
    let mean = s.iter().sum::<usize>() as f64 / s.len().max(1) as f64;
    json!({"mean": mean, "median": s.get(s.len() / 2).copied().unwrap_or(0), "max": s.last().copied().unwrap_or(0)})
}

pub fn run(c: ConnectomeCmd, ui: &Ui) -> Result<i32> {
    let a = match c {
        ConnectomeCmd::Info(a) => a,
        ConnectomeCmd::Study(a) => return super::connectome_study::run(a, ui),
        ConnectomeCmd::Teacher(a) => return super::connectome_teacher::run(a, ui),
    };
    let t0 = std::time::Instant::now();
    let (con, report) = load(&a.source)?;
    let n = con.n();
    let p = &con.pattern;
    let mut in_deg = vec![0usize; n];
    let mut out_deg = vec![0usize; n];
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for i in 0..n {
        for e in p.row_ptr()[i]..p.row_ptr()[i + 1] {
            let j = p.col()[e] as usize;
            in_deg[i] += 1;
            out_deg[j] += 1;
            rows[i].push((j, con.counts[e]));
        }
    }
    let frac = |s: i8| con.signs.iter().filter(|&&x| x == s).count() as f64 / n.max(1) as f64;
    let perron = perron_root(&rows, 1e-10, 100_000);
    // The signed spectrum: dense O(N³) up to 2,000 neurons, Arnoldi above.
    let signed = if n <= DENSE_EIGEN_MAX {
        let w = con.connectivity::<f64>(1.0)?.to_dense();
        spectral_radius(w.view(), "signed spectrum")?
    } else {
        let w = con.connectivity::<f64>(1.0)?;
        let (rp, col) = (w.pattern.row_ptr(), w.pattern.col());
        let matvec = |x: &[f64], y: &mut [f64]| {
            for (i, yi) in y.iter_mut().enumerate() {
                *yi = (rp[i]..rp[i + 1]).map(|e| w.values[e] * x[col[e] as usize]).sum();
            }
        };
        let (re, im) = arnoldi_eigenvalue(n, matvec, Extreme::Largest, 80, 1e-8, 30)?;
        re.hypot(im)
    };
    let mut labels: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for l in con.labels.iter().filter(|l| !l.is_empty()) {
        *labels.entry(l.as_str()).or_default() += 1;
    }
    let doc = json!({
        "command": "connectome info", "file": a.source.file.display().to_string(),
        "neurons": n, "edges": con.edges(), "synapses": con.synapses(),
        "excitatory_fraction": frac(1), "inhibitory_fraction": frac(-1), "unknown_sign_fraction": frac(0),
        "in_degree": stats(&in_deg), "out_degree": stats(&out_deg),
        "spectral_radius_counts": perron, "spectral_radius_signed": signed,
        "labels": labels, "report": report, "seconds": t0.elapsed().as_secs_f64(),
    });
    if ui.json {
        outln!("{}", serde_json::to_string(&doc)?)?;
        return Ok(0);
    }
    outln!("{}", a.source.file.display())?;
    outln!("  neurons {n}, edges {}, synapses {}", con.edges(), con.synapses())?;
    outln!(
        "  signs: {:.1} % excitatory, {:.1} % inhibitory, {:.1} % unknown",
        100.0 * frac(1),
        100.0 * frac(-1),
        100.0 * frac(0)
    )?;
    for (name, d) in [("in-degree", &doc["in_degree"]), ("out-degree", &doc["out_degree"])] {
        outln!(
            "  {name}: mean {:.1}, median {}, max {}",
            d["mean"].as_f64().unwrap_or(0.0),
            d["median"],
            d["max"]
        )?;
    }
    outln!("  spectral radius: {perron:.4} (synapse counts), {signed:.4} (signed)")?;
    if !labels.is_empty() {
        let mut top: Vec<_> = labels.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1));
        let shown: Vec<String> = top.iter().take(8).map(|(l, k)| format!("{l} {k}")).collect();
        outln!("  labels ({}): {}", labels.len(), shown.join(", "))?;
    }
    let below = if a.source.threshold > 0.0 {
        format!(
            "dropped {} pairs below {} ({} synapses), ",
            report.below_threshold, a.source.threshold, report.below_threshold_synapses
        )
    } else {
        String::new()
    };
    ui.say(format!(
        "  read {} rows: merged {}, {below}{} self-loops, {} rows outside the neuropils; {} neurons with unknown sign, {} with both signs (majority taken), {} isolated, {} deselected",
        report.rows,
        report.merged_rows,
        report.self_loops,
        report.outside_neuropils,
        report.unknown_sign,
        report.mixed_sign,
        report.isolated,
        report.deselected
    ));
    Ok(0)
}
