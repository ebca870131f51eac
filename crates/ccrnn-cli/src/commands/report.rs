//! `ccrnn report DIR`: one section per claim of the paper (SCIENCE.md §1), with each sweep's
//! plot, its numbers and the verdict, as Markdown and as one self-contained HTML page (plots
//! inlined as SVG).

use crate::args::ReportArgs;
use crate::plots::{Panel, Series, color, save_at};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, bail};
use ccrnn_lab::sweep::claims::{CLAIMS, Finding, M_STAR_LEVEL, crossing};
use ccrnn_lab::sweep::{BetaTraining, Recipe, SweepDir, Table, TeacherKind, assess};
use serde_json::json;
use std::path::{Path, PathBuf};

/// One assessed sweep.
struct Assessed {
    dir: PathBuf,
    recipe: Recipe,
    table: Table,
    findings: Vec<Finding>,
    plot: String,
}

/// A piece of the report, rendered to Markdown and to HTML.
enum Block {
    Heading(u8, String),
    Para(String),
    Plot { stem: String, alt: String },
    Table(Vec<Vec<String>>),
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn render_md(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, t) => out += &format!("{} {t}\n\n", "#".repeat(*level as usize)),
            Block::Para(t) => out += &format!("{t}\n\n"),
            Block::Plot { stem, alt } => out += &format!("![{alt}]({stem}.png)\n\n"),
            Block::Table(rows) => {
                for (i, r) in rows.iter().enumerate() {
                    out += &format!("| {} |\n", r.join(" | "));
                    if i == 0 {
                        out += &format!("|{}\n", "---|".repeat(r.len()));
                    }
                }
                out.push('\n');
            }
        }
    }
    out
}

/// Wraps every other piece of `s` split at `mark` in `<tag>`.
fn emphasis(s: &str, mark: &str, tag: &str) -> String {
    s.split(mark)
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<{tag}>{part}</{tag}>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

/// Markdown emphasis (`**x**`, `*x*`, `` `x` ``) to HTML, after escaping.
fn inline_html(s: &str) -> String {
    let e = html_escape(s);
    let e = emphasis(&e, "**", "strong");
    let e = emphasis(&e, "`", "code");
    if e.starts_with('*') && e.ends_with('*') && e.len() > 1 {
        format!("<em>{}</em>", &e[1..e.len() - 1])
    } else {
        e
    }
}

fn render_html(blocks: &[Block], out_dir: &Path) -> Result<String> {
    let mut body = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, t) => body += &format!("<h{level}>{}</h{level}>\n", inline_html(t)),
            Block::Para(t) => body += &format!("<p>{}</p>\n", inline_html(t)),
            Block::Plot { stem, .. } => {
                let path = out_dir.join(format!("{stem}.svg"));
                let svg = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                body += &format!("<figure>{svg}</figure>\n");
            }
            Block::Table(rows) => {
                body += "<table>\n";
                for (i, r) in rows.iter().enumerate() {
                    let tag = if i == 0 { "th" } else { "td" };
                    body += "<tr>";
                    for c in r {
                        body += &format!("<{tag}>{}</{tag}>", inline_html(c));
                    }
                    body += "</tr>\n";
                }
                body += "</table>\n";
            }
        }
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ccrnn report</title>\n<style>\
         body{{font-family:sans-serif;max-width:1000px;margin:2em auto;line-height:1.45}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px}}\
         figure{{margin:1em 0}}svg{{max-width:100%;height:auto}}</style></head>\n<body>\n{body}</body></html>\n"
    ))
}

/// The sweep directories under `dir`: itself, or its subdirectories holding a recipe.
fn find_sweeps(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.join("recipe.toml").exists() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("recipe.toml").exists())
        .collect();
    found.sort();
    if found.is_empty() {
        bail!(
            "{}: no sweep here (a sweep directory has a recipe.toml; run `ccrnn sweep run` first)",
            dir.display()
        );
    }
    Ok(found)
}

fn line(name: impl Into<String>, pts: Vec<(f64, f64)>, i: usize) -> Series {
    Series::line(name, pts, color(i)).markers()
}

fn panel(title: &str, x: &str, y: &str, series: Vec<Series>, log_x: bool, log_y: bool) -> Panel {
    Panel {
        title: title.into(),
        x_label: x.into(),
        y_label: y.into(),
        series,
        log_y,
        log_x,
        x_names: None,
    }
}

/// A horizontal dashed line at `y` across the x range of `xs`.
fn level(name: &str, xs: &[f64], y: f64) -> Series {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Series::line(name, vec![(lo, y), (hi, y)], color(7)).dashed()
}

fn is(c: &dyn Fn(&str) -> f64, name: &str, v: f64) -> bool {
    c(name) == v
}

/// The plot of one sweep, by the same recognition as the verdicts.
fn panels(recipe: &Recipe, t: &Table) -> Vec<Panel> {
    let s = &recipe.student;
    let shuffle_corr = t.column("shuffle_corr_err").first().copied().unwrap_or(f64::NAN);
    let ns = t.distinct(|_| true, "n");
    let per_n = |x: &str, y: &str| -> Vec<Series> {
        ns.iter()
            .enumerate()
            .map(|(i, &n)| line(format!("N = {n}"), t.curve(|c| is(c, "n", n), x, y), i))
            .collect()
    };
    if s.ms == [0] {
        let per = |y: &str| t.curve(|_| true, "replicate", y);
        let rel: Vec<(f64, f64)> = (0..t.rows.len())
            .map(|r| {
                (
                    t.get(r, "replicate"),
                    t.get(r, "readout_mse") / t.get(r, "teacher_readout_var"),
                )
            })
            .collect();
        let xs: Vec<f64> = rel.iter().map(|p| p.0).collect();
        return vec![
            panel(
                "Task: readout error",
                "student",
                "readout MSE / readout variance",
                vec![line("students", rel, 0), level("20 %", &xs, 0.2)],
                false,
                false,
            ),
            panel(
                "Activity: unrecorded error",
                "student",
                "1 − |ρ|",
                vec![
                    line("students", per("unrecorded_corr_err"), 1),
                    level("shuffled labels", &xs, shuffle_corr),
                ],
                false,
                false,
            ),
        ];
    }
    if s.unconstrained.contains(&true) {
        let ms = t.distinct(|c| c("m") > 0.0, "m");
        let cons = |y: &str| t.curve(|c| is(c, "unconstrained", 0.0), "m", y);
        let free = |y: &str| t.curve(|c| is(c, "unconstrained", 1.0), "m", y);
        let shuffle_mse = t.column("shuffle_mse").first().copied().unwrap_or(f64::NAN);
        return vec![
            panel(
                "Correlation error vs recorded neurons",
                "recorded neurons M",
                "1 − |ρ|",
                vec![
                    line("unrecorded, connectome", cons("unrecorded_corr_err"), 0),
                    line("unrecorded, unconstrained", free("unrecorded_corr_err"), 3),
                    line("recorded, unconstrained", free("recorded_corr_err"), 4).dashed(),
                    level("shuffled labels", &ms, shuffle_corr),
                ],
                true,
                false,
            ),
            panel(
                "Activity MSE vs recorded neurons",
                "recorded neurons M",
                "unrecorded MSE",
                vec![
                    line("connectome", cons("unrecorded_mse"), 0),
                    line("unconstrained", free("unrecorded_mse"), 3),
                    level("shuffled labels", &ms, shuffle_mse),
                ],
                true,
                true,
            ),
        ];
    }
    let error_vs_m = |title: &str| {
        panel(
            title,
            "recorded neurons M",
            "unrecorded 1 − |ρ|",
            per_n("m", "unrecorded_corr_err"),
            true,
            false,
        )
    };
    match recipe.teacher.kind {
        TeacherKind::LowRank => {
            return vec![
                error_vs_m("Rank-2 teachers: error vs M"),
                panel(
                    "... and vs M/N",
                    "fraction recorded M/N",
                    "unrecorded 1 − |ρ|",
                    per_n("m_over_n", "unrecorded_corr_err"),
                    true,
                    false,
                ),
            ];
        }
        TeacherKind::Chaotic => {
            let stars: Vec<(f64, f64)> = ns
                .iter()
                .filter_map(|&n| {
                    let c = t.curve(|c| is(c, "n", n), "m", "unrecorded_corr_err");
                    crossing(&c, M_STAR_LEVEL).map(|m| (n, m))
                })
                .collect();
            let pr: Vec<(f64, f64)> = ns
                .iter()
                .map(|&n| (n, t.curve(|c| is(c, "n", n), "n", "teacher_pr")[0].1))
                .collect();
            return vec![
                error_vs_m("Chaotic teachers: error vs M"),
                panel(
                    "Recordings needed and dimensionality",
                    "network size N",
                    "neurons",
                    vec![
                        line(format!("M* (1 − |ρ| ≤ {M_STAR_LEVEL})"), stars, 0),
                        line("participation ratio", pr, 1),
                    ],
                    false,
                    false,
                ),
            ];
        }
        TeacherKind::Ei => {}
    }
    if s.beta.len() > 1 {
        let modes = [BetaTraining::Fixed, BetaTraining::Shared, BetaTraining::PerNeuron];
        let by = |y: &str, skip_fixed: bool| -> Vec<Series> {
            modes
                .iter()
                .enumerate()
                .filter(|(_, m)| s.beta_training.contains(m) && !(skip_fixed && **m == BetaTraining::Fixed))
                .map(|(i, m)| {
                    let code = m.code() as f64;
                    line(
                        format!("β {}", m.name()),
                        t.curve(|c| is(c, "beta_training", code), "beta_student", y),
                        i,
                    )
                })
                .collect()
        };
        let bt = t.column("beta_teacher").first().copied().unwrap_or(1.0);
        let mut ends = by("beta_final", true);
        ends.push(level("teacher β", &s.beta, bt));
        ends.push(Series::line("start", s.beta.iter().map(|&b| (b, b)).collect(), color(7)).dashed());
        return vec![
            panel(
                "Nonlinearity mismatch: error floor",
                "student β at the start",
                "unrecorded MSE",
                by("unrecorded_mse", false),
                true,
                true,
            ),
            panel(
                "Trained β",
                "student β at the start",
                "β after fitting",
                ends,
                true,
                true,
            ),
        ];
    }
    if s.connectome_noise.len() > 1 {
        return vec![
            panel(
                "Connectome noise: error floor",
                "noise σ",
                "unrecorded MSE",
                vec![line(
                    "students",
                    t.curve(|_| true, "connectome_noise", "unrecorded_mse"),
                    0,
                )],
                false,
                false,
            ),
            panel(
                "",
                "noise σ",
                "unrecorded 1 − |ρ|",
                vec![line(
                    "students",
                    t.curve(|_| true, "connectome_noise", "unrecorded_corr_err"),
                    1,
                )],
                false,
                false,
            ),
        ];
    }
    vec![error_vs_m("Error vs recorded neurons")]
}

fn verdict(h: Option<bool>) -> &'static str {
    match h {
        Some(true) => "held",
        Some(false) => "not held",
        None => "undecided",
    }
}

/// What to run for the claims no sweep recipe covers.
fn elsewhere(claim: u8) -> Option<&'static str> {
    match claim {
        4 => Some("`ccrnn analyze hessian` (Gauss–Newton spectrum at a teacher) and the `theory_study` example"),
        7 => Some("`ccrnn prioritize` (greedy best / random / worst recording orders) and the `theory_study` example"),
        8 => Some("`ccrnn connectome study` on a real connectome (built-in `celegans`, or a file)"),
        _ => None,
    }
}

pub fn run(a: ReportArgs, ui: &Ui) -> Result<i32> {
    let sweeps = find_sweeps(&a.dir)?;
    let out = a.out.clone().unwrap_or_else(|| a.dir.join("report"));
    // Staged beside the target and moved into place only once everything is written; an
    // existing target is replaced only if it is a report ccrnn wrote (ccrnn_io::out_dir).
    let stage = ccrnn_io::out_dir::stage(&out, true)?;
    let result = (|| -> Result<(Vec<Assessed>, String)> {
        let mut assessed = Vec::new();
        for d in &sweeps {
            let sweep = SweepDir::open(d)?;
            let table = Table::collect(&sweep)?;
            let findings = assess(&sweep.recipe, &table);
            // Named after the directory: two sweeps of one recipe (seeds, scales) stay apart.
            let plot = d
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| format!("{}-{}", sweep.recipe.name, sweep.recipe.scale));
            if !table.rows.is_empty() {
                save_at(&stage.join(&plot), &panels(&sweep.recipe, &table), 2, (560, 400))?;
            }
            assessed.push(Assessed {
                dir: d.clone(),
                recipe: sweep.recipe,
                table,
                findings,
                plot,
            });
        }
        let blocks = document(&assessed);
        std::fs::write(stage.join("report.md"), render_md(&blocks))?;
        std::fs::write(stage.join("report.html"), render_html(&blocks, &stage)?)?;
        Ok((assessed, render_md(&blocks)))
    })();
    let (assessed, _) = match result {
        Ok(r) => r,
        Err(e) => {
            ccrnn_io::out_dir::discard_staging(&stage);
            return Err(e);
        }
    };
    if let Err(e) = ccrnn_io::out_dir::publish(&stage, &out, true) {
        ccrnn_io::out_dir::discard_staging(&stage);
        return Err(e.into());
    }
    let findings: Vec<_> = assessed
        .iter()
        .flat_map(|s| {
            s.findings.iter().map(move |f| {
                json!({"claim": f.claim, "recipe": s.recipe.name, "scale": s.recipe.scale,
                       "verdict": verdict(f.held), "evidence": f.evidence})
            })
        })
        .collect();
    if ui.json {
        outln!(
            "{}",
            json!({"command": "report", "out": out.display().to_string(), "findings": findings})
        )?;
    } else {
        for s in &assessed {
            for f in &s.findings {
                outln!(
                    "claim {} ({} {}): {}",
                    f.claim,
                    s.recipe.name,
                    s.recipe.scale,
                    verdict(f.held)
                )?;
            }
        }
        outln!("wrote {} and report.html", out.join("report.md").display())?;
    }
    Ok(0)
}

fn document(sweeps: &[Assessed]) -> Vec<Block> {
    let mut b = vec![
        Block::Heading(1, "ccrnn report: the paper's claims".into()),
        Block::Para(format!(
            "Generated by ccrnn {} from {} sweep(s). Claims as in Beiran & Litwin-Kumar (Nat. Neurosci. 2025), \
             SCIENCE.md §1. Errors are on held-out trials, noise-free rollouts, medians over replicates; 1 − |ρ| is \
             the correlation error, MSE the activity error. \"converged\" counts the students whose fit \
             passed its convergence test; the others ran out of steps, and their scores are those of unfinished \
             fits.",
            env!("CARGO_PKG_VERSION"),
            sweeps.len()
        )),
    ];
    let mut summary = vec![vec![
        "claim".to_string(),
        "recipe".into(),
        "scale".into(),
        "students".into(),
        "converged".into(),
        "verdict".into(),
    ]];
    for s in sweeps {
        for f in &s.findings {
            summary.push(vec![
                f.claim.to_string(),
                s.recipe.name.clone(),
                s.recipe.scale.clone(),
                format!(
                    "{} of {}",
                    s.table.rows.len(),
                    s.table.rows.len() + s.table.missing.len()
                ),
                format!(
                    "{} of {}",
                    s.table.column("converged").iter().filter(|&&c| c == 1.0).count(),
                    s.table.rows.len()
                ),
                verdict(f.held).into(),
            ]);
        }
    }
    b.push(Block::Table(summary));
    for (claim, statement) in CLAIMS {
        b.push(Block::Heading(2, format!("Claim {claim}")));
        b.push(Block::Para(format!("*{statement}*")));
        let mut any = false;
        for s in sweeps {
            for f in s.findings.iter().filter(|f| f.claim == claim) {
                any = true;
                b.push(Block::Heading(
                    3,
                    format!("{} ({} scale, {})", s.recipe.name, s.recipe.scale, s.dir.display()),
                ));
                if !s.table.missing.is_empty() {
                    b.push(Block::Para(format!(
                        "Incomplete: {} student task(s) not finished; numbers are from the finished ones.",
                        s.table.missing.len()
                    )));
                }
                b.push(Block::Plot {
                    stem: s.plot.clone(),
                    alt: s.recipe.name.clone(),
                });
                b.push(Block::Para(format!(
                    "**{}.** {}",
                    capitalise(verdict(f.held)),
                    f.evidence
                )));
            }
        }
        if !any {
            b.push(Block::Para(match elsewhere(claim) {
                Some(cmd) => format!("Not assessed by the sweeps in this directory; see {cmd}."),
                None => "No sweep in this directory tests this claim.".into(),
            }));
        }
    }
    b
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
