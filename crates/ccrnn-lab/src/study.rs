//! The teacher–student study of Figures 1–2: students fitted to the readout only and to M
//! recorded neurons, scored on held-out trials against the teacher and the shuffle baseline.

use crate::Result;
use crate::pipeline::{fit_student, record, student_data};
use ccrnn_core::{Model, NeuronSet, Real, Seeds, SimOptions, Stimulus, simulate};
use ccrnn_fit::metrics::{Baseline, shuffle_baseline};
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_fit::{FitConfig, History, IterState, Scores, Termination, evaluate};
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Study {
    /// Numbers of recorded neurons; 0 means a student fitted to the readout only.
    pub ms: Vec<usize>,
    /// The students' fitting recipe (default: Gauss–Newton until converged, at most
    /// [`ccrnn_fit::GAUSS_NEWTON_STEPS`] iterations; [`FitConfig::paper`] is the paper's Adam
    /// recipe, SCIENCE.md §5).
    pub fit: FitConfig,
    /// Initial gains are the teacher's permuted ones × this (paper: 0.5).
    pub gain_factor: f64,
    /// Noise σ of the teacher's recorded activity (paper: 0.002).
    pub data_noise: f64,
    /// Seed of the student initialisation, recorded sets and teacher recording.
    pub seed: u64,
    /// Permutations averaged in the shuffle baseline.
    pub n_shuffles: usize,
    /// Fit students without recurrence (W and any gap junctions removed): the no-recurrence
    /// baseline.
    pub remove_recurrence: bool,
    /// Students per M, each with its own recorded neurons and initial point (replicate 0 is
    /// the single student of a study without replicates).
    pub replicates: usize,
}

impl Default for Study {
    fn default() -> Self {
        Self {
            ms: vec![0, 1, 4, 16, 64],
            fit: FitConfig::for_method(ccrnn_fit::MethodKind::GaussNewton),
            gain_factor: 0.5,
            data_noise: 0.002,
            seed: 0,
            n_shuffles: 20,
            remove_recurrence: false,
            replicates: 1,
        }
    }
}

/// One fitted student.
#[derive(Debug, Clone, Serialize)]
pub struct StudentRow<F: Real> {
    /// Scores on held-out trials.
    pub heldout: Scores,
    /// Scores on the training trials (noise-free rollouts).
    pub train: Scores,
    /// Recorded neurons.
    pub recorded: Vec<usize>,
    /// Which replicate of its M (0-based).
    pub replicate: usize,
    /// Steps run.
    pub steps: u64,
    /// Why fitting stopped.
    pub termination: Termination,
    /// Wall time of the fit, seconds.
    pub seconds: f64,
    /// Minibatch loss curve.
    #[serde(skip)]
    pub history: History,
    /// The fitted student.
    #[serde(skip)]
    pub model: Model<F>,
}

/// Everything a study measured.
#[derive(Debug, Clone, Serialize)]
pub struct StudyResult<F: Real> {
    /// One row per student: by M in the order of `Study::ms`, then by replicate.
    pub rows: Vec<StudentRow<F>>,
    /// Shuffled-label baseline over all neurons, held-out trials.
    pub baseline: Baseline,
}

/// One student to fit: its recorded neurons (empty: the readout only), replicate and the seed
/// of its initial point.
struct Job {
    set: Vec<usize>,
    replicate: usize,
    init_seed: u64,
}

/// Runs the study on `teacher`: data are its noisy rollouts on `train`, scores are on noise-free
/// rollouts of `heldout`. For each M, `study.replicates` students, each with its own random
/// recorded set and initial point. `progress(row, state)` is called every `fit.report_every`
/// steps (`row` indexes [`StudyResult::rows`]).
pub fn run_study<F: Real>(
    teacher: &Model<F>,
    train: &Stimulus<F>,
    heldout: &Stimulus<F>,
    study: &Study,
    progress: &mut dyn FnMut(usize, &IterState<F>),
) -> Result<StudyResult<F>> {
    let n = teacher.n();
    let mut jobs = Vec::new();
    for &m in &study.ms {
        for r in 0..study.replicates.max(1) {
            let seeds = Seeds(study.seed).replicate(r);
            let set = if m == 0 {
                Vec::new()
            } else {
                random_recorded(n, m, seeds.recorded_set())?.indices().to_vec()
            };
            jobs.push(Job {
                set,
                replicate: r,
                init_seed: seeds.student_init(),
            });
        }
    }
    fit_students(teacher, train, heldout, study, &jobs, progress)
}

/// Like [`run_study`], with the recorded neurons of each student given (`study.ms` and
/// `study.replicates` are ignored; an empty set is a student fitted to the readout only); every
/// student starts from replicate 0's initial point.
pub fn run_study_on<F: Real>(
    teacher: &Model<F>,
    train: &Stimulus<F>,
    heldout: &Stimulus<F>,
    study: &Study,
    sets: &[Vec<usize>],
    progress: &mut dyn FnMut(usize, &IterState<F>),
) -> Result<StudyResult<F>> {
    let jobs: Vec<Job> = sets
        .iter()
        .map(|s| Job {
            set: s.clone(),
            replicate: 0,
            init_seed: Seeds(study.seed).student_init(),
        })
        .collect();
    fit_students(teacher, train, heldout, study, &jobs, progress)
}

fn fit_students<F: Real>(
    teacher: &Model<F>,
    train: &Stimulus<F>,
    heldout: &Stimulus<F>,
    study: &Study,
    jobs: &[Job],
    progress: &mut dyn FnMut(usize, &IterState<F>),
) -> Result<StudyResult<F>> {
    let cfg = study.fit.validate()?;
    let n = teacher.n();
    let recording = record(teacher, train, study.data_noise, Seeds(study.seed).recording_noise())?;
    let ref_train = simulate(teacher, train, &SimOptions::noiseless())?;
    let ref_held = simulate(teacher, heldout, &SimOptions::noiseless())?;
    let mut rows = Vec::with_capacity(jobs.len());
    for (row, job) in jobs.iter().enumerate() {
        let mut init = student_init(teacher, study.gain_factor, job.init_seed);
        if study.remove_recurrence {
            remove_recurrence(&mut init);
        }
        let (recorded, data) = student_data(&recording, &job.set)?;
        let start = std::time::Instant::now();
        let out = fit_student(init, train, data, &cfg, &mut |s| progress(row, s))?;
        let seconds = start.elapsed().as_secs_f64();
        rows.push(StudentRow {
            heldout: evaluate(teacher, &ref_held, &out.model, heldout, &recorded)?,
            train: evaluate(teacher, &ref_train, &out.model, train, &recorded)?,
            recorded: recorded.indices().to_vec(),
            replicate: job.replicate,
            steps: out.state.step,
            termination: out.termination,
            seconds,
            history: out.history,
            model: out.model,
        });
    }
    let all = NeuronSet::nonempty(&(0..n).collect::<Vec<_>>(), n)?;
    let baseline = shuffle_baseline(teacher, &ref_held, &all, study.n_shuffles, Seeds(study.seed).shuffle());
    Ok(StudyResult { rows, baseline })
}

/// Removes a model's recurrence: every weight of W set to zero and the gap junctions dropped
/// (electrical coupling is recurrence too); the pattern is kept, so W could be trained back.
pub fn remove_recurrence<F: Real>(model: &mut Model<F>) {
    let zeros = vec![F::zero(); model.coupling.pattern().nnz()];
    model.coupling.set_values(&zeros);
    model.gap = None;
}
