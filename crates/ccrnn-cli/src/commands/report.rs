//! `ccrnn report DIR`: one section per claim of the paper (SCIENCE.md §1), with each sweep's
//! plot, its numbers and the verdict, as Markdown and as one self-contained HTML page (plots
//! inlined as SVG).

use crate::args::ReportArgs;
use crate::plots::{Panel, Series, color, save_at};
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, bail};
use ccrnn_lab::sweep::claims::{CLAIMS, Finding, M_STAR_LEVEL, crossing, paper_reference};
use ccrnn_lab::sweep::{BetaTraining, Col, Experiment, Recipe, SweepDir, Table, assess};
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

/// The Markdown report as one self-contained HTML page: CommonMark with tables
/// (pulldown-cmark), each plot's PNG replaced by its SVG, inlined.
fn render_html(markdown: &str, out_dir: &Path) -> Result<String> {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd, html};
    let mut events = Vec::new();
    let mut in_image = false;
    for ev in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match ev {
            Event::Start(Tag::Image { dest_url, .. }) => {
                let stem = dest_url.strip_suffix(".png").unwrap_or(&dest_url);
                let path = out_dir.join(format!("{stem}.svg"));
                let svg = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                events.push(Event::Html(format!("<figure>{svg}</figure>").into()));
                in_image = true;
            }
            Event::End(TagEnd::Image) => in_image = false,
            _ if in_image => {} // the alt text, which the SVG replaces
            ev => events.push(ev),
        }
    }
    // a figure is a block of its own, not inside a paragraph
    let figure = |e: &Event| matches!(e, Event::Html(h) if h.starts_with("<figure>"));
    let mut blocks = Vec::with_capacity(events.len());
    let mut k = 0;
    while k < events.len() {
        if matches!(events[k], Event::Start(Tag::Paragraph))
            && events.get(k + 1).is_some_and(figure)
            && matches!(events.get(k + 2), Some(Event::End(TagEnd::Paragraph)))
        {
            blocks.push(events[k + 1].clone());
            k += 3;
        } else {
            blocks.push(events[k].clone());
            k += 1;
        }
    }
    let mut body = String::new();
    html::push_html(&mut body, blocks.into_iter());
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

fn is(c: &dyn Fn(Col) -> f64, name: Col, v: f64) -> bool {
    c(name) == v
}

/// The plot of one sweep, by the same recognition as the verdicts.
fn panels(recipe: &Recipe, t: &Table) -> Vec<Panel> {
    let s = &recipe.student;
    let shuffle_corr = t.column(Col::ShuffleCorrErr).first().copied().unwrap_or(f64::NAN);
    let ns = t.distinct(|_| true, Col::N);
    let per_n = |x: Col, y: Col| -> Vec<Series> {
        ns.iter()
            .enumerate()
            .map(|(i, &n)| line(format!("N = {n}"), t.curve(|c| is(c, Col::N, n), x, y), i))
            .collect()
    };
    let experiment = recipe.experiment();
    if experiment == Experiment::Degeneracy {
        let per = |y: Col| t.curve(|_| true, Col::Replicate, y);
        let rel: Vec<(f64, f64)> = (0..t.rows.len())
            .map(|r| {
                (
                    t.get(r, Col::Replicate),
                    t.get(r, Col::ReadoutMse) / t.get(r, Col::TeacherReadoutVar),
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
                    line("students", per(Col::UnrecordedCorrErr), 1),
                    level("shuffled labels", &xs, shuffle_corr),
                ],
                false,
                false,
            ),
        ];
    }
    if experiment == Experiment::Unconstrained {
        let ms = t.distinct(|c| c(Col::M) > 0.0, Col::M);
        let cons = |y: Col| t.curve(|c| is(c, Col::Unconstrained, 0.0), Col::M, y);
        let free = |y: Col| t.curve(|c| is(c, Col::Unconstrained, 1.0), Col::M, y);
        let shuffle_mse = t.column(Col::ShuffleMse).first().copied().unwrap_or(f64::NAN);
        return vec![
            panel(
                "Correlation error vs recorded neurons",
                "recorded neurons M",
                "1 − |ρ|",
                vec![
                    line("unrecorded, connectome", cons(Col::UnrecordedCorrErr), 0),
                    line("unrecorded, unconstrained", free(Col::UnrecordedCorrErr), 3),
                    line("recorded, unconstrained", free(Col::RecordedCorrErr), 4).dashed(),
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
                    line("connectome", cons(Col::UnrecordedMse), 0),
                    line("unconstrained", free(Col::UnrecordedMse), 3),
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
            per_n(Col::M, Col::UnrecordedCorrErr),
            true,
            false,
        )
    };
    match experiment {
        Experiment::LowRank => {
            return vec![
                error_vs_m("Rank-2 teachers: error vs M"),
                panel(
                    "... and vs M/N",
                    "fraction recorded M/N",
                    "unrecorded 1 − |ρ|",
                    per_n(Col::MOverN, Col::UnrecordedCorrErr),
                    true,
                    false,
                ),
            ];
        }
        Experiment::Chaos => {
            let stars: Vec<(f64, f64)> = ns
                .iter()
                .filter_map(|&n| {
                    let c = t.curve(|c| is(c, Col::N, n), Col::M, Col::UnrecordedCorrErr);
                    crossing(&c, M_STAR_LEVEL).map(|m| (n, m))
                })
                .collect();
            let pr: Vec<(f64, f64)> = ns
                .iter()
                .map(|&n| (n, t.curve(|c| is(c, Col::N, n), Col::N, Col::TeacherPr)[0].1))
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
        _ => {}
    }
    if experiment == Experiment::Mismatch {
        let modes = [BetaTraining::Fixed, BetaTraining::Shared, BetaTraining::PerNeuron];
        let by = |y: Col, skip_fixed: bool| -> Vec<Series> {
            modes
                .iter()
                .enumerate()
                .filter(|(_, m)| s.beta_training.contains(m) && !(skip_fixed && **m == BetaTraining::Fixed))
                .map(|(i, m)| {
                    let code = m.code() as f64;
                    line(
                        format!("β {}", m.name()),
                        t.curve(|c| is(c, Col::BetaTraining, code), Col::BetaStudent, y),
                        i,
                    )
                })
                .collect()
        };
        let bt = t.column(Col::BetaTeacher).first().copied().unwrap_or(1.0);
        let mut ends = by(Col::BetaFinal, true);
        ends.push(level("teacher β", &s.beta, bt));
        ends.push(Series::line("start", s.beta.iter().map(|&b| (b, b)).collect(), color(7)).dashed());
        return vec![
            panel(
                "Nonlinearity mismatch: error floor",
                "student β at the start",
                "unrecorded MSE",
                by(Col::UnrecordedMse, false),
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
    if experiment == Experiment::Noise {
        return vec![
            panel(
                "Connectome noise: error floor",
                "noise σ",
                "unrecorded MSE",
                vec![line(
                    "students",
                    t.curve(|_| true, Col::ConnectomeNoise, Col::UnrecordedMse),
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
                    t.curve(|_| true, Col::ConnectomeNoise, Col::UnrecordedCorrErr),
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
    // Staged beside the target and moved into place only once everything is written (an
    // existing target is replaced only if it is a directory ccrnn wrote); meta.json records
    // the recipes and tables it was made from.
    let meta = ccrnn_io::RunDir::meta_now(env!("CARGO_PKG_VERSION"), 0, rayon::current_num_threads());
    let mut run = ccrnn_io::RunDir::create(&out, meta, true)?;
    let mut assessed = Vec::new();
    for d in &sweeps {
        let sweep = SweepDir::open(d)?;
        let table = Table::collect(&sweep)?;
        run.add_input(&d.join("recipe.toml"))?;
        if d.join("results.csv").is_file() {
            run.add_input(&d.join("results.csv"))?;
        }
        let findings = assess(&sweep.recipe, &table);
        // Named after the directory: two sweeps of one recipe (seeds, scales) stay apart.
        let plot = d
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| format!("{}-{}", sweep.recipe.name, sweep.recipe.scale));
        if !table.rows.is_empty() {
            save_at(&run.file(&plot), &panels(&sweep.recipe, &table), 2, (560, 400))?;
        }
        assessed.push(Assessed {
            dir: d.clone(),
            recipe: sweep.recipe,
            table,
            findings,
            plot,
        });
    }
    let markdown = render_md(&document(&assessed));
    run.write("report.md", markdown.as_bytes())?;
    run.write("report.html", render_html(&markdown, &run.file(""))?.as_bytes())?;
    let out = run.finish()?;
    let findings: Vec<_> = assessed
        .iter()
        .flat_map(|s| {
            s.findings.iter().map(move |f| {
                json!({"claim": f.claim, "recipe": s.recipe.name, "scale": s.recipe.scale,
                       "verdict": verdict(f.held), "evidence": f.evidence,
                       "paper": paper_reference(s.recipe.experiment(), f.claim)})
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
                    s.table.column(Col::Converged).iter().filter(|&&c| c == 1.0).count(),
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
                if let Some(paper) = paper_reference(s.recipe.experiment(), claim) {
                    b.push(Block::Para(format!("*The paper:* {paper}")));
                }
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
