//! `ccrnn sweep slurm`: a recipe's tasks as Slurm job arrays (scripts under DIR/slurm/, logs
//! under DIR/logs/), submitted with `--submit`.

use super::sweep::{SweepMeta, load_recipe};
use crate::args::SlurmArgs;
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, bail};
use ccrnn_lab::sweep::SweepDir;
use ccrnn_lab::sweep::slurm::{SlurmOptions, script, stages};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Calls `sbatch --parsable [extra] script` and returns the job id.
fn sbatch(script: &Path, extra: &[String]) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(script)
        .output()
        .context("running sbatch (is Slurm installed here? without --submit the scripts are only written)")?;
    if !out.status.success() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        bail!("sbatch {}: unexpected reply {text:?}", script.display());
    }
    Ok(id)
}

pub fn run(a: SlurmArgs, ui: &Ui) -> Result<i32> {
    let recipe = load_recipe(&a.recipe)?;
    if a.cpus_per_task == 0 || a.tasks_per_job == 0 || a.throttle == Some(0) {
        bail!("--cpus-per-task, --tasks-per-job and --throttle must be >= 1");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let root: PathBuf = a
        .out
        .canonicalize()
        .with_context(|| format!("resolving {}", a.out.display()))?;
    let dir = SweepDir::create(&root, &recipe)?;
    SweepMeta::start(&dir, "slurm", &a.recipe)?.finish()?;
    let exe = std::env::current_exe().context("locating the ccrnn binary")?;
    let opts = SlurmOptions {
        partition: a.partition,
        time: a.time,
        mem: a.mem,
        cpus_per_task: a.cpus_per_task,
        tasks_per_job: a.tasks_per_job,
        throttle: a.throttle,
        only_missing: a.only_missing,
    };
    let stages = stages(&dir, opts.only_missing);
    for sub in ["slurm", "logs"] {
        std::fs::create_dir_all(root.join(sub)).with_context(|| format!("creating {}/{sub}", root.display()))?;
    }
    let mut scripts = Vec::new();
    for st in &stages {
        let path = root.join("slurm").join(format!("{}.sbatch", st.name));
        ccrnn_io::write_atomic(&path, script(&root, &exe, &recipe.name, st, &opts).as_bytes())?;
        scripts.push((st, path));
    }
    // submit.sh: what --submit does, for submitting by hand later.
    let has_teachers = scripts.iter().any(|(st, _)| st.name == "teachers");
    let mut submit =
        String::from("#!/bin/bash\n# Submits the arrays in order; students wait for teachers.\nset -euo pipefail\n");
    for (st, path) in &scripts {
        let dep = if st.name == "students" && has_teachers {
            " --dependency=afterany:$teachers"
        } else {
            ""
        };
        submit += &format!(
            "{0}=$(sbatch --parsable{dep} '{1}' | cut -d';' -f1)\necho \"{0}: job ${0}\"\n",
            st.name,
            path.display()
        );
    }
    ccrnn_io::write_atomic(&root.join("slurm").join("submit.sh"), submit.as_bytes())?;
    let mut jobs = Vec::new();
    if a.submit {
        let mut teachers: Option<String> = None;
        for (st, path) in &scripts {
            let extra: Vec<String> = match (&teachers, st.name) {
                (Some(t), "students") => vec![format!("--dependency=afterany:{t}")],
                _ => Vec::new(),
            };
            let id = sbatch(path, &extra)?;
            if st.name == "teachers" {
                teachers = Some(id.clone());
            }
            jobs.push(json!({"stage": st.name, "job_id": id, "tasks": st.indices.len(), "elements": st.elements(opts.tasks_per_job)}));
        }
    }
    let n_tasks: usize = stages.iter().map(|s| s.indices.len()).sum();
    if ui.json {
        outln!(
            "{}",
            json!({"command": "sweep slurm", "dir": root.display().to_string(), "tasks": n_tasks,
                   "scripts": scripts.iter().map(|(_, p)| p.display().to_string()).collect::<Vec<_>>(),
                   "jobs": jobs})
        )?;
    } else {
        for (st, p) in &scripts {
            outln!(
                "{}: {} task(s) in {} array element(s)",
                p.display(),
                st.indices.len(),
                st.elements(opts.tasks_per_job)
            )?;
        }
        if n_tasks == 0 {
            outln!("nothing to submit: every task of {} is done", root.display())?;
        }
        for j in &jobs {
            outln!(
                "submitted {} as job {}",
                j["stage"].as_str().unwrap_or("?"),
                j["job_id"].as_str().unwrap_or("?")
            )?;
        }
        if !a.submit && n_tasks > 0 {
            outln!("submit with: bash {}", root.join("slurm/submit.sh").display())?;
        }
        outln!(
            "follow with: ccrnn sweep status {0}; then ccrnn sweep collect {0}",
            root.display()
        )?;
    }
    Ok(0)
}
