//! A recipe expanded into tasks: one per teacher, then one per student, each with a stable id and
//! a seed derived from the recipe's seed and the task's place in the grid (never from its
//! position in the list), so that adding grid points does not change existing tasks.

use super::recipe::{BetaTraining, Recipe};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// One unit of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Stable id, also the name of its directory (`teacher-n300`, `n300-m16-r2`, ...).
    pub id: String,
    /// Seed of everything random in the task.
    pub seed: u64,
    /// Ids of the tasks whose outputs this one reads.
    pub needs: Vec<String>,
    /// What to do.
    pub spec: TaskSpec,
}

/// What a task does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TaskSpec {
    /// Build (and for E/I, train) the teacher of `n` neurons and record its reference data.
    Teacher {
        /// Network size.
        n: usize,
    },
    /// Fit and score one student.
    Student(StudentSpec),
}

/// One student of the grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentSpec {
    /// Id of the teacher task.
    pub teacher: String,
    /// Teacher size.
    pub n: usize,
    /// Recorded neurons (0 = readout only).
    pub m: usize,
    /// Student β (None = the teacher's).
    pub beta: Option<f64>,
    /// Whether β is trained.
    pub beta_training: BetaTraining,
    /// All weights trained from a random start, no mask or signs.
    pub unconstrained: bool,
    /// Connectome noise σ.
    pub connectome_noise: f64,
    /// Replicate index (0-based).
    pub replicate: usize,
}

/// A seed derived from `seed` and a label ([`ccrnn_core::Seeds::derive`]): stable across
/// versions, platforms and task-list order.
pub fn derive_seed(seed: u64, label: &str) -> u64 {
    ccrnn_core::Seeds(seed).derive(label)
}

/// Formats a real number for an id: `0.5`, `2`, `0.005`.
fn num(x: f64) -> String {
    let s = format!("{x}");
    s.trim_end_matches(".0").to_string()
}

/// The teacher task id for size `n`.
pub fn teacher_id(n: usize) -> String {
    format!("teacher-n{n}")
}

impl StudentSpec {
    /// The task id: `n{N}-m{M}` then the non-default variant parts, then `-r{replicate}`.
    pub fn id(&self) -> String {
        let mut id = format!("n{}-m{}", self.n, self.m);
        if let Some(b) = self.beta {
            id += &format!("-beta{}", num(b));
        }
        if self.beta_training != BetaTraining::Fixed {
            id += &format!("-{}", self.beta_training.name());
        }
        if self.unconstrained {
            id += "-free";
        }
        if self.connectome_noise > 0.0 {
            id += &format!("-noise{}", num(self.connectome_noise));
        }
        id + &format!("-r{}", self.replicate)
    }
}

/// Expands a (validated) recipe: teachers first, then students in grid order.
pub fn expand(recipe: &Recipe) -> Result<Vec<Task>> {
    recipe.validate()?;
    let s = &recipe.student;
    let betas: Vec<Option<f64>> = if s.beta.is_empty() {
        vec![None]
    } else {
        s.beta.iter().map(|&b| Some(b)).collect()
    };
    let mut tasks = Vec::new();
    for &n in &recipe.teacher.n {
        let tid = teacher_id(n);
        tasks.push(Task {
            seed: derive_seed(recipe.seed, &tid),
            id: tid,
            needs: Vec::new(),
            spec: TaskSpec::Teacher { n },
        });
    }
    for &n in &recipe.teacher.n {
        for &m in s.ms.iter().filter(|&&m| m < n) {
            for &beta in &betas {
                for &beta_training in &s.beta_training {
                    for &unconstrained in &s.unconstrained {
                        for &connectome_noise in &s.connectome_noise {
                            for replicate in 0..recipe.replicates {
                                let spec = StudentSpec {
                                    teacher: teacher_id(n),
                                    n,
                                    m,
                                    beta,
                                    beta_training,
                                    unconstrained,
                                    connectome_noise,
                                    replicate,
                                };
                                tasks.push(Task {
                                    id: spec.id(),
                                    // Students of one replicate share initialisation, recorded
                                    // neurons and minibatches across the grid, so that grid
                                    // points differ only in what the grid varies.
                                    seed: derive_seed(recipe.seed, &format!("student-n{n}-r{replicate}")),
                                    needs: vec![teacher_id(n)],
                                    spec: TaskSpec::Student(spec),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    let mut ids: Vec<&str> = tasks.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::spec(
            "recipe.student",
            format!("the grid repeats a value: task {} appears twice", w[0]),
        ));
    }
    if tasks.len() == recipe.teacher.n.len() {
        return Err(Error::spec(
            "recipe.student.ms",
            "no student left: every M is >= the teacher's N",
        ));
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::recipe::{BUILTIN, SCALES, builtin};

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(derive_seed(0, "teacher-n300"), derive_seed(0, "teacher-n300"));
        assert_ne!(derive_seed(0, "teacher-n300"), derive_seed(1, "teacher-n300"));
        assert_ne!(derive_seed(0, "student-n60-r0"), derive_seed(0, "student-n60-r1"));
        // Pinned: a change here silently changes every sweep's numbers.
        assert_eq!(derive_seed(0, ""), 0x21fa_69a5_8f3d_62f5);
        assert_eq!(derive_seed(0, "teacher-n300"), 0x0401_6113_eb0a_4b5e);
    }

    #[test]
    fn every_builtin_expands_with_unique_ids() {
        for name in BUILTIN {
            for scale in SCALES {
                let r = builtin(name, scale).unwrap();
                let tasks = expand(&r).unwrap();
                let teachers = tasks
                    .iter()
                    .filter(|t| matches!(t.spec, TaskSpec::Teacher { .. }))
                    .count();
                assert_eq!(teachers, r.teacher.n.len(), "{name} {scale}");
                assert!(tasks.len() > teachers);
                for t in &tasks {
                    assert!(t.needs.iter().all(|d| tasks.iter().any(|u| &u.id == d)));
                }
            }
        }
        let paper = expand(&builtin("fig2-recordings", "paper").unwrap()).unwrap();
        // 1 teacher + 10 M × 2 (constrained, unconstrained) × 10 seeds.
        assert_eq!(paper.len(), 1 + 10 * 2 * 10);
        assert!(paper.iter().any(|t| t.id == "n300-m250-free-r9"));
    }

    #[test]
    fn grid_repeats_are_rejected() {
        let mut r = builtin("fig2-recordings", "small").unwrap();
        r.student.ms = vec![4, 4];
        let e = expand(&r).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
    }
}
