//! End-to-end: the paper's teacher–student study at a small scale, with the qualitative claims
//! of Figures 1–2 asserted.

use ccrnn_fit::FitConfig;
use ccrnn_lab::{EiSpec, SineTask, Study, run_study};

#[test]
fn recordings_remove_the_degeneracy_that_the_readout_leaves() {
    let task = SineTask {
        trials: 24,
        steps: 200,
        ..SineTask::default()
    };
    let (teacher, lam) = EiSpec {
        n: 60,
        ..EiSpec::default()
    }
    .generate(7)
    .unwrap();
    assert!(lam <= 1.0);
    let teacher = teacher.cast::<f32>();
    // a briefly trained teacher: the study needs dynamics driven by the task, not a solved task
    let (stim, y) = task.generate::<f32>(1).unwrap();
    let tcfg = FitConfig {
        steps: 100,
        batch_size: 24,
        ..EiSpec::training_config(1)
    };
    let teacher = EiSpec::train(teacher, stim, y, &tcfg, None).unwrap().model;
    let (train, _) = task.generate::<f32>(2).unwrap();
    let (heldout, _) = task.generate::<f32>(3).unwrap();
    let study = Study {
        ms: vec![0, 4, 30],
        fit: FitConfig {
            steps: 400,
            lr: 1e-2,
            batch_size: 12,
            report_every: 50,
            ..FitConfig::paper()
        },
        ..Study::default()
    };
    let mut calls = 0;
    let res = run_study(&teacher, &train, &heldout, &study, &mut |_, _| calls += 1).unwrap();
    assert!(calls > 0, "progress was never reported");
    let unrec: Vec<f64> = res.rows.iter().map(|r| r.heldout.unrecorded_corr_err).collect();
    let mse: Vec<f64> = res.rows.iter().map(|r| r.heldout.unrecorded_mse).collect();
    eprintln!("unrecorded 1-|rho| {unrec:?}, MSE {mse:?}, shuffle {:?}", res.baseline);
    // more recordings, better prediction of the unrecorded neurons
    assert!(
        unrec[2] < unrec[0] && mse[2] < mse[0],
        "M = 30 is not better than readout-only: {unrec:?} {mse:?}"
    );
    // and with half the network recorded, far better than chance
    assert!(
        mse[2] < 0.5 * res.baseline.shuffle_mse,
        "{mse:?} vs shuffle {}",
        res.baseline.shuffle_mse
    );
    // the recorded neurons are fitted well
    assert!(res.rows[2].train.recorded_mse < res.rows[2].train.unrecorded_mse);
    // single-neuron parameters are not recovered (gain error stays of the order of the spread)
    assert!(res.rows.iter().all(|r| r.heldout.gain_rmse > 0.05));
}
