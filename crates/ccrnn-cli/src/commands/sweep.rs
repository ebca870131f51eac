//! `ccrnn sweep`: recipes, local runs, single tasks (for job arrays), status and collection.

use crate::args::{RecipeArgs, RecipesArgs, RunTaskArgs, SweepCmd, SweepDirArgs, SweepRunArgs};
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::{Context, Result, bail};
use ccrnn_lab::sweep::{
    BUILTIN, Event, Outcome, Recipe, SCALES, SweepDir, Table, TaskState, builtin, run_local, run_task,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

pub fn run(cmd: SweepCmd, ui: &Ui) -> Result<i32> {
    match cmd {
        SweepCmd::Recipes(a) => recipes(a, ui),
        SweepCmd::Run(a) => run_sweep(a, ui),
        SweepCmd::Slurm(a) => super::slurm::run(a, ui),
        SweepCmd::RunTask(a) => run_one(a, ui),
        SweepCmd::Status(a) => status(a, ui),
        SweepCmd::Collect(a) => collect(a, ui),
    }
}

/// A built-in recipe by name, or a recipe file; `--seed` overrides the recipe's.
pub fn load_recipe(a: &RecipeArgs) -> Result<Recipe> {
    let (name_or_path, scale, seed) = (a.recipe.as_str(), a.scale.as_str(), a.seed);
    let path = Path::new(name_or_path);
    let mut recipe = if BUILTIN.contains(&name_or_path) {
        builtin(name_or_path, scale)?
    } else if path.exists() {
        ccrnn_io::config::read_toml_required::<Recipe>(path, "recipe")?
    } else {
        bail!(
            "{name_or_path}: neither a built-in recipe ({}) nor a file",
            BUILTIN.join(", ")
        )
    };
    if let Some(seed) = seed {
        recipe.seed = seed;
    }
    recipe.validate().with_context(|| format!("recipe {name_or_path}"))?;
    Ok(recipe)
}

fn recipes(a: RecipesArgs, ui: &Ui) -> Result<i32> {
    if let Some(name) = a.show {
        out!("{}", ccrnn_io::to_toml(&builtin(&name, &a.scale)?))?;
        return Ok(0);
    }
    let mut list = Vec::new();
    for name in BUILTIN {
        let counts: Vec<usize> = SCALES
            .iter()
            .map(|s| ccrnn_lab::sweep::expand(&builtin(name, s).expect("built-in")).map(|t| t.len()))
            .collect::<ccrnn_lab::Result<_>>()?;
        let r = builtin(name, "small")?;
        list.push((name, counts, r.description));
    }
    if ui.json {
        let doc: Vec<_> = list
            .iter()
            .map(|(n, c, d)| json!({"name": n, "tasks_small": c[0], "tasks_paper": c[1], "description": d}))
            .collect();
        outln!("{}", serde_json::to_string(&doc)?)?;
    } else {
        outln!("{:<18} {:>11} {:>11}  tests", "recipe", "tasks small", "tasks paper")?;
        for (n, c, d) in &list {
            outln!("{n:<18} {:>11} {:>11}  {d}", c[0], c[1])?;
        }
        outln!(
            "\nrun one: ccrnn sweep run NAME [--scale small|paper] [--jobs J]; edit one: ccrnn sweep recipes --show NAME > my.toml"
        )?;
    }
    Ok(0)
}

/// Shows the sweep's progress on one bar: tasks done, and the running tasks' steps.
struct Progress<'a> {
    bar: indicatif::ProgressBar,
    running: Mutex<BTreeMap<String, (u64, u64)>>,
    ui: &'a Ui,
}

impl Progress<'_> {
    fn on(&self, e: Event) {
        let mut r = self.running.lock().expect("progress lock");
        match e {
            Event::Started { id } => {
                r.insert(id.to_string(), (0, 0));
            }
            Event::Progress { id, step, total, .. } => {
                r.insert(id.to_string(), (step, total));
            }
            Event::Finished { id, seconds } => {
                r.remove(id);
                self.bar.inc(1);
                self.bar
                    .suspend(|| self.ui.say(format!("  done {id} ({seconds:.1} s)")));
            }
            Event::Failed { id, message } => {
                r.remove(id);
                self.bar.suspend(|| self.ui.say(format!("  FAILED {id}: {message}")));
            }
        }
        let msg: Vec<String> = r.iter().map(|(id, (s, t))| format!("{id} {s}/{t}")).collect();
        self.bar.set_message(msg.join("  "));
    }
}

fn run_sweep(a: SweepRunArgs, ui: &Ui) -> Result<i32> {
    let recipe = load_recipe(&a.recipe)?;
    let out = a
        .out
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{}", recipe.name, recipe.scale)));
    let dir = SweepDir::create(&out, &recipe)?;
    super::reproducible_if(recipe.reproducible);
    let _lock = dir.lock()?;
    let meta = SweepMeta::start(&dir, "run", &a.recipe)?;
    let total = dir.tasks.len();
    let done = dir.tasks.iter().filter(|t| dir.state(&t.id) == TaskState::Done).count();
    ui.say(format!(
        "sweep {} ({} scale): {total} tasks, {done} already done; {} job(s); directory {}",
        recipe.name,
        recipe.scale,
        a.jobs,
        out.display()
    ));
    let progress = Progress {
        bar: ui.bar(total as u64, "tasks"),
        running: Mutex::new(BTreeMap::new()),
        ui,
    };
    progress.bar.set_position(done as u64);
    let start = Instant::now();
    let summary = run_local(&dir, a.jobs, &|e| progress.on(e))?;
    progress.bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let table = Table::collect(&dir)?;
    table.write(dir.root())?;
    meta.finish()?;
    let doc = json!({
        "command": "sweep run",
        "dir": out.display().to_string(),
        "recipe": recipe.name,
        "scale": recipe.scale,
        "tasks": total,
        "ran": summary.ran,
        "already_done": summary.already_done,
        "failed": summary.failed.iter().map(|(id, m)| json!({"id": id, "error": m})).collect::<Vec<_>>(),
        "blocked": summary.blocked,
        "seconds": seconds,
    });
    if ui.json {
        outln!("{}", serde_json::to_string(&doc)?)?;
    } else {
        outln!(
            "{}: ran {} task(s) in {seconds:.0} s, {} already done, {} failed, {} blocked; table {} ({} rows)",
            out.display(),
            summary.ran,
            summary.already_done,
            summary.failed.len(),
            summary.blocked.len(),
            out.join("results.csv").display(),
            table.rows.len()
        )?;
        for (id, m) in &summary.failed {
            outln!("  failed {id}: {m}")?;
        }
    }
    if summary.failed.is_empty() && summary.blocked.is_empty() {
        Ok(0)
    } else {
        bail!(
            "{} task(s) failed and {} could not run; rerun the same command to retry them (finished tasks are kept)",
            summary.failed.len(),
            summary.blocked.len()
        )
    }
}

/// Provenance of a sweep command, DIR/meta-ACTION.json: version, command line, seed, threads,
/// start (and end) time, and the sha256 of the recipe as run (and of the recipe file given).
pub struct SweepMeta {
    path: PathBuf,
    meta: ccrnn_io::Meta,
    start: Instant,
}

impl SweepMeta {
    pub fn start(dir: &SweepDir, action: &str, recipe: &RecipeArgs) -> Result<Self> {
        let mut meta =
            ccrnn_io::RunDir::meta_now(env!("CARGO_PKG_VERSION"), dir.recipe.seed, rayon::current_num_threads());
        meta.inputs
            .push(ccrnn_io::sha256_file(&dir.root().join("recipe.toml"))?);
        let given = Path::new(&recipe.recipe);
        if given.is_file() {
            meta.inputs.push(ccrnn_io::sha256_file(given)?);
        }
        let m = Self {
            path: dir.root().join(format!("meta-{action}.json")),
            meta,
            start: Instant::now(),
        };
        m.write()?;
        Ok(m)
    }

    fn write(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.meta)?;
        ccrnn_io::write_atomic(&self.path, text.as_bytes())?;
        Ok(())
    }

    /// Records the end time.
    pub fn finish(mut self) -> Result<()> {
        self.meta.finished = Some(humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string());
        self.meta.seconds = Some(self.start.elapsed().as_secs_f64());
        self.write()
    }
}

fn run_one(a: RunTaskArgs, ui: &Ui) -> Result<i32> {
    let dir = SweepDir::open(&a.dir)?;
    super::reproducible_if(dir.recipe.reproducible);
    let task = dir.tasks.get(a.index).with_context(|| {
        format!(
            "{}: --index {} is out of range (the sweep has {} tasks, 0..{})",
            a.dir.display(),
            a.index,
            dir.tasks.len(),
            dir.tasks.len()
        )
    })?;
    let start = Instant::now();
    let outcome = run_task(&dir, task, &|e| {
        if let Event::Failed { id, message } = e {
            ui.say(format!("task {id} failed: {message}"));
        }
    })?;
    let what = match outcome {
        Outcome::Ran => "ran",
        Outcome::AlreadyDone => "already done",
    };
    if ui.json {
        outln!(
            "{}",
            json!({"command": "sweep run-task", "id": task.id, "outcome": what, "seconds": start.elapsed().as_secs_f64()})
        )?;
    } else {
        outln!(
            "task {} ({}): {what} in {:.1} s",
            a.index,
            task.id,
            start.elapsed().as_secs_f64()
        )?;
    }
    Ok(0)
}

fn status(a: SweepDirArgs, ui: &Ui) -> Result<i32> {
    let dir = SweepDir::open(&a.dir)?;
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in &dir.tasks {
        let s = match dir.state(&t.id) {
            TaskState::Done => "done",
            TaskState::Failed => "failed",
            TaskState::Started => "started",
            TaskState::Missing => "missing",
        };
        by.entry(s).or_default().push(&t.id);
    }
    let count = |s: &str| by.get(s).map_or(0, |v| v.len());
    let failed: Vec<_> = by
        .get("failed")
        .into_iter()
        .flatten()
        .map(|id| {
            let e = std::fs::read_to_string(dir.task_dir(id).join("error.txt")).unwrap_or_default();
            (id.to_string(), e.trim().to_string(), log_tail(&dir, id))
        })
        .collect();
    if ui.json {
        outln!(
            "{}",
            json!({"dir": a.dir.display().to_string(), "tasks": dir.tasks.len(), "done": count("done"),
                "started": count("started"), "failed": count("failed"), "missing": count("missing"),
                "failed_tasks": failed.iter().map(|(i, e, l)| json!({"id": i, "error": e, "log_tail": l})).collect::<Vec<_>>()})
        )?;
    } else {
        outln!(
            "{}: {} tasks — {} done, {} started (running or killed), {} failed, {} missing",
            a.dir.display(),
            dir.tasks.len(),
            count("done"),
            count("started"),
            count("failed"),
            count("missing")
        )?;
        for (id, e, log) in &failed {
            outln!("  failed {id}: {e}")?;
            for l in log {
                outln!("    | {l}")?;
            }
        }
    }
    Ok(0)
}

/// The last lines of a task's job-array log (DIR/logs/task-INDEX.log), if it ran under Slurm.
fn log_tail(dir: &SweepDir, id: &str) -> Vec<String> {
    let Some(index) = dir.tasks.iter().position(|t| t.id == id) else {
        return Vec::new();
    };
    let path = dir.root().join("logs").join(format!("task-{index}.log"));
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    lines[lines.len().saturating_sub(5)..].to_vec()
}

fn collect(a: SweepDirArgs, ui: &Ui) -> Result<i32> {
    let dir = SweepDir::open(&a.dir)?;
    let table = Table::collect(&dir)?;
    table.write(dir.root())?;
    if ui.json {
        outln!(
            "{}",
            json!({"dir": a.dir.display().to_string(), "rows": table.rows.len(), "missing": table.missing})
        )?;
    } else {
        outln!(
            "{}: {} rows (results.csv, results.npz){}",
            a.dir.display(),
            table.rows.len(),
            if table.missing.is_empty() {
                String::new()
            } else {
                format!("; {} student task(s) not finished", table.missing.len())
            }
        )?;
    }
    Ok(0)
}
