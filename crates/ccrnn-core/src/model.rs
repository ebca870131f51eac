//! The rate network of SCIENCE.md §2 and its parameter vector θ.
//!
//! With presynaptic gain (the paper's main model, the default):
//!
//! ```text
//! r_t = φ_β(h_t + b),  a_t = g⁺ ⊙ r_t,
//! h_{t+1} = h_t + (dt/τ) ⊙ (−h_t + W a_t + u_t W_in) + σ ξ_t,   y_t = a_t W_out
//! ```
//!
//! With postsynaptic gain (the larval variant: gain on the input, bias as an additive current):
//!
//! ```text
//! a_t = r_t = φ_β(h_t),
//! h_{t+1} = h_t + (dt/τ) ⊙ (−h_t + g⁺ ⊙ (W a_t + u_t W_in) + b) + σ ξ_t,   y_t = a_t W_out
//! ```

use crate::coupling::{Backend, Connectivity, Coupling, project_dale};
use crate::error::{check_finite, check_shape};
use crate::params::{Beta, GroupSet, NeuronParams, ParamGroup};
use crate::{Activation, Error, GapJunctions, Real, Result};
use ndarray::{Array1, Array2};

/// Where the gain acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GainPlacement {
    /// On the presynaptic activity, `a = g⁺ ⊙ φ(h + b)` (the paper's main model).
    #[default]
    Presynaptic,
    /// On the postsynaptic input, with the bias as an additive current (larval variant).
    Postsynaptic,
}

/// Lower bounds kept by [`Model::project_theta`] so that a training step cannot leave the
/// model's domain: τ ≥ `dt` (Euler step α = dt/τ ≤ 1) and β ≥ 1e-3.
pub const BETA_MIN: f64 = 1e-3;

/// A connectome-constrained rate network.
#[derive(Debug, Clone)]
pub struct Model<F: Real> {
    /// Recurrent connectivity `W[post, pre]` (a backend).
    pub coupling: Box<dyn Coupling<F>>,
    /// Sign of each presynaptic neuron: +1 E, −1 I, 0 unconstrained.
    pub signs: Vec<i8>,
    /// Single-neuron parameters.
    pub params: NeuronParams<F>,
    /// Nonlinearity φ.
    pub activation: Activation,
    /// Where the gain acts.
    pub gain: GainPlacement,
    /// Input weights, `n_in × N`.
    pub w_in: Array2<F>,
    /// Readout weights, `N × n_out`.
    pub w_out: Array2<F>,
    /// Euler time step (same units as τ).
    pub dt: F,
    /// Gap junctions (electrical coupling), if any: the term `−L h` of the state update.
    pub gap: Option<GapJunctions<F>>,
}

impl<F: Real> Model<F> {
    /// Builds and validates a model.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        conn: &Connectivity<F>,
        backend: Backend,
        params: NeuronParams<F>,
        activation: Activation,
        gain: GainPlacement,
        w_in: Array2<F>,
        w_out: Array2<F>,
        dt: F,
    ) -> Result<Self> {
        conn.validate()?;
        let m = Self {
            coupling: conn.build(backend),
            signs: conn.signs.clone(),
            params,
            activation,
            gain,
            w_in,
            w_out,
            dt,
            gap: None,
        };
        m.validate()?;
        Ok(m)
    }

    /// A builder with the paper's defaults: dense backend, softplus, presynaptic gain,
    /// default neuron parameters (g = 1, b = 0, τ = 1, β = 1, h0 = 0), no input, no readout,
    /// dt = 0.05.
    pub fn builder(conn: Connectivity<F>) -> ModelBuilder<F> {
        ModelBuilder {
            conn,
            backend: Backend::Dense,
            params: None,
            activation: Activation::Softplus,
            gain: GainPlacement::Presynaptic,
            w_in: None,
            w_out: None,
            dt: F::lit(0.05),
            gap: None,
        }
    }

    /// Number of neurons N.
    pub fn n(&self) -> usize {
        self.coupling.pattern().n()
    }
    /// Number of input channels.
    pub fn n_in(&self) -> usize {
        self.w_in.nrows()
    }
    /// Number of readout channels.
    pub fn n_out(&self) -> usize {
        self.w_out.ncols()
    }

    /// Checks every shape and value; errors name the field.
    pub fn validate(&self) -> Result<()> {
        let n = self.n();
        if n == 0 {
            return Err(Error::invalid("W", "0 neurons: a model needs at least one"));
        }
        if !(self.dt > F::zero() && self.dt.is_finite()) {
            return Err(Error::invalid("dt", format!("= {}: must be > 0", self.dt)));
        }
        self.params.validate(n)?;
        check_shape("W_in", &[self.w_in.nrows(), n], self.w_in.shape())?;
        check_shape("W_out", &[n, self.w_out.ncols()], self.w_out.shape())?;
        check_finite("W_in", self.w_in.iter())?;
        check_finite("W_out", self.w_out.iter())?;
        if self.signs.len() != n {
            return Err(Error::shape("signs", &[n], &[self.signs.len()]));
        }
        if let Some(g) = &self.gap
            && g.n() != n
        {
            return Err(Error::shape("gap junctions", &[n], &[g.n()]));
        }
        Ok(())
    }

    /// The connectivity as plain data.
    pub fn connectivity(&self) -> Connectivity<F> {
        Connectivity {
            pattern: self.coupling.pattern().clone(),
            values: self.coupling.values(),
            signs: self.signs.clone(),
        }
    }

    /// The same model on another coupling backend.
    pub fn with_backend(&self, backend: Backend) -> Self {
        let mut m = self.clone();
        m.coupling = self.connectivity().build(backend);
        m
    }

    /// The same model in another float type (the backend is kept).
    pub fn cast<G: Real>(&self) -> Model<G> {
        let c = |v: &Array1<F>| v.mapv(|x| G::lit(x.as_f64()));
        let p = &self.params;
        Model {
            coupling: self.connectivity().cast::<G>().build(self.coupling.backend()),
            signs: self.signs.clone(),
            params: NeuronParams {
                g: c(&p.g),
                b: c(&p.b),
                tau: c(&p.tau),
                beta: match &p.beta {
                    Beta::Global(b) => Beta::Global(G::lit(b.as_f64())),
                    Beta::PerNeuron(v) => Beta::PerNeuron(c(v)),
                },
                h0: c(&p.h0),
            },
            activation: self.activation,
            gain: self.gain,
            w_in: self.w_in.mapv(|x| G::lit(x.as_f64())),
            w_out: self.w_out.mapv(|x| G::lit(x.as_f64())),
            dt: G::lit(self.dt.as_f64()),
            gap: self.gap.as_ref().map(GapJunctions::cast),
        }
    }

    /// The same network with neurons relabelled: new neuron `perm[i]` is old neuron `i`.
    /// Simulating it gives the same activity with permuted columns. `perm` must be a
    /// permutation of `0..N`.
    pub fn permuted(&self, perm: &[usize]) -> Result<Self> {
        let n = self.n();
        let mut seen = vec![false; n];
        if perm.len() != n || perm.iter().any(|&p| p >= n || std::mem::replace(&mut seen[p], true)) {
            return Err(Error::invalid("perm", format!("must be a permutation of 0..{n}")));
        }
        let conn = self.connectivity();
        let (pattern, src) = conn.pattern.permuted(perm);
        let mut signs = vec![0i8; n];
        for (i, &pi) in perm.iter().enumerate() {
            signs[pi] = conn.signs[i];
        }
        let values: Vec<F> = src.iter().map(|&k| conn.values[k]).collect();
        let mut w_in = self.w_in.clone();
        let mut w_out = self.w_out.clone();
        for (i, &pi) in perm.iter().enumerate() {
            w_in.column_mut(pi).assign(&self.w_in.column(i));
            w_out.row_mut(pi).assign(&self.w_out.row(i));
        }
        Ok(Model {
            coupling: Connectivity {
                pattern,
                values,
                signs: signs.clone(),
            }
            .build(self.coupling.backend()),
            signs,
            params: self.params.permuted(perm),
            activation: self.activation,
            gain: self.gain,
            w_in,
            w_out,
            dt: self.dt,
            gap: self.gap.as_ref().map(|g| g.permuted(perm)).transpose()?,
        })
    }

    /// Number of values group `g` contributes to θ.
    pub fn group_len(&self, g: ParamGroup) -> usize {
        let n = self.n();
        match g {
            ParamGroup::Gain | ParamGroup::Bias | ParamGroup::Tau | ParamGroup::H0 => n,
            ParamGroup::Beta => self.params.beta.len(),
            ParamGroup::WOut => self.w_out.len(),
            ParamGroup::W => self.coupling.pattern().nnz(),
        }
    }

    /// Length of θ for the given groups.
    pub fn theta_len(&self, groups: GroupSet) -> usize {
        groups.groups().into_iter().map(|g| self.group_len(g)).sum()
    }

    /// The parameter vector θ of the given groups, laid out in [`ParamGroup::ALL`] order.
    pub fn theta(&self, groups: GroupSet) -> Vec<F> {
        let mut v = Vec::with_capacity(self.theta_len(groups));
        for g in groups.groups() {
            match g {
                ParamGroup::Gain => v.extend(self.params.g.iter()),
                ParamGroup::Bias => v.extend(self.params.b.iter()),
                ParamGroup::Tau => v.extend(self.params.tau.iter()),
                ParamGroup::Beta => v.extend(self.params.beta.to_vec()),
                ParamGroup::H0 => v.extend(self.params.h0.iter()),
                ParamGroup::WOut => v.extend(self.w_out.iter()),
                ParamGroup::W => v.extend(self.coupling.values()),
            }
        }
        v
    }

    /// Writes θ back into the model. Rejects a wrong length, a non-finite value, τ ≤ 0, β ≤ 0
    /// or a weight of the wrong sign, naming the group and index; the model is unchanged then.
    pub fn set_theta(&mut self, groups: GroupSet, theta: &[F]) -> Result<()> {
        let len = self.theta_len(groups);
        if theta.len() != len {
            return Err(Error::shape("theta", &[len], &[theta.len()]));
        }
        // every group is checked before anything changes (no copy of the coupling: only the
        // O(N) parameters are staged)
        let mut params = self.params.clone();
        let (mut w, mut w_out) = (None, None);
        let mut off = 0;
        for g in groups.groups() {
            let k = self.group_len(g);
            let s = &theta[off..off + k];
            check_finite(g.name(), s.iter())?;
            match g {
                ParamGroup::Gain => params.g = Array1::from(s.to_vec()),
                ParamGroup::Bias => params.b = Array1::from(s.to_vec()),
                ParamGroup::Tau => params.tau = Array1::from(s.to_vec()),
                ParamGroup::Beta => {
                    params.beta = match &self.params.beta {
                        Beta::Global(_) => Beta::Global(s[0]),
                        Beta::PerNeuron(_) => Beta::PerNeuron(Array1::from(s.to_vec())),
                    }
                }
                ParamGroup::H0 => params.h0 = Array1::from(s.to_vec()),
                ParamGroup::WOut => w_out = Some(s),
                ParamGroup::W => {
                    crate::coupling::check_values(self.coupling.pattern(), s, &self.signs)?;
                    w = Some(s);
                }
            }
            off += k;
        }
        params.validate(self.n())?;
        self.params = params;
        if let Some(s) = w_out {
            self.w_out.iter_mut().zip(s).for_each(|(w, &x)| *w = x);
        }
        if let Some(s) = w {
            self.coupling.set_values(s);
        }
        Ok(())
    }

    /// Projects θ back onto the model's domain after an optimiser step: wrong-sign weights are
    /// set to 0 (Dale's law, as in the paper), gains are kept ≥ 0, τ is raised to at least `dt` and β to at least
    /// [`BETA_MIN`].
    pub fn project_theta(&self, groups: GroupSet, theta: &mut [F]) {
        let mut off = 0;
        for g in groups.groups() {
            let k = self.group_len(g);
            let s = &mut theta[off..off + k];
            match g {
                // g < 0 acts as g⁺ = 0 but has no gradient: kept at ≥ 0 instead, where the
                // right derivative lets a silenced neuron's gain grow again.
                ParamGroup::Gain => s.iter_mut().for_each(|g| *g = g.max(F::zero())),
                ParamGroup::Tau => s.iter_mut().for_each(|t| *t = t.max(self.dt)),
                ParamGroup::Beta => s.iter_mut().for_each(|b| *b = b.max(F::lit(BETA_MIN))),
                ParamGroup::W => project_dale(self.coupling.pattern(), &self.signs, s),
                _ => {}
            }
            off += k;
        }
    }
}

/// Builds a [`Model`] from its connectivity, with defaults for everything else
/// (see [`Model::builder`]).
#[derive(Debug, Clone)]
pub struct ModelBuilder<F> {
    conn: Connectivity<F>,
    backend: Backend,
    params: Option<NeuronParams<F>>,
    activation: Activation,
    gain: GainPlacement,
    w_in: Option<Array2<F>>,
    w_out: Option<Array2<F>>,
    dt: F,
    gap: Option<GapJunctions<F>>,
}

impl<F: Real> ModelBuilder<F> {
    /// Coupling backend.
    pub fn backend(mut self, b: Backend) -> Self {
        self.backend = b;
        self
    }
    /// Single-neuron parameters.
    pub fn params(mut self, p: NeuronParams<F>) -> Self {
        self.params = Some(p);
        self
    }
    /// Nonlinearity.
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    /// Gain placement.
    pub fn gain(mut self, g: GainPlacement) -> Self {
        self.gain = g;
        self
    }
    /// Input weights, `n_in × N`.
    pub fn w_in(mut self, w: Array2<F>) -> Self {
        self.w_in = Some(w);
        self
    }
    /// Readout weights, `N × n_out`.
    pub fn w_out(mut self, w: Array2<F>) -> Self {
        self.w_out = Some(w);
        self
    }
    /// Euler time step.
    pub fn dt(mut self, dt: F) -> Self {
        self.dt = dt;
        self
    }
    /// Gap junctions (electrical coupling).
    pub fn gap_junctions(mut self, g: Option<GapJunctions<F>>) -> Self {
        self.gap = g;
        self
    }
    /// Validates and builds the model.
    pub fn build(self) -> Result<Model<F>> {
        let n = self.conn.pattern.n();
        let gap = self.gap;
        let mut m = Model::new(
            &self.conn,
            self.backend,
            self.params.unwrap_or_else(|| NeuronParams::default_for(n)),
            self.activation,
            self.gain,
            self.w_in.unwrap_or_else(|| Array2::zeros((0, n))),
            self.w_out.unwrap_or_else(|| Array2::zeros((n, 0))),
            self.dt,
        )?;
        m.gap = gap;
        m.validate()?;
        Ok(m)
    }
}
