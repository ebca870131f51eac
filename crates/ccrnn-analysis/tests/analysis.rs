//! Gauss–Newton matrices against finite differences, and the linear theory of recordings.

use ccrnn_analysis::*;
use ccrnn_core::*;
use ndarray::{Array1, Array2, Array3, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn model(n: usize, seed: u64) -> Model<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let signs: Vec<i8> = (0..n).map(|j| if j < n * 7 / 10 { 1 } else { -1 }).collect();
    let w = Array2::from_shape_fn((n, n), |(_, j)| {
        let v: f64 = rng.sample::<f64, _>(StandardNormal).abs() * 1.2 / (n as f64).sqrt();
        v * signs[j] as f64
    });
    let mask = Array2::from_shape_fn((n, n), |_| rng.random_bool(0.6));
    let conn = Connectivity::from_dense(w.view(), Some(mask.view()), signs).unwrap();
    let mut p = NeuronParams::default_for(n);
    p.g = Array1::from_shape_fn(n, |_| rng.random_range(0.6..1.4));
    p.b = Array1::from_shape_fn(n, |_| rng.random_range(-0.3..0.3));
    p.h0 = Array1::from_shape_fn(n, |_| rng.random_range(-0.5..0.5));
    Model::builder(conn)
        .params(p)
        .w_in(Array2::from_shape_fn((2, n), |_| rng.random_range(-1.0..1.0)))
        .dt(0.1)
        .build()
        .unwrap()
}

fn stimulus(b: usize, t: usize, seed: u64) -> Stimulus<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Stimulus::new(Array3::from_shape_fn((b, t, 2), |_| rng.random_range(-1.0..1.0)))
}

/// H from central finite differences of the simulation, column by column of J.
fn gn_by_finite_differences(m: &Model<f64>, stim: &Stimulus<f64>, opts: &GnOptions) -> Array2<f64> {
    let theta = m.theta(opts.groups);
    let p = theta.len();
    let (b, t, n) = (stim.trials(), stim.steps(), m.n());
    let mut jac = Array3::<f64>::zeros((b * t, n, p));
    for j in 0..p {
        let eps = 1e-6;
        let at = |d: f64| {
            let mut th = theta.clone();
            th[j] += d;
            let mut mm = m.clone();
            mm.set_theta(opts.groups, &th).unwrap();
            simulate(&mm, stim, &SimOptions::noiseless()).unwrap().a
        };
        let col = (at(eps) - at(-eps)) / (2.0 * eps);
        jac.index_axis_mut(Axis(2), j)
            .assign(&col.into_shape_with_order((b * t, n)).unwrap());
    }
    let rows: Vec<usize> = opts.rows.clone().unwrap_or_else(|| (0..n).collect());
    let mut h = Array2::<f64>::zeros((p, p));
    for s in 0..b * t {
        let step = s % t;
        if step < opts.t_start || !(step - opts.t_start).is_multiple_of(opts.time_stride) {
            continue;
        }
        let jt = jac.index_axis(Axis(0), s).select(Axis(0), &rows);
        h += &jt.t().dot(&jt);
    }
    h
}

fn rel(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    (a - b).mapv(|x| x * x).sum().sqrt() / b.mapv(|x| x * x).sum().sqrt()
}

#[test]
fn gauss_newton_equals_finite_difference_jtj_and_is_psd() {
    let m = model(9, 1);
    let stim = stimulus(2, 30, 2);
    for opts in [
        GnOptions {
            time_stride: 1,
            ..GnOptions::default()
        },
        GnOptions {
            rows: Some(vec![0, 3, 7]),
            time_stride: 4,
            t_start: 2,
            groups: GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias, ParamGroup::Tau]),
        },
    ] {
        let h = gauss_newton(&m, &stim, &opts).unwrap();
        let fd = gn_by_finite_differences(&m, &stim, &opts);
        let err = rel(&h, &fd);
        assert!(err < 1e-7, "H vs finite differences: rel err {err:e}");
        assert_eq!(h, h.t(), "H is not exactly symmetric");
        let spec = Spectrum::of(&h).unwrap();
        let raw = ccrnn_analysis::linalg::sym_eigen(h.view(), "test").unwrap().0;
        assert!(raw.iter().all(|&l| l >= -1e-10 * raw[0]), "negative eigenvalue: {raw}");
        assert!(spec.values.windows(2).into_iter().all(|w| w[0] >= w[1]));
        // Neuron blocks at full rank add up to H.
        let blocks = neuron_blocks(&m, &stim, &opts, usize::MAX).unwrap();
        let p = h.nrows();
        let mut sum = Array2::<f64>::zeros((p, p));
        for b in &blocks {
            sum += &b.t().dot(b);
        }
        assert!(rel(&sum, &h) < 1e-9, "blocks do not add up to H: {:e}", rel(&sum, &h));
    }
}

/// The example of SCIENCE.md §7: N = 300, J = 1.4 ξ/√N truncated to 60 random singular
/// components. Every order reaches zero predicted error exactly at M = rank M, and
/// best < random < worst at every M in between.
#[test]
fn linear_theory_orders_reach_zero_at_the_rank() {
    let n = 300;
    let j = low_rank_random(n, 1.4, 60, 31).unwrap();
    let m = linear_response(j.view()).unwrap();
    let rank = numerical_rank(m.view(), 1e-9).unwrap();
    assert_eq!(rank, 60);
    let h = m.t().dot(&m);
    let blocks: Vec<Array2<f64>> = m
        .axis_iter(Axis(0))
        .map(|r| r.to_owned().insert_axis(Axis(0)))
        .collect();
    let best = greedy_order(&blocks, h.view(), Strategy::Best, &[]).unwrap();
    let worst = greedy_order(&blocks, h.view(), Strategy::Worst, &[]).unwrap();
    let randoms: Vec<RecordingOrder> = (0..10)
        .map(|s| greedy_order(&blocks, h.view(), Strategy::Random(s), &[]).unwrap())
        .collect();
    for (name, o) in [("best", &best), ("worst", &worst)]
        .into_iter()
        .chain(randoms.iter().map(|o| ("random", o)))
    {
        assert_eq!(o.order.len(), n);
        assert!(
            o.remaining[rank - 2] > 1e-6,
            "{name}: error already ~0 after {} recordings",
            rank - 1
        );
        assert!(
            o.remaining[rank - 1] < 1e-9,
            "{name}: error {} after {rank} recordings",
            o.remaining[rank - 1]
        );
        // The prediction is exact: ‖M (I − P_S)‖² / ‖M‖² for the chosen rows S.
        let k = 20;
        let s = m.select(Axis(0), &o.order[..k]);
        let (u, sv, _) = ccrnn_analysis::linalg::thin_svd(s.t(), "rows").unwrap();
        let basis = u.select(
            Axis(1),
            &(0..sv.iter().filter(|&&x| x > 1e-9 * sv[0]).count()).collect::<Vec<_>>(),
        );
        let resid = &m - &m.dot(&basis).dot(&basis.t());
        let actual = resid.mapv(|x| x * x).sum() / m.mapv(|x| x * x).sum();
        assert!(
            (actual - o.remaining[k - 1]).abs() < 1e-9,
            "{name}: predicted {} vs {actual}",
            o.remaining[k - 1]
        );
    }
    for k in 0..rank - 1 {
        let rand_mean = randoms.iter().map(|o| o.remaining[k]).sum::<f64>() / randoms.len() as f64;
        assert!(
            best.remaining[k] < rand_mean && rand_mean < worst.remaining[k],
            "M = {}: best {} random {rand_mean} worst {}",
            k + 1,
            best.remaining[k],
            worst.remaining[k]
        );
    }
}

#[test]
fn perron_root_is_right_for_weights_spanning_twelve_decades() {
    use ccrnn_analysis::linalg::perron_root;
    // A 3-cycle 0 → 1 → 2 → 0 with weights 1e12, 4 and 1: eigenvalues are the cube roots of
    // their product (periodic: all three have the same modulus).
    let rows = vec![vec![(1, 1e12)], vec![(2, 4.0)], vec![(0, 1.0)]];
    let want = 4e12f64.cbrt();
    let got = perron_root(&rows, 1e-10, 100_000);
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    // 2×2 blocks [[0, 1e12], [4, 0]], ρ = 2e6, whose eigenvalues ±ρ made the old shift by I
    // converge at a rate 1 − 1e-6 that looked converged long before it was.
    let n = 3000;
    let rows: Vec<Vec<(usize, f64)>> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                vec![(i + 1, 1e12)]
            } else {
                vec![(i - 1, 4.0)]
            }
        })
        .collect();
    let got = perron_root(&rows, 1e-10, 100_000);
    assert!((got - 2e6).abs() <= 1e-8 * 2e6, "{got} vs 2e6");
}
