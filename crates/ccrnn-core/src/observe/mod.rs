//! The observation model: from the recorded neurons' activity at the model's steps to the
//! signal a lab measures at its frame times (SCIENCE.md §10), and the loss against it.
//!
//! For recorded neuron (column) `m` of trial `b`, with `a` its activity at steps of `dt`:
//!
//! ```text
//! c_0 = a_0,   c_{t+1} = γ_m c_t + (1 − γ_m) a_t,   γ_m = exp(−dt / τ_m)   (indicator; c = a without)
//! x_f = (frames of c)_f,  or  x_f = x⁺ / (x⁺ + K_m) with x⁺ = max(frames of c, 0)  (optional saturation)
//! ŷ_f = s_{σ(b), m} · x_f + o_{σ(b), m}                                        (affine per session σ(b); s = 1, o = 0 without)
//! L   = (1/K) Σ over observed entries (ŷ_f − y_f)²                             (K observed entries; NaN = missing)
//! ```
//!
//! `τ_m` is in model time units (seconds over the recording's `time_unit_s`), the frames are
//! read as in [`FrameMap`]. The indicator starts at steady state (`c_0 = a_0`). The filter is
//! normalised to unit gain, so its output stays in activity units and `s` alone carries the
//! signal's units: the unnormalised filter `c_t = γ c_{t−1} + a_t` of the literature is
//! `1/(1 − γ)` times this one. Every step is linear in `a` and in `s, o`; only `γ` enters
//! non-linearly.
//!
//! The scale and offset are either given, or **profiled** (`profile_affine`): at every
//! evaluation they are the least-squares fit of the data by the model's framed indicator
//! output, per session and column, with `s ≥ 0` (variable projection, Golub & Pereyra 1973).
//! The loss is then a function of the model's parameters (and τ) alone, whose gradient is the
//! gradient at the fitted `s, o` (they are optimal, so their own derivative vanishes); its
//! Gauss–Newton products use Kaufman's (1975) Jacobian, the fixed-affine one with each session
//! and column's residual projected off the span of its regressors, exact where the residual
//! vanishes. A fit then never trades the model against a scale and offset that lag behind it,
//! which is what slowed joint fits of both (measured: `docs/recordings.md`).
//!
//! [`Observation::loss_and_grad`] gives `∂L/∂a` and the gradient of the observation's own
//! trainable parameters (τ, if fitted); [`Observation::gauss_newton`] the Gauss–Newton products
//! of both (checked against finite differences in the tests).

mod frames;

pub use frames::{FrameMap, Sampling};

use crate::{Error, Real, Result};
use ndarray::{Array1, Array2, Array3, ArrayView3, Axis, s};

/// A calcium indicator, as the decay time constant of a first-order filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Indicator {
    /// Name (a preset's, or "custom").
    pub name: &'static str,
    /// Decay time constant in seconds.
    pub tau_s: f64,
}

impl Indicator {
    /// Presets: the decay constants suite2p's documentation recommends for its deconvolution
    /// (`tau`: 0.7 s for GCaMP6f, 1.0 s for GCaMP6m, 1.25–1.5 s for GCaMP6s; the lower end is
    /// used), and for jGCaMP8, whose decays are several times faster (Zhang et al., Nature 615,
    /// 2023), the values a spike-inference guide built on suite2p lists (8f 0.25 s, 8m 0.3 s,
    /// 8s 0.5 s). They are informed defaults: fit τ (`fit_tau`) or set it for a preparation.
    pub const PRESETS: [Indicator; 6] = [
        Indicator {
            name: "gcamp6f",
            tau_s: 0.7,
        },
        Indicator {
            name: "gcamp6m",
            tau_s: 1.0,
        },
        Indicator {
            name: "gcamp6s",
            tau_s: 1.25,
        },
        Indicator {
            name: "jgcamp8f",
            tau_s: 0.25,
        },
        Indicator {
            name: "jgcamp8m",
            tau_s: 0.3,
        },
        Indicator {
            name: "jgcamp8s",
            tau_s: 0.5,
        },
    ];

    /// A preset by name (case-insensitive), or `None`.
    pub fn preset(name: &str) -> Option<Self> {
        Self::PRESETS.into_iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// Bounds of a fitted indicator time constant, in model steps: at least one step (a faster
/// indicator is no filter at this dt), at most 10⁶ steps.
const TAU_STEPS: (f64, f64) = (1.0, 1e6);

/// The observation of a recording: its frames, data, sessions and the observation model's
/// parameters. See the [module documentation](self) for the equations.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<F> {
    /// Where each trial's frames fall on the model's steps.
    pub frames: FrameMap,
    /// Measured signal, `B × F × M` (NaN where missing, and past a trial's last frame).
    pub data: Array3<F>,
    /// Session of each trial (length B); the affine parameters are per session and column.
    pub session: Vec<usize>,
    /// Indicator time constant per column (model time units), or `None` for no filter.
    pub tau: Option<Array1<F>>,
    /// The indicator's rise time constant per column (model time units, fixed), or `None` for
    /// an instantaneous rise: the activity then goes through a first filter of this τ before
    /// the decay filter (two unit-gain filters in cascade: a response kernel proportional to
    /// `e^{−t/τ} − e^{−t/τ_rise}`). Only with `tau`.
    pub rise: Option<Array1<F>>,
    /// Half-saturation constant per column (activity units, fixed), or `None` for a linear
    /// indicator: the framed indicator output `x` is read as `x⁺ / (x⁺ + K)` (a Michaelis–Menten
    /// saturation of the indicator's fluorescence; flat below 0).
    pub saturation: Option<Array1<F>>,
    /// Scale per session and column (`S × M`), or `None` for the identity (and for a profiled
    /// map not yet evaluated: see [`Self::profile`]).
    pub scale: Option<Array2<F>>,
    /// Offset per session and column (`S × M`), present with `scale`.
    pub offset: Option<Array2<F>>,
    /// Model step, in model time units.
    pub dt: F,
    /// Whether the indicator's τ are trained (with a filter only).
    pub fit_tau: bool,
    /// Whether scale and offset are profiled: fitted by least squares at every evaluation
    /// (the values in `scale` and `offset` are then ignored).
    pub profile_affine: bool,
}

/// Intermediate values of one evaluation, reused by its gradient.
struct Forward<F> {
    /// The rise filter's output, the decay filter's input (`None` without a rise time).
    rise: Option<Array3<F>>,
    /// Indicator output `c`, `B × T × M` (the activity itself without a filter: not stored).
    c: Option<Array3<F>>,
    /// Frames of `c`, `B × F × M` (saturated, with a saturation).
    framed: Array3<F>,
    /// The saturation's slope at the frames, `B × F × M` (`None` without a saturation).
    sat_slope: Option<Array3<F>>,
    /// The scale and offset used (`S × M`; given or profiled), or `None` for the identity.
    affine: Option<(Array2<F>, Array2<F>)>,
    /// Prediction `ŷ`, `B × F × M`.
    pred: Array3<F>,
}

impl<F: Real> Observation<F> {
    /// Checks shapes and values: data `B × F × M` against the frames, sessions in range, τ > 0
    /// and finite, finite scale and offset, and at least one observed entry.
    pub fn validate(&self) -> Result<()> {
        let (b, f, m) = self.data.dim();
        crate::error::check_shape(
            "observation.data",
            &[self.frames.trials(), self.frames.frames(), m],
            &[b, f, m],
        )?;
        if self.session.len() != b {
            return Err(Error::shape("observation.session", &[b], &[self.session.len()]));
        }
        let sessions = self.sessions();
        for (name, taus) in [
            ("observation.tau", &self.tau),
            ("observation.rise", &self.rise),
            ("observation.saturation", &self.saturation),
        ] {
            if let Some(tau) = taus {
                crate::error::check_shape(name, &[m], tau.shape())?;
                if let Some((i, t)) = tau
                    .iter()
                    .enumerate()
                    .find(|(_, t)| !(t.as_f64() > 0.0 && t.is_finite()))
                {
                    return Err(Error::invalid(name, format!("column {i}: {t} (must be > 0)")));
                }
            }
        }
        if self.rise.is_some() && self.tau.is_none() {
            return Err(Error::invalid(
                "observation.rise",
                "a rise time needs an indicator (tau)",
            ));
        }
        match (&self.scale, &self.offset) {
            (Some(sc), Some(of)) => {
                crate::error::check_shape("observation.scale", &[sessions, m], sc.shape())?;
                crate::error::check_shape("observation.offset", &[sessions, m], of.shape())?;
                crate::error::check_finite("observation.scale", sc.iter())?;
                crate::error::check_finite("observation.offset", of.iter())?;
            }
            (None, None) => {}
            _ => return Err(Error::invalid("observation", "scale and offset come together")),
        }
        if self.scale.is_some() && self.profile_affine {
            return Err(Error::invalid(
                "observation",
                "a profiled affine map has no given scale and offset (leave them None)",
            ));
        }
        for (bi, fi, mi) in ndarray::indices((b, f, m)) {
            let v = self.data[(bi, fi, mi)];
            if v.is_infinite() {
                return Err(Error::invalid(
                    "observation.data",
                    format!("trial {bi}, frame {fi}, column {mi}: {v} (missing values are NaN)"),
                ));
            }
        }
        if self.observed() == 0 {
            return Err(Error::invalid(
                "observation.data",
                "no observed value (every entry is NaN)",
            ));
        }
        Ok(())
    }

    /// Number of sessions (one more than the largest session index).
    pub fn sessions(&self) -> usize {
        self.session.iter().max().map_or(0, |&s| s + 1)
    }

    /// Number of observed entries K (not NaN, on an existing frame).
    pub fn observed(&self) -> usize {
        self.mask_iter().filter(|&(_, o)| o).count()
    }

    /// Every entry's index and whether it is observed.
    fn mask_iter(&self) -> impl Iterator<Item = ((usize, usize, usize), bool)> + '_ {
        self.data
            .indexed_iter()
            .map(|((b, f, m), v)| ((b, f, m), !v.is_nan() && self.frames.has(b, f)))
    }

    /// Number of trainable parameters φ: the indicator's τ per column, if trained (a profiled
    /// scale and offset are not parameters: they are solved for).
    pub fn n_params(&self) -> usize {
        if self.fit_tau && self.tau.is_some() {
            self.data.dim().2
        } else {
            0
        }
    }

    /// The trainable parameters φ (τ per column, model time units, if trained).
    pub fn params(&self) -> Vec<F> {
        match (&self.tau, self.fit_tau) {
            (Some(t), true) => t.to_vec(),
            _ => Vec::new(),
        }
    }

    /// Sets the trainable parameters from φ.
    pub fn set_params(&mut self, phi: &[F]) -> Result<()> {
        if phi.len() != self.n_params() {
            return Err(Error::shape("observation parameters", &[self.n_params()], &[phi.len()]));
        }
        if self.fit_tau
            && let Some(t) = &mut self.tau
        {
            t.iter_mut().zip(phi).for_each(|(x, &v)| *x = v);
        }
        Ok(())
    }

    /// Projects φ onto the feasible set: τ within one to 10⁶ model steps.
    pub fn project(&self, phi: &mut [F]) {
        let (lo, hi) = (self.dt * F::lit(TAU_STEPS.0), self.dt * F::lit(TAU_STEPS.1));
        phi.iter_mut().for_each(|x| *x = x.max(lo).min(hi));
    }

    /// The same observation for a subset of trials (in the given order).
    pub fn select(&self, trials: &[usize]) -> Self {
        Self {
            frames: self.frames.select(trials),
            data: self.data.select(Axis(0), trials),
            session: trials.iter().map(|&b| self.session[b]).collect(),
            ..self.clone()
        }
    }

    /// The observation of some of its columns (recorded neurons), in the given order: their
    /// data, indicator time constants and affine parameters.
    pub fn columns(&self, cols: &[usize]) -> Self {
        Self {
            data: self.data.select(Axis(2), cols),
            tau: self.tau.as_ref().map(|t| t.select(Axis(0), cols)),
            rise: self.rise.as_ref().map(|t| t.select(Axis(0), cols)),
            saturation: self.saturation.as_ref().map(|t| t.select(Axis(0), cols)),
            scale: self.scale.as_ref().map(|t| t.select(Axis(1), cols)),
            offset: self.offset.as_ref().map(|t| t.select(Axis(1), cols)),
            ..self.clone()
        }
    }

    /// The predicted signal `ŷ` (`B × F × M`) of the recorded activity `a` (`B × T × M`).
    pub fn predict(&self, a: ArrayView3<F>) -> Result<Array3<F>> {
        self.check_activity(a)?;
        Ok(self.forward(a).pred)
    }

    fn check_activity(&self, a: ArrayView3<F>) -> Result<()> {
        let (b, _, m) = self.data.dim();
        crate::error::check_shape("recorded activity", &[b, self.frames.steps(), m], a.shape())
    }

    /// The filter's decay factor γ per column.
    fn gamma(&self) -> Option<Vec<F>> {
        self.tau.as_ref().map(|t| self.factors(t))
    }

    /// The rise filter's factor per column.
    fn rise_gamma(&self) -> Option<Vec<F>> {
        self.rise
            .as_ref()
            .filter(|_| self.tau.is_some())
            .map(|t| self.factors(t))
    }

    /// `exp(−dt/τ)` for each τ.
    fn factors(&self, taus: &Array1<F>) -> Vec<F> {
        taus.iter().map(|&tau| (-self.dt / tau).exp()).collect()
    }

    fn forward(&self, a: ArrayView3<F>) -> Forward<F> {
        let rise = self.rise_gamma().map(|g| filter(a, &g));
        let input = rise.as_ref().map_or(a, |r| r.view());
        let c = self.gamma().map(|g| filter(input, &g));
        let mut framed = self.frames.read(c.as_ref().map_or(a, |c| c.view()));
        // the saturation x⁺ / (x⁺ + K) and its slope K / (x + K)² (0 below 0)
        let sat_slope = self.saturation.as_ref().map(|k| {
            let mut slope = Array3::zeros(framed.dim());
            for ((bi, f, i), x) in framed.indexed_iter_mut() {
                let xp = x.max(F::zero());
                slope[(bi, f, i)] = if *x > F::zero() {
                    k[i] / ((xp + k[i]) * (xp + k[i]))
                } else {
                    F::zero()
                };
                *x = xp / (xp + k[i]);
            }
            slope
        });
        let mut pred = framed.clone();
        let affine = match (&self.scale, &self.offset) {
            _ if self.profile_affine => Some(self.least_squares(&framed)),
            (Some(sc), Some(of)) => Some((sc.clone(), of.clone())),
            _ => None,
        };
        if let Some((sc, of)) = &affine {
            for (b, mut trial) in pred.axis_iter_mut(Axis(0)).enumerate() {
                let (sr, or) = (sc.row(self.session[b]), of.row(self.session[b]));
                for mut row in trial.rows_mut() {
                    for ((x, &s), &o) in row.iter_mut().zip(sr).zip(or) {
                        *x = s * *x + o;
                    }
                }
            }
        }
        Forward {
            rise,
            c,
            framed,
            sat_slope,
            affine,
            pred,
        }
    }

    /// The scale (≥ 0) and offset per session and column that fit the observed data best, in
    /// least squares, by the framed indicator output `framed`: the regression of the data on
    /// it, or the data's mean and a scale of 0 when the slope would be negative or the
    /// regressor does not vary (scale 1 and offset 0 for a column with no observed value).
    fn least_squares(&self, framed: &Array3<F>) -> (Array2<F>, Array2<F>) {
        let (sessions, m) = (self.sessions(), self.data.dim().2);
        let stats = self.group_sums(framed, &self.data);
        let (mut sc, mut of) = (Array2::<F>::ones((sessions, m)), Array2::<F>::zeros((sessions, m)));
        for (k, &[n, sx, sy, sxx, sxy]) in stats.iter().enumerate() {
            if n == 0.0 {
                continue;
            }
            let (mx, my) = (sx / n, sy / n);
            let (vx, cxy) = (sxx / n - mx * mx, sxy / n - mx * my);
            let slope = if regressor_varies(vx, mx) && cxy > 0.0 {
                cxy / vx
            } else {
                0.0
            };
            sc[(k / m, k % m)] = F::lit(slope);
            of[(k / m, k % m)] = F::lit(my - slope * mx);
        }
        (sc, of)
    }

    /// Per session and column (index `session · M + column`), over its observed entries: the
    /// count and the sums of `x`, `y`, `x²` and `x y`, with `x` from `framed` and `y` from `y`.
    fn group_sums(&self, framed: &Array3<F>, y: &Array3<F>) -> Vec<[f64; 5]> {
        let m = self.data.dim().2;
        let mut sums = vec![[0.0f64; 5]; self.sessions() * m];
        for ((b, f, i), obs) in self.mask_iter() {
            if obs {
                let (x, y) = (framed[(b, f, i)].as_f64(), y[(b, f, i)].as_f64());
                let st = &mut sums[self.session[b] * m + i];
                for (acc, v) in st.iter_mut().zip([1.0, x, y, x * x, x * y]) {
                    *acc += v;
                }
            }
        }
        sums
    }

    /// Kaufman's projection of a profiled affine map: each session and column's observed
    /// entries of `v` with their least-squares fit by the regressors (`framed` and 1, or 1
    /// alone where the fitted scale is 0) removed, in place.
    fn project_off_affine(&self, v: &mut Array3<F>, framed: &Array3<F>, scale: &Array2<F>) {
        let m = self.data.dim().2;
        let stats = self.group_sums(framed, v);
        let coef: Vec<(f64, f64)> = stats
            .iter()
            .enumerate()
            .map(|(k, &[n, sx, sv, sxx, sxv])| {
                if n == 0.0 {
                    return (0.0, 0.0);
                }
                let (mx, mv) = (sx / n, sv / n);
                let vx = sxx / n - mx * mx;
                let free = scale[(k / m, k % m)] > F::zero() && regressor_varies(vx, mx);
                let slope = if free { (sxv / n - mx * mv) / vx } else { 0.0 };
                (slope, mv - slope * mx)
            })
            .collect();
        for ((b, f, i), obs) in self.mask_iter() {
            if obs {
                let (slope, icpt) = coef[self.session[b] * m + i];
                v[(b, f, i)] -= F::lit(slope * framed[(b, f, i)].as_f64() + icpt);
            }
        }
    }

    /// Sets `scale` and `offset` to the values a profiled map takes for the recorded activity
    /// `a` (what the fit ended with), and turns profiling off so that they stay: the
    /// observation then predicts with them.
    pub fn profile(&mut self, a: ArrayView3<F>) -> Result<()> {
        self.check_activity(a)?;
        if self.profile_affine {
            let fw = self.forward(a);
            let (sc, of) = fw.affine.expect("profiled");
            self.scale = Some(sc);
            self.offset = Some(of);
            self.profile_affine = false;
        }
        Ok(())
    }

    /// The residual's weight `2/K` on observed entries (`k` = K, at least 1) and 0 elsewhere,
    /// times `x`, in place.
    fn weigh(&self, x: &mut Array3<F>, k: f64) {
        let w = F::lit(2.0 / k);
        for ((_, obs), v) in self.mask_iter().zip(x.iter_mut()) {
            *v = if obs { *v * w } else { F::zero() };
        }
    }

    /// The loss `L` of the recorded activity `a` (`B × T × M`), `∂L/∂a` and the gradient of
    /// the trainable parameters (laid out as [`Self::params`]).
    pub fn loss_and_grad(&self, a: ArrayView3<F>) -> Result<(F, Array3<F>, Vec<F>)> {
        self.check_activity(a)?;
        let fw = self.forward(a);
        let k = self.observed().max(1) as f64;
        let mut sum = 0.0;
        let mut bar = fw.pred.clone();
        for (((_, obs), r), &y) in self.mask_iter().zip(bar.iter_mut()).zip(self.data.iter()) {
            if obs {
                let e = *r - y;
                sum += e.as_f64() * e.as_f64();
                *r = e;
            }
        }
        self.weigh(&mut bar, k);
        let (a_bar, phi_bar) = self.vjp(a, &fw, bar);
        Ok((F::lit(sum / k), a_bar, phi_bar))
    }

    /// The Gauss–Newton product of the loss at `a`: with `J` the Jacobian of the prediction `ŷ`
    /// in `(a, φ)`, returns `Jᵀ (2/K) M J (δa, δφ)` (`M` the mask of observed entries) as
    /// `(∂/∂a part, ∂/∂φ part)`.
    pub fn gauss_newton(&self, a: ArrayView3<F>, da: ArrayView3<F>, dphi: &[F]) -> Result<(Array3<F>, Vec<F>)> {
        self.check_activity(a)?;
        self.check_activity(da)?;
        if dphi.len() != self.n_params() {
            return Err(Error::shape("observation direction", &[self.n_params()], &[dphi.len()]));
        }
        let fw = self.forward(a);
        let mut jv = self.jvp(a, &fw, da, dphi);
        if self.profile_affine {
            let (sc, _) = fw.affine.as_ref().expect("profiled");
            self.project_off_affine(&mut jv, &fw.framed, sc);
        }
        self.weigh(&mut jv, self.observed().max(1) as f64);
        Ok(self.vjp(a, &fw, jv))
    }

    /// Multiplies each trial's frames (`B × F × M`) by its session's scales, if the evaluation
    /// `fw` has an affine map: the scale's part of both the tangent and its transpose.
    fn times_scale(&self, x: &mut Array3<F>, fw: &Forward<F>) {
        if let Some((sc, _)) = &fw.affine {
            for (b, mut trial) in x.axis_iter_mut(Axis(0)).enumerate() {
                let sr = sc.row(self.session[b]);
                for mut row in trial.rows_mut() {
                    row.zip_mut_with(&sr, |v, &s| *v *= s);
                }
            }
        }
    }

    /// `J (δa, δφ)`: the prediction's tangent, `B × F × M`.
    fn jvp(&self, a: ArrayView3<F>, fw: &Forward<F>, da: ArrayView3<F>, dphi: &[F]) -> Array3<F> {
        let m = self.data.dim().2;
        let dtau = (self.n_params() > 0).then_some(dphi);
        // the decay filter's input and its tangent (through the rise filter, if any)
        let (x, dx) = match (self.rise_gamma(), &fw.rise) {
            (Some(gr), Some(r)) => (r.view(), filter(da, &gr)),
            _ => (a, da.to_owned()),
        };
        let dc = match (self.gamma(), &fw.c) {
            (Some(g), Some(c)) => {
                let mut dc = filter(dx.view(), &g);
                if let (Some(dtau), Some(tau)) = (dtau, &self.tau) {
                    // δγ = γ dt/τ² δτ drives the filter with (c_t − x_t) δγ
                    let dg: Vec<F> = (0..m).map(|i| g[i] * self.dt / (tau[i] * tau[i]) * dtau[i]).collect();
                    let drive = gamma_drive(x, c.view(), &dg);
                    dc += &filter_from_zero(drive.view(), &g);
                }
                dc
            }
            _ => dx,
        };
        let mut out = self.frames.read(dc.view());
        if let Some(sl) = &fw.sat_slope {
            out *= sl;
        }
        self.times_scale(&mut out, fw);
        out
    }

    /// `Jᵀ ȳ`: the parts on `a` and on φ of a prediction's cotangent `ȳ` (`B × F × M`).
    fn vjp(&self, a: ArrayView3<F>, fw: &Forward<F>, ybar: Array3<F>) -> (Array3<F>, Vec<F>) {
        let m = self.data.dim().2;
        let mut phi_bar = vec![F::zero(); self.n_params()];
        let mut framed_bar = ybar;
        self.times_scale(&mut framed_bar, fw);
        if let Some(sl) = &fw.sat_slope {
            framed_bar *= sl;
        }
        let c_bar = self.frames.read_t(framed_bar.view());
        let x = fw.rise.as_ref().map_or(a, |r| r.view());
        let x_bar = match (self.gamma(), &fw.c) {
            (Some(g), Some(c)) => {
                let (x_bar, lambda) = filter_t(c_bar.view(), &g);
                if self.fit_tau
                    && let Some(tau) = &self.tau
                {
                    // ∂L/∂γ = Σ_t λ_{t+1} (c_t − x_t), x the decay filter's input; ∂γ/∂τ = γ dt/τ²
                    let (b, t, _) = a.dim();
                    for i in 0..m {
                        let mut gbar = F::zero();
                        for bi in 0..b {
                            for ti in 0..t - 1 {
                                gbar += lambda[(bi, ti + 1, i)] * (c[(bi, ti, i)] - x[(bi, ti, i)]);
                            }
                        }
                        phi_bar[i] = gbar * g[i] * self.dt / (tau[i] * tau[i]);
                    }
                }
                x_bar
            }
            _ => c_bar,
        };
        let a_bar = match self.rise_gamma() {
            Some(gr) => filter_t(x_bar.view(), &gr).0,
            None => x_bar,
        };
        (a_bar, phi_bar)
    }
}

/// Whether a regressor of variance `vx` and mean `mx` varies enough to fit a slope on.
fn regressor_varies(vx: f64, mx: f64) -> bool {
    vx > 1e-12 * (1.0 + mx * mx)
}

/// The indicator filter along time of every trial and column: `c_0 = a_0`,
/// `c_{t+1} = γ c_t + (1 − γ) a_t`.
fn filter<F: Real>(a: ArrayView3<F>, g: &[F]) -> Array3<F> {
    let (b, t, m) = a.dim();
    let mut c = Array3::zeros((b, t, m));
    for bi in 0..b {
        c.slice_mut(s![bi, 0, ..]).assign(&a.slice(s![bi, 0, ..]));
        for ti in 1..t {
            for i in 0..m {
                c[(bi, ti, i)] = g[i] * c[(bi, ti - 1, i)] + (F::one() - g[i]) * a[(bi, ti - 1, i)];
            }
        }
    }
    c
}

/// The filter's response to a drive `d` from rest: `x_0 = 0`, `x_{t+1} = γ x_t + d_t`.
fn filter_from_zero<F: Real>(d: ArrayView3<F>, g: &[F]) -> Array3<F> {
    let (b, t, m) = d.dim();
    let mut x = Array3::zeros((b, t, m));
    for bi in 0..b {
        for ti in 1..t {
            for i in 0..m {
                x[(bi, ti, i)] = g[i] * x[(bi, ti - 1, i)] + d[(bi, ti - 1, i)];
            }
        }
    }
    x
}

/// `(c_t − a_t) δγ` per column: how a change of γ drives the filter.
fn gamma_drive<F: Real>(a: ArrayView3<F>, c: ArrayView3<F>, dg: &[F]) -> Array3<F> {
    let mut d = &c - &a;
    for mut row in d.rows_mut() {
        row.iter_mut().zip(dg).for_each(|(x, &v)| *x *= v);
    }
    d
}

/// The filter's transpose: from `c̄` the adjoint `λ` (`λ_{T−1} = c̄_{T−1}`,
/// `λ_t = c̄_t + γ λ_{t+1}`) and `ā` (`ā_t = (1 − γ) λ_{t+1}` for `t < T − 1`, plus `λ_0` at
/// `t = 0`, from `c_0 = a_0`).
fn filter_t<F: Real>(c_bar: ArrayView3<F>, g: &[F]) -> (Array3<F>, Array3<F>) {
    let (b, t, m) = c_bar.dim();
    let mut lambda = c_bar.to_owned();
    let mut a_bar = Array3::zeros((b, t, m));
    for bi in 0..b {
        for ti in (0..t - 1).rev() {
            for i in 0..m {
                let next = lambda[(bi, ti + 1, i)];
                lambda[(bi, ti, i)] += g[i] * next;
                a_bar[(bi, ti, i)] = (F::one() - g[i]) * next;
            }
        }
        for i in 0..m {
            a_bar[(bi, 0, i)] += lambda[(bi, 0, i)];
        }
    }
    (a_bar, lambda)
}

#[cfg(test)]
mod tests;
