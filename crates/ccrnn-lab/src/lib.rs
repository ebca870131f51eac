//! # ccrnn-lab
//!
//! The paper's tasks, teachers and experiments as data and functions (SCIENCE.md §3–5, §8):
//! the sine-generation task, the E/I task teacher (generated with a stability redraw, then
//! trained on the task), the rank-2 limit-cycle and chaotic tanh teachers, and the
//! teacher–student study of Figures 1–2, and sweeps: the paper's experiments as recipes run
//! task by task. [`pipeline`] holds the steps all of them share (build the teacher, record,
//! fit a student).
//!
//! Nothing here prints; long loops report progress through a callback.
#![deny(missing_docs)]

pub mod configs;
pub mod error;
pub mod imaging;
pub mod pipeline;
pub mod recordings;
pub mod study;
pub mod sweep;
pub mod task;
pub mod teacher;

pub use configs::{DemoConfig, TeacherConfig, TeacherKind};
pub use error::{Error, Result};
pub use imaging::{SimulatedImaging, student_observation};
pub use pipeline::{Teacher, TeacherSpec, Trials};
pub use study::{StudentRow, Study, StudyResult, run_study, run_study_on};
pub use task::SineTask;
pub use teacher::{ChaoticSpec, ConnectomeTeacher, ConnectomeTeacherSpec, EiSpec, LowRankSpec};
