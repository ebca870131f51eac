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

/// Ground truth for fitting through an observation model, small: a briefly trained E/I teacher
/// (N = 60) imaged as a lab would see it (GCaMP6s, 3 Hz frames, 10 % missing, a scale and offset
/// per neuron, noise); students fitted through the observation model predict the unrecorded
/// neurons much better than students that ignore the indicator, and nearly as well as students
/// fitted to the clean activity at every step.
#[test]
fn students_see_the_circuit_through_calcium_imaging() {
    use ccrnn_core::{Indicator, NeuronSet, SimOptions, simulate};
    use ccrnn_fit::{Data, MethodKind, evaluate, fit, student::student_init};
    use ccrnn_lab::{SimulatedImaging, student_observation};
    use ndarray::{Array1, Axis};
    let task = SineTask {
        trials: 12,
        ..SineTask::default()
    };
    let (raw, _) = EiSpec {
        n: 60,
        ..EiSpec::default()
    }
    .generate(11)
    .unwrap();
    let (stim, y) = task.generate::<f32>(1).unwrap();
    let tcfg = FitConfig {
        steps: 100,
        batch_size: 12,
        ..EiSpec::training_config(1)
    };
    let teacher = EiSpec::train(raw.cast::<f32>(), stim, y, &tcfg, None).unwrap().model;
    let (train, _) = task.generate::<f32>(2).unwrap();
    let (heldout, _) = task.generate::<f32>(3).unwrap();
    let recorded = NeuronSet::nonempty(&(0..60).step_by(3).collect::<Vec<_>>(), 60).unwrap();
    let rec = simulate(&teacher, &train, &SimOptions::noisy(0.002, 4)).unwrap();
    let a_rec = rec.a.select(Axis(2), recorded.indices());
    let imaging = SimulatedImaging::default();
    let truth = imaging.image(a_rec.view(), teacher.dt as f64, 5).unwrap();
    let tau = Array1::from_elem(recorded.len(), Indicator::preset("gcamp6s").unwrap().tau_s as f32);
    let init = student_init(&teacher, 0.5, 6);
    let cfg = FitConfig {
        steps: 40,
        seed: 7,
        ..FitConfig::for_method(MethodKind::GaussNewton)
    }
    .validate()
    .unwrap();
    let reference = simulate(&teacher, &heldout, &SimOptions::noiseless()).unwrap();
    let score = |data: Data<f32>| {
        let out = fit(init.clone(), train.clone(), data, &cfg, None, None).unwrap();
        evaluate(&teacher, &reference, &out.model, &heldout, &recorded)
            .unwrap()
            .unrecorded_corr_err
    };
    let clean = score(Data::Activity {
        recorded: recorded.clone(),
        data: a_rec.clone(),
    });
    let observed = score(Data::Observed {
        recorded: recorded.clone(),
        obs: Box::new(student_observation(&truth, Some(tau), false)),
    });
    let ignores = score(Data::Observed {
        recorded: recorded.clone(),
        obs: Box::new(student_observation(&truth, None, false)),
    });
    eprintln!("unrecorded 1 - |rho|: clean {clean:.4}, observed {observed:.4}, ignores the filter {ignores:.4}");
    assert!(
        observed < 0.5 * ignores,
        "observed {observed} vs ignoring the filter {ignores}"
    );
    assert!(observed < clean + 0.05, "observed {observed} vs clean {clean}");
}
