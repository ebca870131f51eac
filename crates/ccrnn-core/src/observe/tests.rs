//! The observation model's gradients and Gauss–Newton products against finite differences.

use super::*;
use ndarray::Array2;

/// How a case's scale and offset are set.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Affine {
    Identity,
    Given,
    Profiled,
}

/// An observation of 3 trials (two sessions, ragged frames, some values missing) of 4 columns
/// on 80 steps of 0.05, with or without a filter (its τ trained), and an affine map.
fn case(filter: bool, affine: Affine, sampling: Sampling) -> Observation<f64> {
    let (b, t, m, dt) = (3, 80, 4, 0.05);
    let times = Array2::from_shape_fn((b, 9), |(bi, f)| {
        if bi == 1 && f >= 7 {
            f64::NAN
        } else {
            0.07 * bi as f64 + 0.41 * f as f64
        }
    });
    let frames = FrameMap::new(times.view(), dt, t, sampling).unwrap();
    let data = Array3::from_shape_fn((b, 9, m), |(bi, f, i)| {
        if (bi * 31 + f * 7 + i * 3) % 10 == 0 {
            f64::NAN
        } else {
            (0.3 * f as f64 + i as f64 + bi as f64).sin()
        }
    });
    let mut obs = Observation {
        frames,
        data,
        session: vec![0, 1, 0],
        tau: filter.then(|| Array1::from(vec![0.3, 0.8, 1.5, 0.12])),
        rise: None,

        saturation: None,
        scale: None,
        offset: None,
        dt,
        fit_tau: filter,
        profile_affine: affine == Affine::Profiled,
    };
    if affine == Affine::Given {
        obs.scale = Some(Array2::from_shape_fn((2, m), |(s, i)| 0.5 + 0.2 * (s + i) as f64));
        obs.offset = Some(Array2::from_shape_fn((2, m), |(s, i)| 0.1 * s as f64 - 0.05 * i as f64));
    }
    obs.validate().unwrap();
    obs
}

/// The same observation with a rise time per column (the indicator's, in cascade).
fn with_rise(mut obs: Observation<f64>) -> Observation<f64> {
    obs.rise = Some(Array1::from(vec![0.05, 0.1, 0.2, 0.08]));
    obs.validate().unwrap();
    obs
}

/// The same observation with a saturating indicator (half-saturation per column).
fn with_saturation(mut obs: Observation<f64>) -> Observation<f64> {
    obs.saturation = Some(Array1::from(vec![0.5, 1.0, 2.0, 0.8]));
    obs.validate().unwrap();
    obs
}

fn activity(b: usize, t: usize, m: usize, phase: f64) -> Array3<f64> {
    Array3::from_shape_fn((b, t, m), |(bi, ti, i)| {
        1.0 + (0.21 * ti as f64 + phase + 0.7 * i as f64 + bi as f64).sin()
    })
}

fn loss_at(obs: &Observation<f64>, a: &Array3<f64>, phi: &[f64]) -> f64 {
    let mut o = obs.clone();
    o.set_params(phi).unwrap();
    o.loss_and_grad(a.view()).unwrap().0
}

/// `∂L/∂a` and `∂L/∂φ` against central differences, for every combination of filter, affine
/// map (a profiled one included: its gradient is the gradient at the fitted scale and offset)
/// and sampling.
#[test]
fn gradients_match_finite_differences() {
    for filter in [false, true] {
        for affine in [Affine::Identity, Affine::Given, Affine::Profiled] {
            for (sampling, rise, saturation) in [
                (Sampling::Instant, false, false),
                (Sampling::FrameAverage, false, false),
                (Sampling::Instant, true, false),
                (Sampling::FrameAverage, false, true),
            ] {
                if rise && !filter {
                    continue;
                }
                let obs = case(filter, affine, sampling);
                let obs = if rise { with_rise(obs) } else { obs };
                let obs = if saturation { with_saturation(obs) } else { obs };
                let a = activity(3, 80, 4, 0.0);
                let phi = obs.params();
                let (_, a_bar, phi_bar) = obs.loss_and_grad(a.view()).unwrap();
                let h = 1e-6;
                for &(bi, ti, i) in &[(0, 0, 0), (0, 5, 1), (1, 40, 2), (2, 79, 3), (2, 33, 0), (1, 78, 1)] {
                    let (mut ap, mut am) = (a.clone(), a.clone());
                    ap[(bi, ti, i)] += h;
                    am[(bi, ti, i)] -= h;
                    let fd = (loss_at(&obs, &ap, &phi) - loss_at(&obs, &am, &phi)) / (2.0 * h);
                    let got = a_bar[(bi, ti, i)];
                    assert!(
                        (fd - got).abs() <= 1e-7 * (1.0 + fd.abs()),
                        "filter {filter}, rise {rise}, saturation {saturation}, affine {affine:?}, {sampling:?}: a[{bi},{ti},{i}]: {got} vs {fd}"
                    );
                }
                for k in 0..phi.len() {
                    let (mut pp, mut pm) = (phi.clone(), phi.clone());
                    pp[k] += h;
                    pm[k] -= h;
                    let fd = (loss_at(&obs, &a, &pp) - loss_at(&obs, &a, &pm)) / (2.0 * h);
                    assert!(
                        (fd - phi_bar[k]).abs() <= 1e-7 * (1.0 + fd.abs()),
                        "filter {filter}, rise {rise}, saturation {saturation}, affine {affine:?}, {sampling:?}: φ[{k}]: {} vs {fd}",
                        phi_bar[k]
                    );
                }
            }
        }
    }
}

/// The Gauss–Newton product is `Jᵀ (2/K) M J v`: checked through `u · G v = (2/K) (J u)·(J v)`
/// with `J u`, `J v` by central differences of the prediction, for the activity and φ parts
/// together. A profiled affine map's prediction is differentiated with its scale and offset
/// refitted at every point, at data it fits exactly (where Kaufman's Jacobian is the exact one).
#[test]
fn gauss_newton_products_match_finite_differences() {
    for (filter, affine, rise, saturation) in [
        (true, Affine::Given, false, false),
        (false, Affine::Given, false, false),
        (true, Affine::Identity, false, false),
        (true, Affine::Profiled, false, false),
        (false, Affine::Profiled, false, false),
        (true, Affine::Given, true, false),
        (true, Affine::Profiled, true, false),
        (true, Affine::Given, false, true),
        (true, Affine::Profiled, true, true),
    ] {
        let rised = |o: Observation<f64>| {
            let o = if rise { with_rise(o) } else { o };
            if saturation { with_saturation(o) } else { o }
        };
        let mut obs = rised(case(filter, affine, Sampling::FrameAverage));
        let a = activity(3, 80, 4, 0.3);
        if affine == Affine::Profiled {
            // data the model fits exactly, with positive scales
            let mut given = rised(case(filter, Affine::Given, Sampling::FrameAverage));
            let exact = given.predict(a.view()).unwrap();
            given.data.zip_mut_with(&exact, |y, &p| {
                if !y.is_nan() {
                    *y = p
                }
            });
            obs.data = given.data;
        }
        let phi = obs.params();
        let dirs = [(activity(3, 80, 4, 1.1), 0.3), (activity(3, 80, 4, 2.9), -0.7)];
        let dphi = |c: f64| -> Vec<f64> { (0..phi.len()).map(|k| c * ((k as f64) * 0.37).cos()).collect() };
        let h = 1e-6;
        let jvp = |da: &Array3<f64>, dp: &[f64]| {
            let at = |sign: f64| {
                let mut o = obs.clone();
                let p: Vec<f64> = phi.iter().zip(dp).map(|(x, d)| x + sign * h * d).collect();
                o.set_params(&p).unwrap();
                o.predict((&a + &(da * (sign * h))).view()).unwrap()
            };
            (at(1.0) - at(-1.0)) / (2.0 * h)
        };
        let k = obs.observed() as f64;
        let mask = Array3::from_shape_fn(obs.data.dim(), |(b, f, i)| {
            if !obs.data[(b, f, i)].is_nan() && obs.frames.has(b, f) {
                1.0
            } else {
                0.0
            }
        });
        let (u, v) = (&dirs[0], &dirs[1]);
        let (du, dv) = (dphi(u.1), dphi(v.1));
        let (ju, jv) = (jvp(&u.0, &du), jvp(&v.0, &dv));
        let expected = 2.0 / k * (&ju * &jv * &mask).sum();
        let (ga, gp) = obs.gauss_newton(a.view(), v.0.view(), &dv).unwrap();
        let got = (&u.0 * &ga).sum() + du.iter().zip(&gp).map(|(x, y)| x * y).sum::<f64>();
        assert!(
            (got - expected).abs() <= 1e-6 * expected.abs().max(1e-3),
            "filter {filter}, rise {rise}, saturation {saturation}, affine {affine:?}: {got} vs {expected}"
        );
    }
}

/// A profiled map recovers a known scale and offset exactly from noiseless data, per session,
/// and [`Observation::profile`] keeps them.
#[test]
fn profiled_affine_recovers_scale_and_offset() {
    let mut obs = case(true, Affine::Given, Sampling::Instant);
    let a = activity(3, 80, 4, 0.5);
    let truth_s = Array2::from_shape_fn((2, 4), |(s, i)| 0.3 + s as f64 + 0.1 * i as f64);
    let truth_o = Array2::from_shape_fn((2, 4), |(s, i)| -0.2 * s as f64 + 0.4 * i as f64);
    obs.scale = Some(truth_s.clone());
    obs.offset = Some(truth_o.clone());
    let clean = obs.predict(a.view()).unwrap();
    obs.data.zip_mut_with(&clean, |y, &p| {
        if !y.is_nan() {
            *y = p
        }
    });
    obs.scale = None;
    obs.offset = None;
    obs.profile_affine = true;
    assert!(obs.loss_and_grad(a.view()).unwrap().0 < 1e-20);
    obs.profile(a.view()).unwrap();
    assert!(!obs.profile_affine);
    let err = (obs.scale.as_ref().unwrap() - &truth_s).mapv(f64::abs).sum()
        + (obs.offset.as_ref().unwrap() - &truth_o).mapv(f64::abs).sum();
    assert!(err < 1e-9, "{err}");
}

/// An all-missing recording, an infinite value, sessions of the wrong length and a bad τ are
/// errors naming the field.
#[test]
fn bad_observations_are_errors() {
    let good = case(true, Affine::Given, Sampling::Instant);
    let mut all_nan = good.clone();
    all_nan.data.fill(f64::NAN);
    let mut inf = good.clone();
    inf.data[(0, 1, 1)] = f64::INFINITY;
    let mut sessions = good.clone();
    sessions.session.pop();
    let mut tau = good.clone();
    tau.tau.as_mut().unwrap()[2] = -1.0;
    let mut rise = case(false, Affine::Given, Sampling::Instant);
    rise.rise = Some(Array1::from_elem(4, 0.1));
    let mut saturation = good.clone();
    saturation.saturation = Some(Array1::from(vec![1.0, 0.0, 1.0, 1.0]));
    for (o, what) in [
        (all_nan, "no observed value"),
        (inf, "trial 0, frame 1, column 1"),
        (sessions, "observation.session"),
        (tau, "observation.tau"),
        (rise, "a rise time needs an indicator"),
        (saturation, "observation.saturation: column 1"),
    ] {
        let err = o.validate().unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
}
