//! What a simulation stores: the trajectory arrays, which of them a run keeps for all steps,
//! and the row layout the time loops address them by.
//!
//! [`simulate`](fn@crate::simulate) keeps everything. A fit keeps only what backpropagation of
//! its trained groups reads (see [`arrays_for_grad`](crate::grad::arrays_for_grad)): the usual student (presynaptic gains and biases) keeps
//! two of the five `B × T × N` arrays, which saves memory and the time of writing and reading
//! the other three. Arrays not kept live in a one- or two-step ring while the loop runs.

use crate::error::check_shape;
use crate::{Error, GainPlacement, GroupSet, Model, ParamGroup, Real, Result, Target};
use ndarray::{Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, ShapeBuilder};
use std::ops::Range;

/// Everything a batch of trials did, all `B × T × ·`.
///
/// From [`simulate`](fn@crate::simulate) every array is filled. A trajectory left by
/// [`crate::loss_and_grad`] holds only what the gradient needed; the other arrays are empty
/// (`0 × 0 × 0`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trajectory<F> {
    /// State h, `B × T × N`.
    pub h: Array3<F>,
    /// Activity a (what a recording sees), `B × T × N`.
    pub a: Array3<F>,
    /// Synaptic plus external input `z_t = W a_t + u_t W_in`, `B × T × N` (last step zero).
    pub z: Array3<F>,
    /// Rate φ(x_t) (x_t = h_t + b with presynaptic gain, h_t otherwise), `B × T × N`.
    pub phi: Array3<F>,
    /// Slope φ′(x_t), `B × T × N` (kept for the backward pass).
    pub dphi: Array3<F>,
    /// Readout y, `B × T × n_out` (empty when `a` is).
    pub y: Array3<F>,
}

/// One thing for each of the five per-step arrays of a simulation (`h`, `a`, `z`, `phi`,
/// `dphi`): whether it is stored ([`Keep`]), the array, its views, its trial chunks. The time
/// loops handle the five alike through `map` and `zip`, so that adding or dropping one is a
/// change in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Steps<T> {
    pub h: T,
    pub a: T,
    pub z: T,
    pub phi: T,
    pub dphi: T,
}

impl<T> Steps<T> {
    /// The arrays' names, in the order of [`Steps::into_array`].
    pub const NAMES: [&'static str; 5] = ["h", "a", "z", "phi", "dphi"];

    /// The same value for each.
    pub const fn splat(x: T) -> Self
    where
        T: Copy,
    {
        Steps {
            h: x,
            a: x,
            z: x,
            phi: x,
            dphi: x,
        }
    }
    /// The five in the order h, a, z, phi, dphi.
    pub fn into_array(self) -> [T; 5] {
        [self.h, self.a, self.z, self.phi, self.dphi]
    }
    /// `f` applied to each.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Steps<U> {
        Steps {
            h: f(self.h),
            a: f(self.a),
            z: f(self.z),
            phi: f(self.phi),
            dphi: f(self.dphi),
        }
    }
    /// References to each.
    pub fn as_ref(&self) -> Steps<&T> {
        let Steps { h, a, z, phi, dphi } = self;
        Steps { h, a, z, phi, dphi }
    }
    /// Mutable references to each.
    pub fn as_mut(&mut self) -> Steps<&mut T> {
        let Steps { h, a, z, phi, dphi } = self;
        Steps { h, a, z, phi, dphi }
    }
    /// Each paired with its counterpart in `other`.
    pub fn zip<U>(self, other: Steps<U>) -> Steps<(T, U)> {
        Steps {
            h: (self.h, other.h),
            a: (self.a, other.a),
            z: (self.z, other.z),
            phi: (self.phi, other.phi),
            dphi: (self.dphi, other.dphi),
        }
    }
}

impl<T> Steps<Vec<T>> {
    /// Five lists of equal length (each array's chunks) as one list of five (each chunk's
    /// arrays).
    pub fn transpose(self) -> Vec<Steps<T>> {
        let len = self.h.len();
        let mut it = self.map(|v| {
            debug_assert_eq!(v.len(), len, "every array has one entry per chunk");
            v.into_iter()
        });
        (0..len)
            .map(|_| it.as_mut().map(|i| i.next().expect("equal lengths")))
            .collect()
    }
}

impl<F> Trajectory<F> {
    /// The five per-step arrays.
    pub(crate) fn steps(&self) -> Steps<&Array3<F>> {
        let Trajectory { h, a, z, phi, dphi, .. } = self;
        Steps { h, a, z, phi, dphi }
    }
    /// The five per-step arrays, mutable.
    pub(crate) fn steps_mut(&mut self) -> Steps<&mut Array3<F>> {
        let Trajectory { h, a, z, phi, dphi, .. } = self;
        Steps { h, a, z, phi, dphi }
    }
}

/// Which of the five per-step arrays a simulation stores for every step.
pub(crate) type Keep = Steps<bool>;

impl Keep {
    /// Every array.
    pub const ALL: Keep = Steps::splat(true);

    /// What backpropagation of `groups` reads from the stored trajectory.
    pub fn for_grad<F: Real>(model: &Model<F>, groups: GroupSet) -> Self {
        let has = |g| groups.contains(g);
        let pre = model.gain == GainPlacement::Presynaptic;
        let beta = has(ParamGroup::Beta) && model.activation.uses_beta();
        Steps {
            h: has(ParamGroup::Tau) || beta,
            a: has(ParamGroup::W) || has(ParamGroup::WOut),
            z: has(ParamGroup::Tau) || (!pre && has(ParamGroup::Gain)),
            phi: beta || (pre && has(ParamGroup::Gain)),
            dphi: true,
        }
    }

    /// What evaluating the loss on `target` and backpropagating it reads: a loss on the readout
    /// `y = a W_out` needs every `a` besides.
    pub fn for_loss_and_grad<F: Real>(model: &Model<F>, groups: GroupSet, target: &Target<F>) -> Self {
        let mut keep = Self::for_grad(model, groups);
        keep.a |= matches!(target, Target::Readout { .. });
        keep
    }

    /// How many arrays are kept.
    pub fn count(self) -> usize {
        self.into_array().into_iter().filter(|&k| k).count()
    }

    /// Checks that `traj` stores these arrays, all `B × T × N` with `(B, T, N)` taken from
    /// `dphi`, which every trajectory keeps; returns `(B, T, N)`.
    pub fn check<F>(self, traj: &Trajectory<F>, n: usize) -> Result<(usize, usize, usize)> {
        let (b, t, nn) = traj.dphi.dim();
        check_shape("trajectory.dphi", &[b, t, n], &[b, t, nn])?;
        let arrays = self.zip(traj.steps()).into_array();
        for ((kept, arr), name) in arrays.into_iter().zip(Steps::<()>::NAMES) {
            if kept && arr.dim() != (b, t, n) {
                return Err(if arr.is_empty() {
                    Error::invalid(
                        "trajectory",
                        format!("`{name}` was not stored by this simulation and this gradient needs it"),
                    )
                } else {
                    Error::shape(format!("trajectory.{name}"), &[b, t, n], arr.shape())
                });
            }
        }
        Ok((b, t, n))
    }
}

/// Per-chunk views of a `B × T × N` array in chunks of `cs` trials, or empty views when the
/// array is not stored (empty).
pub(crate) fn chunk_views<F>(x: &Array3<F>, b: usize, cs: usize) -> Vec<ArrayView3<'_, F>> {
    if x.is_empty() {
        let empty = ArrayView3::from_shape((0, 0, 0), &[][..]).expect("empty view");
        vec![empty; b.div_ceil(cs)]
    } else {
        x.axis_chunks_iter(Axis(0), cs).collect()
    }
}

/// Mutable views of one chunk's five per-step arrays, each `Bc × R × N` and contiguous: `R`
/// is the number of steps for a stored array, 1 or 2 for a ring (see [`RowsMut`]).
pub(crate) type ChunkMut<'a, F> = Steps<ArrayViewMut3<'a, F>>;

/// One per-step array of a chunk of `Bc` trials, flat `Bc × R × N`: the row of trial `j` at
/// step `t` is row `t mod R` of the trial. With `R` = the number of steps every step is
/// stored; with `R` = 1 or 2 the array is a ring holding the last one or two steps.
pub(crate) struct RowsMut<'a, F> {
    data: &'a mut [F],
    r: usize,
    n: usize,
}

impl<'a, F> RowsMut<'a, F> {
    /// The rows of a contiguous `Bc × R × N` view.
    pub fn of(v: ArrayViewMut3<'a, F>) -> Self {
        let (_, r, n) = v.dim();
        let data = v
            .into_slice()
            .expect("trial chunks of a standard-layout array are contiguous");
        Self { data, r, n }
    }
    /// The index range of row `(j, t)`.
    #[inline]
    pub fn at(&self, j: usize, t: usize) -> Range<usize> {
        let o = (j * self.r + t % self.r) * self.n;
        o..o + self.n
    }
    /// Row `(j, t)`.
    #[inline]
    pub fn row(&self, j: usize, t: usize) -> &[F] {
        &self.data[self.at(j, t)]
    }
    /// Row `(j, t)`, mutable.
    #[inline]
    pub fn row_mut(&mut self, j: usize, t: usize) -> &mut [F] {
        let r = self.at(j, t);
        &mut self.data[r]
    }
    /// Number of trials `Bc`.
    pub fn trials(&self) -> usize {
        self.data.len() / (self.r * self.n).max(1)
    }
    /// Row `t` of every trial, in trial order (read).
    pub fn rows(&self, t: usize) -> impl Iterator<Item = &[F]> {
        let (r, n) = (self.r, self.n);
        self.data.chunks(r * n).map(move |x| &x[(t % r) * n..(t % r + 1) * n])
    }
    /// Row `t` of every trial, in trial order, mutable.
    pub fn rows_mut(&mut self, t: usize) -> impl Iterator<Item = &mut [F]> {
        let (r, n) = (self.r, self.n);
        self.data
            .chunks_mut(r * n)
            .map(move |x| &mut x[(t % r) * n..(t % r + 1) * n])
    }
    /// Rows `t` (read) and `t + 1` (written) of every trial, in trial order (`R ≥ 2`).
    pub fn now_next_rows(&mut self, t: usize) -> impl Iterator<Item = (&[F], &mut [F])> {
        let (r, n) = (self.r, self.n);
        debug_assert!(r >= 2, "a ring of one row cannot hold two steps");
        let (now, next) = ((t % r) * n, ((t + 1) % r) * n);
        self.data.chunks_mut(r * n).map(move |x| {
            if now < next {
                let (lo, hi) = x.split_at_mut(next);
                (&lo[now..now + n], &mut hi[..n])
            } else {
                let (lo, hi) = x.split_at_mut(now);
                (&hi[..n], &mut lo[next..next + n])
            }
        })
    }
    /// Rows `(j, t)` for all `j`, as a `Bc × N` matrix view.
    pub fn block(&self, bc: usize, t: usize) -> ArrayView2<'_, F> {
        step_rows(self.data, bc, self.r, self.n, t % self.r)
    }
    /// Rows `(j, t)` for all `j`, mutable.
    pub fn block_mut(&mut self, bc: usize, t: usize) -> ArrayViewMut2<'_, F> {
        let (r, n) = (self.r, self.n);
        ArrayViewMut2::from_shape((bc, n).strides((r * n, 1)), &mut self.data[(t % r) * n..])
            .expect("row block in bounds")
    }
}

/// Rows `(j, t)` for all `j` of a contiguous `Bc × R × N` block, as a `Bc × N` matrix view.
pub(crate) fn step_rows<F>(flat: &[F], bc: usize, rows: usize, n: usize, t: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((bc, n).strides((rows * n, 1)), &flat[t * n..]).expect("row block in bounds")
}
