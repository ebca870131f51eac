//! Sweeps: the paper's experiments as recipes (data) expanded into task lists, run by an
//! executor, and merged into one table.
//!
//! recipe (TOML, [`recipe`]) → task list with stable ids and seeds ([`tasks`]) → executor
//! ([`executor`]: this machine's threads; [`slurm`]: job arrays, each element calling
//! [`executor::run_task`]; both share the directory layout of [`store`]) → table ([`table`])
//! → verdicts on the paper's claims ([`claims`]).

pub mod claims;
pub mod executor;
pub mod recipe;
pub mod slurm;
pub mod store;
pub mod student_task;
pub mod table;
pub mod tasks;
pub mod teacher_task;

pub use claims::{Finding, assess};
pub use executor::{Event, Outcome, Summary, run_local, run_task};
pub use recipe::{BUILTIN, BetaTraining, Experiment, Recipe, SCALES, StudentGrid, TeacherGrid, builtin};
pub use slurm::{SlurmOptions, Stage};
pub use store::{Lock, SweepDir, TaskState};
pub use table::{Col, Table};
pub use tasks::{StudentSpec, Task, TaskSpec, derive_seed, expand};
