//! Integration tests of ccrnn-core: gradients against finite differences, backends, symmetry,
//! determinism, the paper's golden fixture, and bad input.

use ccrnn_core::*;
use ndarray::{Array1, Array2, Array3, Axis, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const ACTS: [Activation; 5] = [
    Activation::Softplus,
    Activation::Relu,
    Activation::Tanh,
    Activation::Linear,
    Activation::Sigmoid,
];

fn randn(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(StandardNormal)
}

/// A small random E/I network with mask density 0.5 and random single-neuron parameters.
fn random_model(
    n: usize,
    act: Activation,
    gain: GainPlacement,
    backend: Backend,
    per_neuron_beta: bool,
    seed: u64,
) -> Model<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let signs: Vec<i8> = (0..n).map(|j| if j < n * 7 / 10 { 1 } else { -1 }).collect();
    let scale = if act == Activation::Linear { 0.5 } else { 1.5 };
    let w = Array2::from_shape_fn((n, n), |(_, j)| {
        let v: f64 = (randn(&mut rng) * scale / (n as f64).sqrt()).abs();
        v * signs[j] as f64
    });
    let mask = Array2::from_shape_fn((n, n), |_| rng.random_bool(0.5));
    let conn = Connectivity::from_dense(w.view(), Some(mask.view()), signs).unwrap();
    let mut p = NeuronParams::default_for(n);
    p.g = Array1::from_shape_fn(n, |_| 1.0 + 0.3 * randn(&mut rng)).mapv(|g: f64| g.abs() + 0.05);
    p.b = Array1::from_shape_fn(n, |_| 0.3 * randn(&mut rng));
    p.tau = Array1::from_shape_fn(n, |_| rng.random_range(0.8..1.5));
    p.h0 = Array1::from_shape_fn(n, |_| 0.5 * randn(&mut rng));
    p.beta = if per_neuron_beta {
        Beta::PerNeuron(Array1::from_shape_fn(n, |_| rng.random_range(0.5..2.0)))
    } else {
        Beta::Global(1.3)
    };
    let w_in = Array2::from_shape_fn((2, n), |_| randn(&mut rng));
    let w_out = Array2::from_shape_fn((n, 2), |_| randn(&mut rng) / n as f64);
    Model::new(&conn, backend, p, act, gain, w_in, w_out, 0.1).unwrap()
}

fn random_stimulus(b: usize, t: usize, seed: u64) -> Stimulus<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Stimulus::new(Array3::from_shape_fn((b, t, 2), |_| 0.5 * randn(&mut rng)))
}

fn all_groups() -> GroupSet {
    GroupSet::of(&ParamGroup::ALL)
}

/// Relative error ‖analytic − FD‖ / ‖FD‖ over a sample of coordinates of one group.
fn check_group(
    model: &Model<f64>,
    stim: &Stimulus<f64>,
    target: &Target<f64>,
    opts: &SimOptions,
    group: ParamGroup,
    analytic: &[f64],
    rng: &mut ChaCha8Rng,
) -> f64 {
    let gs = GroupSet::of(&[group]);
    let theta = model.theta(gs);
    let mut coords: Vec<usize> = (0..theta.len()).collect();
    if group == ParamGroup::W {
        coords.retain(|&k| theta[k].abs() > 1e-3); // stay inside the sign constraint
    }
    let picks: Vec<usize> = (0..8.min(coords.len()))
        .map(|_| coords[rng.random_range(0..coords.len())])
        .collect();
    let eval = |th: &[f64]| {
        let mut m = model.clone();
        m.set_theta(gs, th).unwrap();
        let traj = simulate(&m, stim, opts).unwrap();
        loss(&m, &traj, target).unwrap().0
    };
    let (mut num, mut den) = (0.0, 0.0);
    for &k in &picks {
        let eps = 1e-5 * theta[k].abs().max(1.0);
        let mut tp = theta.clone();
        tp[k] += eps;
        let mut tm = theta.clone();
        tm[k] -= eps;
        let fd = (eval(&tp) - eval(&tm)) / (2.0 * eps);
        num += (analytic[k] - fd).powi(2);
        den += fd * fd;
    }
    assert!(
        den > 0.0,
        "{group:?}: finite differences are all zero, the check would be empty"
    );
    (num / den).sqrt()
}

#[test]
fn gradients_match_finite_differences() {
    let (n, t, b) = (20, 50, 3);
    let stim = random_stimulus(b, t, 7);
    let opts = SimOptions::noisy(0.01, 99); // noise frozen: same seed every evaluation
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let recorded = NeuronSet::nonempty(&[1, 4, 9, 15, 18], n).unwrap();
    let mut worst = 0.0f64;
    for act in ACTS {
        for gain in [GainPlacement::Presynaptic, GainPlacement::Postsynaptic] {
            for per_neuron_beta in [false, true] {
                let model = random_model(n, act, gain, Backend::Dense, per_neuron_beta, 11);
                let traj = simulate(&model, &stim, &opts).unwrap();
                let act_data = traj.a.select(Axis(2), recorded.indices()).mapv(|x| x * 0.9 + 0.05);
                let out_data = traj.y.mapv(|x| x * 0.5 - 0.1);
                let targets = [
                    Target::Activity {
                        recorded: &recorded,
                        data: act_data.view(),
                    },
                    Target::Readout { data: out_data.view() },
                ];
                for target in &targets {
                    let (_, seed) = loss(&model, &traj, target).unwrap();
                    let grad = bptt(&model, &traj, &seed, all_groups()).unwrap();
                    for group in ParamGroup::ALL {
                        if group == ParamGroup::Beta && !act.uses_beta() {
                            assert!(grad.beta.iter().all(|&x| x == 0.0));
                            continue;
                        }
                        if group == ParamGroup::WOut && matches!(target, Target::Activity { .. }) {
                            assert!(grad.w_out.iter().all(|&x| x == 0.0));
                            continue;
                        }
                        let analytic = grad.flatten(GroupSet::of(&[group]));
                        let err = check_group(&model, &stim, target, &opts, group, &analytic, &mut rng);
                        let kind = match target {
                            Target::Readout { .. } => "readout",
                            _ => "activity",
                        };
                        worst = worst.max(err);
                        assert!(
                            err <= 1e-6,
                            "{act:?} {gain:?} β/neuron={per_neuron_beta} {kind} {group:?}: rel err {err:e}"
                        );
                    }
                }
            }
        }
    }
    eprintln!("worst relative gradient error over all checks: {worst:.2e}");
}

/// Forward-mode tangents of the activity along random directions in every group, against
/// central finite differences of the noise-free simulation.
#[test]
fn tangents_match_finite_differences() {
    let (n, t, b, k) = (14, 40, 2, 3);
    let stim = random_stimulus(b, t, 8);
    let mut worst = 0.0f64;
    for act in ACTS {
        for gain in [GainPlacement::Presynaptic, GainPlacement::Postsynaptic] {
            for per_neuron_beta in [false, true] {
                let model = random_model(n, act, gain, Backend::Csr, per_neuron_beta, 12);
                let groups = all_groups();
                let theta = model.theta(groups);
                let mut rng = ChaCha8Rng::seed_from_u64(3);
                // Random directions; on W only entries well inside their sign (FD stays legal).
                let mut off = 0;
                let mut dirs = Array2::<f64>::zeros((k, theta.len()));
                for g in groups.groups() {
                    let len = model.group_len(g);
                    for e in off..off + len {
                        let inside = g != ParamGroup::W || theta[e].abs() > 1e-2;
                        for r in 0..k {
                            dirs[(r, e)] = if inside { randn(&mut rng) } else { 0.0 };
                        }
                    }
                    off += len;
                }
                let mut tan = Array3::<f64>::zeros((k, b * t, n));
                tangents(&model, &stim, groups, dirs.view(), &mut |trial, step, da| {
                    tan.slice_mut(s![.., trial * t + step, ..]).assign(&da);
                })
                .unwrap();
                for r in 0..k {
                    let eps = 1e-6;
                    let shifted = |sgn: f64| {
                        let th: Vec<f64> = theta
                            .iter()
                            .zip(dirs.row(r))
                            .map(|(&x, &d)| x + sgn * eps * d)
                            .collect();
                        let mut m = model.clone();
                        m.set_theta(groups, &th).unwrap();
                        simulate(&m, &stim, &SimOptions::noiseless()).unwrap().a
                    };
                    let fd = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps);
                    let fd = fd.into_shape_with_order((b * t, n)).unwrap();
                    let an = tan.index_axis(Axis(0), r);
                    let err = (&an - &fd).mapv(|x| x * x).sum().sqrt() / fd.mapv(|x| x * x).sum().sqrt();
                    worst = worst.max(err);
                    assert!(
                        err < 1e-6,
                        "{act:?} {gain:?} β/neuron={per_neuron_beta} direction {r}: rel err {err:e}"
                    );
                }
            }
        }
    }
    eprintln!("worst relative tangent error: {worst:.2e}");
}

#[test]
fn frozen_groups_have_zero_gradient() {
    let model = random_model(
        12,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        3,
    );
    let stim = random_stimulus(2, 30, 1);
    let traj = simulate(&model, &stim, &SimOptions::noiseless()).unwrap();
    let data = traj.y.mapv(|x| x + 0.1);
    let (_, seed) = loss(&model, &traj, &Target::Readout { data: data.view() }).unwrap();
    let only_g = GroupSet::of(&[ParamGroup::Gain]);
    let grad = bptt(&model, &traj, &seed, only_g).unwrap();
    assert!(grad.g.iter().any(|&x| x != 0.0));
    assert!(
        grad.b
            .iter()
            .chain(grad.tau.iter())
            .chain(grad.h0.iter())
            .all(|&x| x == 0.0)
    );
    assert!(grad.w.is_empty() && grad.w_out.iter().all(|&x| x == 0.0));
    assert_eq!(grad.flatten(only_g).len(), 12);
}

#[test]
fn dense_and_csr_backends_agree() {
    for gain in [GainPlacement::Presynaptic, GainPlacement::Postsynaptic] {
        let dense = random_model(40, Activation::Softplus, gain, Backend::Dense, false, 21);
        let csr = dense.with_backend(Backend::Csr);
        let stim = random_stimulus(10, 80, 2);
        let opts = SimOptions::noisy(0.01, 5);
        let td = simulate(&dense, &stim, &opts).unwrap();
        let tc = simulate(&csr, &stim, &opts).unwrap();
        let max_a = td.a.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let diff = (&td.a - &tc.a).iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(diff <= 1e-12 * max_a, "activity differs by {diff}");
        let data = td.y.mapv(|x| x * 0.3);
        let target = Target::Readout { data: data.view() };
        let (_, sd) = loss(&dense, &td, &target).unwrap();
        let (_, sc) = loss(&csr, &tc, &target).unwrap();
        let gd = bptt(&dense, &td, &sd, all_groups()).unwrap().flatten(all_groups());
        let gc = bptt(&csr, &tc, &sc, all_groups()).unwrap().flatten(all_groups());
        let norm = gd.iter().map(|x| x * x).sum::<f64>().sqrt();
        let dn = gd.iter().zip(&gc).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
        assert!(dn <= 1e-10 * norm, "gradients differ: {dn} vs norm {norm}");
    }
}

#[test]
fn permuting_neuron_labels_commutes_with_simulation() {
    let model = random_model(30, Activation::Tanh, GainPlacement::Presynaptic, Backend::Csr, true, 8);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut perm: Vec<usize> = (0..30).collect();
    use rand::seq::SliceRandom;
    perm.shuffle(&mut rng);
    let pm = model.permuted(&perm).unwrap();
    assert!(model.permuted(&[0; 30]).is_err());
    let stim = random_stimulus(3, 60, 4);
    let t0 = simulate(&model, &stim, &SimOptions::noiseless()).unwrap();
    let t1 = simulate(&pm, &stim, &SimOptions::noiseless()).unwrap();
    for (i, &pi) in perm.iter().enumerate() {
        let d = (&t0.a.slice(s![.., .., i]) - &t1.a.slice(s![.., .., pi])).mapv(f64::abs);
        assert!(d.iter().all(|&x| x < 1e-12), "neuron {i} -> {pi}");
    }
    let dy = (&t0.y - &t1.y).mapv(f64::abs).iter().fold(0.0f64, |m, &x| m.max(x));
    assert!(dy < 1e-12);
}

#[test]
fn same_seed_same_trajectory_whatever_the_thread_count() {
    let model = random_model(
        50,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        2,
    )
    .cast::<f32>();
    let stim = Stimulus::new(random_stimulus(45, 100, 9).u.mapv(|x| x as f32));
    let opts = SimOptions::noisy(0.05, 1234);
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let traj = simulate(&model, &stim, &opts).unwrap();
            let data = traj.y.mapv(|x| x * 0.5);
            let (l, seed) = loss(&model, &traj, &Target::Readout { data: data.view() }).unwrap();
            let g = bptt(&model, &traj, &seed, all_groups()).unwrap();
            (traj, l, g)
        })
    };
    let (t1, l1, g1) = run(1);
    let (t3, l3, g3) = run(3);
    assert_eq!(t1, t3);
    assert_eq!(l1.to_bits(), l3.to_bits());
    assert_eq!(g1, g3);
    // and a different seed gives different noise
    let other = simulate(&model, &stim, &SimOptions::noisy(0.05, 1235)).unwrap();
    assert_ne!(other.h, t1.h);
}

/// A network wide enough that a chunk's trials are updated in parallel (at least 8,192
/// neurons), sparse, with gap junctions: the same numbers whatever the thread count, each
/// trial the same as simulated alone (through the one-trial path), and a divergence named the
/// same way on one thread and on two.
#[test]
fn wide_network_updates_trials_in_parallel_to_the_same_numbers() {
    let n = 9000;
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let signs: Vec<i8> = (0..n).map(|j| if j % 5 == 0 { -1 } else { 1 }).collect();
    let edges: Vec<(u32, u32, f64)> = (0..10 * n)
        .map(|_| {
            let (post, pre) = (rng.random_range(0..n), rng.random_range(0..n));
            (post as u32, pre as u32, rng.random_range(1.0..3.0))
        })
        .collect();
    let con = Connectome::from_triplets((0..n as u64).collect(), vec![String::new(); n], signs, edges).unwrap();
    let mut p = NeuronParams::default_for(n);
    p.h0 = Array1::from_shape_fn(n, |_| 0.5 * randn(&mut rng));
    let w_in = Array2::from_shape_fn((2, n), |_| randn(&mut rng));
    let w_out = Array2::zeros((n, 1));
    let conn = con.connectivity::<f64>(0.2).unwrap();
    let model = Model::new(
        &conn,
        Backend::Csr,
        p,
        Activation::Softplus,
        GainPlacement::Postsynaptic,
        w_in,
        w_out,
        0.1,
    )
    .unwrap();
    let pairs: Vec<_> = (0..n / 3).map(|i| (3 * i, 3 * i + 1, 0.2)).collect();
    let model = Model {
        gap: Some(GapJunctions::from_pairs(n, &pairs).unwrap()),
        ..model
    };
    let stim = random_stimulus(3, 20, 5);
    let on = |threads: usize, model: &Model<f64>, opts: SimOptions| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| simulate(model, &stim, &opts))
    };
    let noisy = SimOptions::noisy(0.02, 7);
    assert_eq!(on(1, &model, noisy).unwrap(), on(2, &model, noisy).unwrap());
    let batch = on(2, &model, SimOptions::noiseless()).unwrap();
    for j in 0..3 {
        let alone = simulate(&model, &stim.select(&[j]), &SimOptions::noiseless()).unwrap();
        for (x, y) in [(&alone.h, &batch.h), (&alone.a, &batch.a), (&alone.z, &batch.z)] {
            assert_eq!(x.index_axis(Axis(0), 0), y.index_axis(Axis(0), j), "trial {j}");
        }
    }
    let mut wild = model.clone();
    wild.activation = Activation::Linear;
    wild.params.g.fill(1e20);
    let (e1, e2) = (
        on(1, &wild, noisy).unwrap_err().to_string(),
        on(2, &wild, noisy).unwrap_err().to_string(),
    );
    assert_eq!(e1, e2);
    assert!(e1.contains("trial 0"), "{e1}");
}

#[test]
fn divergence_names_step_trial_and_neuron() {
    let mut model = random_model(
        10,
        Activation::Linear,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        1,
    );
    model.params.g.fill(1e6); // wildly unstable linear network
    let err = simulate(&model, &random_stimulus(2, 400, 1), &SimOptions::noiseless()).unwrap_err();
    match err {
        Error::Diverged {
            step,
            trial,
            neuron,
            value,
        } => {
            assert!(step > 0 && step < 400 && trial < 2 && neuron < 10);
            assert!(!value.is_finite());
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("step {step}")) && msg.contains(&format!("neuron {neuron}")),
                "{msg}"
            );
        }
        e => panic!("expected divergence, got {e}"),
    }
}

#[test]
fn bad_input_is_an_error_naming_the_field() {
    let model = random_model(
        8,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        1,
    );
    let stim = random_stimulus(2, 10, 1);
    let opts = SimOptions::noiseless();
    let msg = |m: &Model<f64>, s: &Stimulus<f64>| simulate(m, s, &opts).unwrap_err().to_string();

    let mut m = model.clone();
    m.params.tau[3] = -1.0;
    assert!(msg(&m, &stim).contains("tau[3]"));
    let mut m = model.clone();
    m.params.beta = Beta::Global(0.0);
    assert!(msg(&m, &stim).contains("beta"));
    let mut m = model.clone();
    m.params.g[5] = f64::NAN;
    assert!(msg(&m, &stim).contains("g[5]"));
    let bad = Stimulus::new(Array3::zeros((2, 10, 3)));
    assert!(msg(&model, &bad).contains("inputs"));
    let mut bad = stim.clone();
    bad.u[(1, 2, 0)] = f64::INFINITY;
    assert!(msg(&model, &bad).contains("inputs"));
    // recorded sets
    assert!(NeuronSet::nonempty(&[], 8).unwrap_err().to_string().contains("empty"));
    assert!(
        NeuronSet::nonempty(&[8], 8)
            .unwrap_err()
            .to_string()
            .contains("out of range")
    );
    // target shape
    let traj = simulate(&model, &stim, &opts).unwrap();
    let rec = NeuronSet::nonempty(&[0, 1], 8).unwrap();
    let data = Array3::zeros((2, 10, 3));
    let e = loss(
        &model,
        &traj,
        &Target::Activity {
            recorded: &rec,
            data: data.view(),
        },
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("target.activity") && e.to_string().contains("2 × 10 × 2"),
        "{e}"
    );
    // theta of the wrong length, a Dale violation
    let mut m = model.clone();
    assert!(m.set_theta(GroupSet::of(&[ParamGroup::Gain]), &[1.0; 3]).is_err());
    let gs = GroupSet::of(&[ParamGroup::W]);
    let mut th = m.theta(gs);
    let k = th.iter().position(|&x| x > 0.0).unwrap();
    th[k] = -1.0;
    let e = m.set_theta(gs, &th).unwrap_err().to_string();
    assert!(e.contains("Dale"), "{e}");
    assert_eq!(
        m.theta(GroupSet::of(&[ParamGroup::W])),
        model.theta(gs),
        "a rejected θ leaves the model unchanged"
    );
    // a valid W beside an invalid τ: rejected as a whole, W untouched too
    let both = GroupSet::of(&[ParamGroup::Tau, ParamGroup::W]);
    let mut th2 = m.theta(both);
    th2.iter_mut().for_each(|x| *x *= 0.5);
    th2[0] = -1.0;
    let e = m.set_theta(both, &th2).unwrap_err().to_string();
    assert!(e.contains("tau"), "{e}");
    assert_eq!(
        m.theta(both),
        model.theta(both),
        "a rejected θ leaves the model unchanged"
    );
    // projection repairs it
    m.project_theta(gs, &mut th);
    assert_eq!(th[k], 0.0);
    m.set_theta(gs, &th).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Golden test against the paper's own implementation.

/// `$CCRNN_SHARED_DIR/fixtures/…`, by default the `shared/` directory beside the repository.
fn fixture_path() -> std::path::PathBuf {
    let shared = std::env::var_os("CCRNN_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("fixtures/paper_teacher_fig1.npz")
}

struct Fixture {
    model: Model<f64>,
    inputs: Array3<f64>,
    activity: Array3<f64>,
    readout: Array2<f64>,
}

fn load_fixture() -> Option<Fixture> {
    use ndarray_npy::NpzReader;
    let path = fixture_path();
    let Ok(file) = std::fs::File::open(&path) else {
        // CI has the shared directory and sets CCRNN_REQUIRE_SHARED: there the test must run.
        assert!(
            std::env::var_os("CCRNN_REQUIRE_SHARED").is_none(),
            "golden fixture {} not found, and CCRNN_REQUIRE_SHARED is set",
            path.display()
        );
        eprintln!(
            "SKIP: golden fixture {} not found (set CCRNN_SHARED_DIR to the shared/ directory)",
            path.display()
        );
        return None;
    };
    let mut npz = NpzReader::new(file).unwrap();
    let f32a2 = |npz: &mut NpzReader<std::fs::File>, k: &str| -> Array2<f64> {
        npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix2>(k)
            .unwrap()
            .mapv(f64::from)
    };
    let f32a1 = |npz: &mut NpzReader<std::fs::File>, k: &str| -> Array1<f64> {
        npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix1>(k)
            .unwrap()
            .mapv(f64::from)
    };
    let w = f32a2(&mut npz, "W_eff");
    let mask: Array2<u8> = npz.by_name("mask").unwrap();
    let sign: Array1<i8> = npz.by_name("sign").unwrap();
    let n = w.nrows();
    let mut p = NeuronParams::default_for(n);
    p.g = f32a1(&mut npz, "g");
    p.b = f32a1(&mut npz, "b");
    p.h0 = f32a1(&mut npz, "h0");
    let scalar = |npz: &mut NpzReader<std::fs::File>, k: &str| -> f64 {
        if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix0>(k) {
            a.into_scalar()
        } else {
            f64::from(
                npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix0>(k)
                    .unwrap()
                    .into_scalar(),
            )
        }
    };
    let dt = scalar(&mut npz, "dt");
    p.tau.fill(scalar(&mut npz, "tau"));
    p.beta = Beta::Global(scalar(&mut npz, "beta"));
    let w_in = f32a2(&mut npz, "W_in");
    let w_out = f32a1(&mut npz, "w_out").insert_axis(Axis(1));
    let conn = Connectivity::from_dense(w.view(), Some(mask.mapv(|m| m != 0).view()), sign.to_vec()).unwrap();
    let model = Model::builder(conn)
        .params(p)
        .w_in(w_in)
        .w_out(w_out)
        .dt(dt)
        .build()
        .unwrap();
    let inputs = npz
        .by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix3>("inputs")
        .unwrap()
        .mapv(f64::from);
    let activity = npz
        .by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix3>("activity")
        .unwrap()
        .mapv(f64::from);
    let readout = f32a2(&mut npz, "readout");
    Some(Fixture {
        model,
        inputs,
        activity,
        readout,
    })
}

fn rel_err(a: &Array3<f64>, b: &Array3<f64>) -> f64 {
    let num = (a - b).iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let den = b.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    num / den
}

#[test]
fn golden_paper_teacher_fig1() {
    let Some(fx) = load_fixture() else { return };
    let stim = Stimulus::new(fx.inputs.clone());
    for backend in [Backend::Dense, Backend::Csr] {
        let m64 = fx.model.with_backend(backend);
        let t64 = simulate(&m64, &stim, &SimOptions::noiseless()).unwrap();
        let e_act = rel_err(&t64.a, &fx.activity);
        let y = t64.y.index_axis(Axis(2), 0).to_owned().insert_axis(Axis(2));
        let e_out = rel_err(&y, &fx.readout.clone().insert_axis(Axis(2)));
        eprintln!("golden {backend:?} f64: activity rel err {e_act:.2e}, readout rel err {e_out:.2e}");
        assert!(e_act <= 1e-5 && e_out <= 1e-5, "f64 {backend:?}: {e_act:e} {e_out:e}");

        let m32 = m64.cast::<f32>();
        let t32 = simulate(
            &m32,
            &Stimulus::new(fx.inputs.mapv(|x| x as f32)),
            &SimOptions::noiseless(),
        )
        .unwrap();
        let e32 = rel_err(&t32.a.mapv(f64::from), &fx.activity);
        eprintln!("golden {backend:?} f32: activity rel err {e32:.2e}");
        assert!(e32 <= 1e-3, "f32 {backend:?}: {e32:e}");
    }
}

/// `model` with random gap junctions: each pair coupled with probability 0.2, conductance
/// U(0.05, 0.3).
fn with_gaps(mut model: Model<f64>, seed: u64) -> Model<f64> {
    let n = model.n();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pairs = Vec::new();
    for i in 0..n {
        for j in 0..i {
            if rng.random_bool(0.2) {
                pairs.push((i, j, rng.random_range(0.05..0.3)));
            }
        }
    }
    model.gap = Some(GapJunctions::from_pairs(n, &pairs).unwrap());
    model.validate().unwrap();
    model
}

/// Gap junctions (the term −L h of the state update): gradients and tangents against finite
/// differences, and relabelling neurons permutes them with everything else.
#[test]
fn gap_junctions_gradients_tangents_and_permutation() {
    let (n, t, b) = (16, 40, 2);
    let stim = random_stimulus(b, t, 17);
    let opts = SimOptions::noiseless();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let recorded = NeuronSet::nonempty(&[0, 3, 7, 11], n).unwrap();
    for gain in [GainPlacement::Presynaptic, GainPlacement::Postsynaptic] {
        let model = with_gaps(random_model(n, Activation::Softplus, gain, Backend::Csr, false, 21), 4);
        let plain = simulate(
            &random_model(n, Activation::Softplus, gain, Backend::Csr, false, 21),
            &stim,
            &opts,
        )
        .unwrap();
        let traj = simulate(&model, &stim, &opts).unwrap();
        let moved = (&traj.a - &plain.a)
            .mapv(f64::abs)
            .iter()
            .fold(0.0f64, |m, &x| m.max(x));
        assert!(moved > 1e-3, "the gap junctions change the activity ({moved})");
        let data = traj.a.select(Axis(2), recorded.indices()).mapv(|x| x * 0.9 + 0.05);
        let target = Target::Activity {
            recorded: &recorded,
            data: data.view(),
        };
        let (_, seed) = loss(&model, &traj, &target).unwrap();
        let grad = bptt(&model, &traj, &seed, all_groups()).unwrap();
        for group in [
            ParamGroup::Gain,
            ParamGroup::Bias,
            ParamGroup::Tau,
            ParamGroup::Beta,
            ParamGroup::H0,
            ParamGroup::W,
        ] {
            let analytic = grad.flatten(GroupSet::of(&[group]));
            let err = check_group(&model, &stim, &target, &opts, group, &analytic, &mut rng);
            assert!(err <= 1e-6, "{gain:?} {group:?}: rel err {err:e}");
        }
        // Tangents along one random direction in every group.
        let groups = all_groups();
        let theta = model.theta(groups);
        let dir = Array2::from_shape_fn((1, theta.len()), |(_, e)| {
            if theta[e].abs() > 1e-2 { randn(&mut rng) } else { 0.0 }
        });
        let mut tan = Array3::<f64>::zeros((b, t, n));
        tangents(&model, &stim, groups, dir.view(), &mut |trial, step, da| {
            tan.slice_mut(s![trial, step, ..]).assign(&da.row(0));
        })
        .unwrap();
        let eps = 1e-6;
        let shifted = |sgn: f64| {
            let th: Vec<f64> = theta.iter().zip(dir.row(0)).map(|(&x, &d)| x + sgn * eps * d).collect();
            let mut m = model.clone();
            m.set_theta(groups, &th).unwrap();
            simulate(&m, &stim, &opts).unwrap().a
        };
        let fd = (shifted(1.0) - shifted(-1.0)) / (2.0 * eps);
        let err = (&tan - &fd).mapv(|x| x * x).sum().sqrt() / fd.mapv(|x| x * x).sum().sqrt();
        assert!(err < 1e-6, "{gain:?} tangent: rel err {err:e}");
        // Relabelling.
        let mut perm: Vec<usize> = (0..n).collect();
        use rand::seq::SliceRandom;
        perm.shuffle(&mut rng);
        let t1 = simulate(&model.permuted(&perm).unwrap(), &stim, &opts).unwrap();
        for (i, &pi) in perm.iter().enumerate() {
            let d = (&traj.a.slice(s![.., .., i]) - &t1.a.slice(s![.., .., pi])).mapv(f64::abs);
            assert!(d.iter().all(|&x| x < 1e-12), "neuron {i} -> {pi}");
        }
    }
}

/// The model cases of the tests of what backpropagation stores: (case, readout loss, trials).
/// Case k: presynaptic gain for even k, CSR for k = 1, 2, gap junctions for k ≥ 2.
const STORAGE_CASES: [(usize, bool, usize); 4] = [(0, false, 10), (1, true, 3), (2, true, 17), (3, false, 1)];

/// The loss of a storage case: on the readout, or on the recorded neurons' activity.
fn storage_target<'a>(
    readout: bool,
    rec: &'a NeuronSet,
    data_a: &'a Array3<f64>,
    data_y: &'a Array3<f64>,
) -> Target<'a, f64> {
    if readout {
        Target::Readout { data: data_y.view() }
    } else {
        Target::Activity {
            recorded: rec,
            data: data_a.view(),
        }
    }
}

/// The 20-neuron softplus model of storage case `case`.
fn storage_case_model(case: usize, seed: u64) -> Model<f64> {
    let gain = if case.is_multiple_of(2) {
        GainPlacement::Presynaptic
    } else {
        GainPlacement::Postsynaptic
    };
    let backend = if case == 1 || case == 2 {
        Backend::Csr
    } else {
        Backend::Dense
    };
    let model = random_model(
        20,
        Activation::Softplus,
        gain,
        backend,
        case.is_multiple_of(2),
        seed + case as u64,
    );
    if case >= 2 { with_gaps(model, seed + 1) } else { model }
}

#[test]
fn checkpointed_and_plain_backpropagation_give_the_same_gradients() {
    let t = 23;
    for (case, readout, trials) in STORAGE_CASES {
        let model = storage_case_model(case, 40);
        let mut stim = random_stimulus(trials, t, 42);
        // per-trial initial states in one case, the model's h0 in the others
        if case == 2 {
            stim.h0 = Some(Array2::from_shape_fn((trials, 20), |(j, i)| {
                0.1 * (j as f64 - i as f64).sin()
            }));
        }
        let opts = SimOptions::noisy(0.05, 43);
        let plain = simulate(&model, &stim, &opts).unwrap();
        let rec = NeuronSet::nonempty(&[0, 3, 7, 19], 20).unwrap();
        let (data_a, data_y) = (
            plain.a.select(Axis(2), rec.indices()).mapv(|x| 0.9 * x + 0.01),
            plain.y.mapv(|x| 0.7 * x - 0.02),
        );
        let target = storage_target(readout, &rec, &data_a, &data_y);
        let mut traj = Trajectory::default();
        let (l0, g0) = loss_and_grad(&model, &stim, &target, &opts, all_groups(), &mut traj).unwrap();
        let g0f = g0.flatten(all_groups());
        let norm = g0f.iter().map(|x| x * x).sum::<f64>().sqrt();
        for every in [1, 2, 5, 7, 21, 22, 40] {
            let (l, g) = loss_and_grad_checkpointed(&model, &stim, &target, &opts, all_groups(), every).unwrap();
            assert_eq!(l, l0, "case {case}, every {every}: loss differs");
            // the per-neuron groups are summed in the same order: identical
            assert_eq!(
                (&g.g, &g.b, &g.tau, &g.beta, &g.h0),
                (&g0.g, &g0.b, &g0.tau, &g0.beta, &g0.h0),
                "case {case}, every {every}"
            );
            // W and W_out are summed window by window: equal to rounding
            let gf = g.flatten(all_groups());
            let diff = gf.iter().zip(&g0f).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
            assert!(
                diff <= 1e-13 * norm,
                "case {case}, every {every}: |Δ| = {diff:e} of {norm:e}"
            );
        }
    }
    // a diverging run is reported with its step, as by the plain forward pass
    let mut model = random_model(
        20,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        1,
    );
    model.params.g.fill(1e30);
    let stim = random_stimulus(4, 30, 2);
    let target_y = Array3::zeros((4, 30, 2));
    let target = Target::Readout { data: target_y.view() };
    let e = loss_and_grad_checkpointed(&model, &stim, &target, &SimOptions::noiseless(), all_groups(), 4).unwrap_err();
    let p = simulate(&model, &stim, &SimOptions::noiseless()).unwrap_err();
    assert_eq!(e.to_string(), p.to_string());
}

#[test]
fn lean_storage_gives_the_same_loss_and_gradients() {
    // loss_and_grad stores only what backpropagation of the trained groups reads; its loss and
    // gradients must be those of the whole trajectory, bit for bit, for every group set
    use ParamGroup::*;
    let sets: [&[ParamGroup]; 9] = [
        &[Gain, Bias],
        &[Gain],
        &[Bias],
        &[Tau],
        &[Beta],
        &[H0],
        &[W],
        &[WOut],
        &[Gain, Bias, Tau, Beta],
    ];
    let (n, t) = (20, 17);
    for (case, readout, trials) in STORAGE_CASES {
        let model = storage_case_model(case, 60);
        let stim = random_stimulus(trials, t, 62);
        let opts = SimOptions::noisy(0.05, 63);
        let full = simulate(&model, &stim, &opts).unwrap();
        let rec = NeuronSet::nonempty(&[1, 4, 18], n).unwrap();
        let data_a = full.a.select(Axis(2), rec.indices()).mapv(|x| 1.1 * x + 0.01);
        let data_y = full.y.mapv(|x| 0.7 * x - 0.02);
        let target = storage_target(readout, &rec, &data_a, &data_y);
        let (l_full, seed) = loss(&model, &full, &target).unwrap();
        for set in sets {
            let groups = GroupSet::of(set);
            let g_full = bptt(&model, &full, &seed, groups).unwrap();
            let mut lean = Trajectory::default();
            let (l, g) = loss_and_grad(&model, &stim, &target, &opts, groups, &mut lean).unwrap();
            assert_eq!(l, l_full, "case {case}, {set:?}: loss");
            assert_eq!(g, g_full, "case {case}, {set:?}: gradient");
            // what was stored: dphi always, the state's other arrays only when read
            assert_eq!(lean.dphi, full.dphi);
            let stored = [&lean.h, &lean.a, &lean.z, &lean.phi].map(|x| !x.is_empty());
            if case == 0 && set == [Gain, Bias] {
                assert_eq!(
                    stored,
                    [false, false, false, true],
                    "the usual student keeps phi and dphi"
                );
            }
            if set == [H0] && !readout {
                assert_eq!(stored, [false; 4], "case {case}: the h0 gradient needs only dphi");
            }
        }
    }
    // backpropagation through a trajectory that lacks what a group needs is an error, not a panic
    let model = random_model(
        n,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        64,
    );
    let stim = random_stimulus(2, t, 65);
    let rec = NeuronSet::nonempty(&[2], n).unwrap();
    let data = Array3::zeros((2, t, 1));
    let target = Target::Activity {
        recorded: &rec,
        data: data.view(),
    };
    let mut lean = Trajectory::default();
    let opts = SimOptions::noiseless();
    loss_and_grad(&model, &stim, &target, &opts, GroupSet::of(&[Bias]), &mut lean).unwrap();
    let (_, seed) = loss(&model, &simulate(&model, &stim, &opts).unwrap(), &target).unwrap();
    let e = bptt(&model, &lean, &seed, GroupSet::of(&[Tau])).unwrap_err();
    assert!(e.to_string().contains("`h` was not stored"), "{e}");
    let e = loss(&model, &lean, &target).unwrap_err();
    assert!(e.to_string().contains("`a` was not stored"), "{e}");
}

#[test]
fn checkpoint_interval_only_when_over_budget() {
    // 5 × 400 × 16 × 1000 × 4 bytes = 128 MB
    assert_eq!(checkpoint_interval(16, 400, 1000, 5, 4, 128_000_000), None);
    assert_eq!(checkpoint_interval(16, 400, 1000, 5, 4, 127_999_999), Some(45));
    // a lean trajectory of 2 arrays fits in 2/5 of that
    assert_eq!(checkpoint_interval(16, 400, 1000, 2, 4, 51_200_000), None);
    assert_eq!(checkpoint_interval(16, 400, 1000, 2, 4, 51_199_999), Some(45));
    // what the gradient stores: phi and dphi for presynaptic gains and biases, all five for
    // every group
    let model = random_model(
        10,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        1,
    );
    let data = Array3::zeros((1, 2, 2));
    let target = Target::Readout { data: data.view() };
    let rec = NeuronSet::nonempty(&[0], 10).unwrap();
    let data_a = Array3::zeros((1, 2, 1));
    let activity = Target::Activity {
        recorded: &rec,
        data: data_a.view(),
    };
    let student = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]);
    assert_eq!(arrays_for_grad(&model, student, &activity), 2);
    assert_eq!(arrays_for_grad(&model, student, &target), 3);
    assert_eq!(arrays_for_grad(&model, all_groups(), &activity), 5);
}

/// Random direction in θ-space; on W only entries well inside their sign (so that finite
/// differences stay legal).
fn random_direction(model: &Model<f64>, groups: GroupSet, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let theta = model.theta(groups);
    let mut v = Vec::with_capacity(theta.len());
    for g in groups.groups() {
        let off = v.len();
        for &x in &theta[off..off + model.group_len(g)] {
            let inside = g != ParamGroup::W || x.abs() > 1e-2;
            v.push(if inside { randn(rng) } else { 0.0 });
        }
    }
    v
}

/// `uᵀ G v = (2/K) (J u)·(J v)`: the Gauss–Newton product against directional derivatives of
/// the predictions by central differences, on noisy rollouts (fixed noise), for activity and
/// readout targets, both gain placements, softplus with per-neuron β, gap junctions, per-trial
/// initial states, and every group trained.
#[test]
fn gauss_newton_products_match_finite_differences() {
    let (n, t, b) = (14, 30, 3);
    let opts = SimOptions::noisy(0.01, 5);
    let recorded = NeuronSet::nonempty(&[1, 4, 9, 12], n).unwrap();
    let mut worst = 0.0f64;
    for (case, (act, gain, gaps, per_trial_h0, readout)) in [
        (Activation::Softplus, GainPlacement::Presynaptic, false, false, false),
        (Activation::Softplus, GainPlacement::Postsynaptic, true, false, false),
        (Activation::Tanh, GainPlacement::Presynaptic, false, true, true),
        (Activation::Softplus, GainPlacement::Presynaptic, true, false, true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut model = random_model(n, act, gain, Backend::Dense, true, 30 + case as u64);
        if gaps {
            model = with_gaps(model, 31);
        }
        let mut stim = random_stimulus(b, t, 32);
        if per_trial_h0 {
            let mut rng = ChaCha8Rng::seed_from_u64(33);
            stim.h0 = Some(Array2::from_shape_fn((b, n), |_| 0.3 * randn(&mut rng)));
        }
        let data_rec = Array3::<f64>::zeros((b, t, recorded.len()));
        let data_out = Array3::<f64>::zeros((b, t, model.n_out()));
        let target = if readout {
            Target::Readout { data: data_out.view() }
        } else {
            Target::Activity {
                recorded: &recorded,
                data: data_rec.view(),
            }
        };
        let groups = all_groups();
        let theta = model.theta(groups);
        let traj = simulate(&model, &stim, &opts).unwrap();
        let pred = |m: &Model<f64>| {
            let tr = simulate(m, &stim, &opts).unwrap();
            if readout {
                tr.y
            } else {
                tr.a.select(Axis(2), recorded.indices())
            }
        };
        let jvp = |d: &[f64]| {
            let eps = 1e-6;
            let at = |sgn: f64| {
                let th: Vec<f64> = theta.iter().zip(d).map(|(&x, &di)| x + sgn * eps * di).collect();
                let mut m = model.clone();
                m.set_theta(groups, &th).unwrap();
                pred(&m)
            };
            (at(1.0) - at(-1.0)) / (2.0 * eps)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(34 + case as u64);
        let v = random_direction(&model, groups, &mut rng);
        let gv = gauss_newton_product(&model, &stim, &traj, &target, groups, &v).unwrap();
        let jv = jvp(&v);
        let k = jv.len() as f64;
        for _ in 0..3 {
            let u = random_direction(&model, groups, &mut rng);
            let ju = jvp(&u);
            let fd = 2.0 / k * (&ju * &jv).sum();
            let an: f64 = u.iter().zip(&gv).map(|(a, b)| a * b).sum();
            let err = (an - fd).abs() / fd.abs().max(1e-12);
            worst = worst.max(err);
            assert!(err < 1e-6, "case {case}: uᵀGv = {an:e}, finite differences {fd:e}");
            // symmetry: uᵀ G v = vᵀ G u
            let gu = gauss_newton_product(&model, &stim, &traj, &target, groups, &u).unwrap();
            let vgu: f64 = v.iter().zip(&gu).map(|(a, b)| a * b).sum();
            assert!(
                (vgu - an).abs() <= 1e-10 * an.abs().max(1e-12),
                "case {case}: {vgu:e} vs {an:e}"
            );
        }
        // and vᵀ G v = (2/K) ‖J v‖² ≥ 0
        let vgv: f64 = v.iter().zip(&gv).map(|(a, b)| a * b).sum();
        assert!(vgv > 0.0);
    }
    eprintln!("worst relative error of uᵀGv: {worst:.2e}");
    // a direction of the wrong length is an error naming it
    let model = random_model(
        n,
        Activation::Softplus,
        GainPlacement::Presynaptic,
        Backend::Dense,
        false,
        1,
    );
    let stim = random_stimulus(b, t, 2);
    let traj = simulate(&model, &stim, &opts).unwrap();
    let data = Array3::<f64>::zeros((b, t, recorded.len()));
    let target = Target::Activity {
        recorded: &recorded,
        data: data.view(),
    };
    let e = gauss_newton_product(&model, &stim, &traj, &target, all_groups(), &[1.0]).unwrap_err();
    assert!(e.to_string().contains("Gauss-Newton direction"), "{e}");
    // with per-trial initial states the model's h0 does not act, so its gradient is zero
    let mut stim = stim;
    stim.h0 = Some(Array2::from_elem((b, n), 0.1));
    let mut traj = Trajectory::default();
    let (_, g) = loss_and_grad(&model, &stim, &target, &opts, all_groups(), &mut traj).unwrap();
    assert!(g.h0.iter().all(|&x| x == 0.0) && g.b.iter().any(|&x| x != 0.0));
    let (_, g) = loss_and_grad_checkpointed(&model, &stim, &target, &opts, all_groups(), 7).unwrap();
    assert!(g.h0.iter().all(|&x| x == 0.0) && g.b.iter().any(|&x| x != 0.0));
}

/// A recording seen through an observation model: 3 trials in two sessions, frames of their
/// own (averaged over each frame, one trial shorter), missing values, an indicator filter
/// (its τ trained) and a given affine map, on a network with gap junctions.
fn observed_case(t: usize, dt: f64, recorded: &NeuronSet) -> Observation<f64> {
    let m = recorded.len();
    let times = Array2::from_shape_fn((3, 6), |(b, f)| {
        if b == 2 && f == 5 {
            f64::NAN
        } else {
            0.03 * b as f64 + 0.45 * f as f64
        }
    });
    let frames = FrameMap::new(times.view(), dt, t, Sampling::FrameAverage).unwrap();
    let data = Array3::from_shape_fn((3, 6, m), |(b, f, i)| {
        if (b + 2 * f + 3 * i) % 7 == 0 {
            f64::NAN
        } else {
            0.4 + 0.2 * ((b * 5 + f * 3 + i) as f64).sin()
        }
    });
    Observation {
        frames,
        data,
        session: vec![0, 1, 1],
        tau: Some(Array1::from_shape_fn(m, |i| 0.2 + 0.15 * i as f64)),
        rise: None,

        saturation: None,
        scale: Some(Array2::from_shape_fn((2, m), |(s, i)| 0.8 + 0.1 * (s + i) as f64)),
        offset: Some(Array2::from_shape_fn((2, m), |(s, i)| 0.05 * (s as f64 - i as f64))),
        dt,
        fit_tau: true,
        profile_affine: false,
    }
}

/// The gradient of the model's groups and of the observation's parameters, plain and
/// checkpointed, against central differences of the loss; and the Gauss–Newton product
/// against `(2/K) (J u)·(J v)` with `J` the Jacobian of the observed prediction, by central
/// differences.
#[test]
fn observed_target_gradients_and_gauss_newton_products_match_finite_differences() {
    let (n, t, dt) = (16, 60, 0.05);
    let model = with_gaps(
        random_model(
            n,
            Activation::Softplus,
            GainPlacement::Presynaptic,
            Backend::Dense,
            true,
            41,
        ),
        42,
    );
    let stim = random_stimulus(3, t, 43);
    let opts = SimOptions::noisy(0.01, 44);
    let recorded = NeuronSet::nonempty(&[0, 5, 9, 13], n).unwrap();
    let obs = observed_case(t, dt, &recorded);
    let groups = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias, ParamGroup::Tau, ParamGroup::W]);
    let target = Target::Observed {
        recorded: &recorded,
        obs: &obs,
    };
    let mut traj = Trajectory::default();
    let (l, grad) = loss_and_grad(&model, &stim, &target, &opts, groups, &mut traj).unwrap();
    let (lc, gc) = loss_and_grad_checkpointed(&model, &stim, &target, &opts, groups, 7).unwrap();
    let (g, gcf) = (grad.flatten_all(groups), gc.flatten_all(groups));
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    let diff = g.iter().zip(&gcf).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    assert!(
        (l - lc).abs() <= 1e-14 * l && diff <= 1e-12 * norm,
        "checkpointed: {diff} of {norm}"
    );
    let n_model = model.theta_len(groups);
    assert_eq!(g.len(), n_model + obs.n_params());
    let theta: Vec<f64> = model.theta(groups).into_iter().chain(obs.params()).collect();
    let with = |th: &[f64]| {
        let (mut m, mut o) = (model.clone(), obs.clone());
        m.set_theta(groups, &th[..n_model]).unwrap();
        o.set_params(&th[n_model..]).unwrap();
        (m, o)
    };
    let eval = |th: &[f64]| {
        let (m, o) = with(th);
        let tr = simulate(&m, &stim, &opts).unwrap();
        let tg = Target::Observed {
            recorded: &recorded,
            obs: &o,
        };
        loss(&m, &tr, &tg).unwrap().0
    };
    let mut rng = ChaCha8Rng::seed_from_u64(45);
    let (mut num, mut den) = (0.0, 0.0);
    let picks: Vec<usize> = (0..24)
        .map(|k| {
            if k < 12 {
                rng.random_range(0..n_model)
            } else {
                n_model + rng.random_range(0..obs.n_params())
            }
        })
        .filter(|&k| k >= n_model || k < n_model - model.group_len(ParamGroup::W) || theta[k].abs() > 1e-3)
        .collect();
    for &k in &picks {
        let eps = 1e-5 * theta[k].abs().max(1.0);
        let (mut tp, mut tm) = (theta.clone(), theta.clone());
        tp[k] += eps;
        tm[k] -= eps;
        let fd = (eval(&tp) - eval(&tm)) / (2.0 * eps);
        num += (g[k] - fd).powi(2);
        den += fd * fd;
    }
    assert!(den > 0.0);
    assert!((num / den).sqrt() < 1e-6, "gradient rel err {:e}", (num / den).sqrt());

    // Gauss–Newton: uᵀ G v = (2/K) (J u)·(J v) over the observed entries
    let full = simulate(&model, &stim, &opts).unwrap();
    let predict = |th: &[f64]| {
        let (m, o) = with(th);
        let tr = simulate(&m, &stim, &opts).unwrap();
        o.predict(tr.a.select(Axis(2), recorded.indices()).view()).unwrap()
    };
    let jvp = |d: &[f64]| {
        let eps = 1e-6;
        let at = |sgn: f64| {
            predict(
                &theta
                    .iter()
                    .zip(d)
                    .map(|(&x, &di)| x + sgn * eps * di)
                    .collect::<Vec<_>>(),
            )
        };
        (at(1.0) - at(-1.0)) / (2.0 * eps)
    };
    let mask = Array3::from_shape_fn(obs.data.dim(), |(b, f, i)| {
        if obs.data[(b, f, i)].is_nan() || !obs.frames.has(b, f) {
            0.0
        } else {
            1.0
        }
    });
    let dir = |rng: &mut ChaCha8Rng| -> Vec<f64> {
        let mut v = random_direction(&model, groups, rng);
        v.extend((0..obs.n_params()).map(|_| randn(rng)));
        v
    };
    let (u, v) = (dir(&mut rng), dir(&mut rng));
    let gv = gauss_newton_product(&model, &stim, &full, &target, groups, &v).unwrap();
    let fd = 2.0 / obs.observed() as f64 * (&jvp(&u) * &jvp(&v) * &mask).sum();
    let an: f64 = u.iter().zip(&gv).map(|(a, b)| a * b).sum();
    assert!(
        (an - fd).abs() <= 1e-6 * fd.abs(),
        "uᵀGv = {an:e}, finite differences {fd:e}"
    );
}
