//! Single-neuron parameters and the layout of the trainable parameter vector θ.

use crate::error::check_finite;
use crate::{Error, Real, Result};
use ndarray::Array1;

/// Softplus smoothness β: one value for the whole network (the paper) or one per neuron.
#[derive(Debug, Clone, PartialEq)]
pub enum Beta<F> {
    /// One β shared by all neurons.
    Global(F),
    /// One β per neuron (length `N`).
    PerNeuron(Array1<F>),
}

impl<F: Real> Beta<F> {
    /// β of neuron `i`.
    #[inline(always)]
    pub fn of(&self, i: usize) -> F {
        match self {
            Beta::Global(b) => *b,
            Beta::PerNeuron(v) => v[i],
        }
    }
    /// Number of free values (1 or `N`).
    pub fn len(&self) -> usize {
        match self {
            Beta::Global(_) => 1,
            Beta::PerNeuron(v) => v.len(),
        }
    }
    /// True if it holds no value (an empty per-neuron vector).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The free values as a slice-like vector.
    pub fn to_vec(&self) -> Vec<F> {
        match self {
            Beta::Global(b) => vec![*b],
            Beta::PerNeuron(v) => v.to_vec(),
        }
    }
}

/// Per-neuron parameters (all vectors of length `N`).
///
/// * `g`: gain; the model uses the rectified gain g⁺ = max(g, 0).
/// * `b`: bias (threshold shift in the presynaptic-gain model, additive current in the
///   postsynaptic-gain model).
/// * `tau`: time constant, in the same time units as `dt` (> 0).
/// * `beta`: softplus smoothness (> 0).
/// * `h0`: initial state, shared by all trials unless a stimulus overrides it.
#[derive(Debug, Clone, PartialEq)]
pub struct NeuronParams<F> {
    /// Gains.
    pub g: Array1<F>,
    /// Biases.
    pub b: Array1<F>,
    /// Time constants.
    pub tau: Array1<F>,
    /// Softplus smoothness.
    pub beta: Beta<F>,
    /// Initial state.
    pub h0: Array1<F>,
}

impl<F: Real> NeuronParams<F> {
    /// Gains 1, biases 0, τ = 1, β = 1 (global), h0 = 0.
    pub fn default_for(n: usize) -> Self {
        Self {
            g: Array1::ones(n),
            b: Array1::zeros(n),
            tau: Array1::ones(n),
            beta: Beta::Global(F::one()),
            h0: Array1::zeros(n),
        }
    }

    /// Checks lengths, finiteness, τ > 0 and β > 0, naming the first bad element.
    pub fn validate(&self, n: usize) -> Result<()> {
        for (name, v) in [("g", &self.g), ("b", &self.b), ("tau", &self.tau), ("h0", &self.h0)] {
            if v.len() != n {
                return Err(Error::shape(name, &[n], &[v.len()]));
            }
            check_finite(name, v.iter())?;
        }
        if let Some(i) = self.tau.iter().position(|&t| t <= F::zero()) {
            return Err(Error::invalid(
                format!("tau[{i}]"),
                format!("= {}: must be > 0", self.tau[i]),
            ));
        }
        let betas = self.beta.to_vec();
        if let Beta::PerNeuron(v) = &self.beta
            && v.len() != n
        {
            return Err(Error::shape("beta", &[n], &[v.len()]));
        }
        check_finite("beta", betas.iter())?;
        if let Some(i) = betas.iter().position(|&b| b <= F::zero()) {
            return Err(Error::invalid(
                format!("beta[{i}]"),
                format!("= {}: must be > 0", betas[i]),
            ));
        }
        Ok(())
    }

    /// The same parameters with neurons relabelled: new neuron `perm[i]` is old neuron `i`.
    pub fn permuted(&self, perm: &[usize]) -> Self {
        let p = |v: &Array1<F>| {
            let mut out = v.clone();
            for (i, &pi) in perm.iter().enumerate() {
                out[pi] = v[i];
            }
            out
        };
        Self {
            g: p(&self.g),
            b: p(&self.b),
            tau: p(&self.tau),
            beta: match &self.beta {
                Beta::Global(b) => Beta::Global(*b),
                Beta::PerNeuron(v) => Beta::PerNeuron(p(v)),
            },
            h0: p(&self.h0),
        }
    }
}

/// A trainable parameter group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamGroup {
    /// Gains g (N values).
    Gain,
    /// Biases b (N values).
    Bias,
    /// Time constants τ (N values).
    Tau,
    /// Softplus smoothness β (1 or N values).
    Beta,
    /// Initial state h0 (N values).
    H0,
    /// Readout weights W_out (N × n_out values, row-major).
    WOut,
    /// Recurrent weights: the pattern's entries, canonical order (nnz values).
    W,
}

impl ParamGroup {
    /// All groups, in the order they are laid out in θ.
    pub const ALL: [ParamGroup; 7] = [
        ParamGroup::Gain,
        ParamGroup::Bias,
        ParamGroup::Tau,
        ParamGroup::Beta,
        ParamGroup::H0,
        ParamGroup::WOut,
        ParamGroup::W,
    ];

    /// Short lower-case name (`g`, `b`, `tau`, `beta`, `h0`, `w_out`, `w`).
    pub fn name(self) -> &'static str {
        match self {
            ParamGroup::Gain => "g",
            ParamGroup::Bias => "b",
            ParamGroup::Tau => "tau",
            ParamGroup::Beta => "beta",
            ParamGroup::H0 => "h0",
            ParamGroup::WOut => "w_out",
            ParamGroup::W => "w",
        }
    }

    /// Parses a name given by [`ParamGroup::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.name() == s)
    }
}

/// A parameter-group name that is none of [`ParamGroup::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown group {0:?} (expected one of g, b, tau, beta, h0, w_out, w)")]
pub struct UnknownGroup(pub String);

impl std::str::FromStr for ParamGroup {
    type Err = UnknownGroup;
    /// The group of a name (surrounding spaces ignored), or which names there are.
    fn from_str(s: &str) -> std::result::Result<Self, UnknownGroup> {
        Self::from_name(s.trim()).ok_or_else(|| UnknownGroup(s.to_string()))
    }
}

/// A set of trainable groups; the others are frozen. θ lays out the chosen groups in the order
/// of [`ParamGroup::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GroupSet(u8);

impl GroupSet {
    /// No group (everything frozen).
    pub const NONE: GroupSet = GroupSet(0);

    /// The set of the given groups.
    pub fn of(groups: &[ParamGroup]) -> Self {
        let mut s = Self::NONE;
        for &g in groups {
            s = s.with(g);
        }
        s
    }
    /// The set of the named groups (the one parser of group names: configurations, the command
    /// line and Python all use it).
    pub fn parse<S: AsRef<str>>(names: &[S]) -> std::result::Result<Self, UnknownGroup> {
        names
            .iter()
            .try_fold(Self::NONE, |set, n| Ok(set.with(n.as_ref().parse()?)))
    }
    /// This set plus `g`.
    pub fn with(self, g: ParamGroup) -> Self {
        GroupSet(self.0 | (1 << g as u8))
    }
    /// This set minus `g`.
    pub fn without(self, g: ParamGroup) -> Self {
        GroupSet(self.0 & !(1 << g as u8))
    }
    /// True when `g` is trainable.
    pub fn contains(self, g: ParamGroup) -> bool {
        self.0 & (1 << g as u8) != 0
    }
    /// The groups, in θ order.
    pub fn groups(self) -> Vec<ParamGroup> {
        ParamGroup::ALL.into_iter().filter(|&g| self.contains(g)).collect()
    }
}
