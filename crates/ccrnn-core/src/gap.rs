//! Gap junctions: symmetric electrical coupling between neurons, an optional term of the model.
//!
//! With conductances `G` (symmetric, zero diagonal, ≥ 0) the current into neuron `i` is
//! `Σ_j G_ij (h_j − h_i) = −(L h)_i`, `L = D − G`, `D = diag(Σ_j G_ij)` (the graph Laplacian),
//! so that the state update becomes
//!
//! ```text
//! h_{t+1} = h_t + (dt/τ) ⊙ (−h_t − L h_t + …chemical and input terms…)
//! ```
//!
//! The conductances are fixed (not part of θ): an electrical synapse count times one scale.

use crate::{Error, Pattern, Real, Result};
use ndarray::{ArrayView2, ArrayViewMut2};

/// Symmetric conductances on a sparse pattern, with their row sums.
#[derive(Debug, Clone, PartialEq)]
pub struct GapJunctions<F> {
    pattern: Pattern,
    values: Vec<F>,
    degree: Vec<F>,
}

impl<F: Real> GapJunctions<F> {
    /// Conductances over `n` neurons from `(i, j, g)` pairs: every pair couples `i` and `j`
    /// both ways with conductance `g` (pairs listed in both directions are averaged, so a
    /// symmetric list keeps its values; repeated pairs add up). Self-pairs are ignored. Fails
    /// on an index out of range or a conductance that is negative or not finite.
    pub fn from_pairs(n: usize, pairs: &[(usize, usize, f64)]) -> Result<Self> {
        let mut dir = std::collections::BTreeMap::<(usize, usize), f64>::new();
        for &(i, j, g) in pairs {
            if i >= n || j >= n {
                return Err(Error::invalid(
                    "gap junctions",
                    format!("pair ({i}, {j}) is not in 0..{n}"),
                ));
            }
            if !(g.is_finite() && g >= 0.0) {
                return Err(Error::invalid(
                    "gap junctions",
                    format!("pair ({i}, {j}): conductance {g} must be >= 0"),
                ));
            }
            if i != j && g > 0.0 {
                *dir.entry((i, j)).or_default() += g;
            }
        }
        // G_ij = (c_ij + c_ji) / 2 when both directions are listed, else the one given.
        let mut sym = std::collections::BTreeMap::<(usize, usize), f64>::new();
        for (&(i, j), &g) in &dir {
            let v = match dir.get(&(j, i)) {
                Some(&back) => 0.5 * (g + back),
                None => g,
            };
            sym.insert((i, j), v);
            sym.insert((j, i), v);
        }
        let mut row_ptr = vec![0usize; n + 1];
        let mut col = Vec::with_capacity(sym.len());
        let mut values = Vec::with_capacity(sym.len());
        let mut degree = vec![0.0f64; n];
        for (&(i, j), &g) in &sym {
            row_ptr[i + 1] += 1;
            col.push(j as u32);
            values.push(F::lit(g));
            degree[i] += g;
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        Ok(Self {
            pattern: Pattern::new(n, row_ptr, col)?,
            values,
            degree: degree.into_iter().map(F::lit).collect(),
        })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.pattern.n()
    }

    /// The coupled pairs `(i, j, G_ij)`, both directions, row-major.
    pub fn pairs(&self) -> Vec<(usize, usize, f64)> {
        let (rp, col) = (self.pattern.row_ptr(), self.pattern.col());
        (0..self.n())
            .flat_map(|i| (rp[i]..rp[i + 1]).map(move |e| (i, col[e] as usize, e)))
            .map(|(i, j, e)| (i, j, self.values[e].as_f64()))
            .collect()
    }

    /// Number of coupled (unordered) pairs.
    pub fn junctions(&self) -> usize {
        self.values.len() / 2
    }

    /// `out[r, i] = (L x_r)_i = D_i x[r, i] − Σ_j G_ij x[r, j]` for every row `r` of `x`.
    pub fn laplacian(&self, x: ArrayView2<F>, mut out: ArrayViewMut2<F>) {
        let (rp, col) = (self.pattern.row_ptr(), self.pattern.col());
        for (xr, mut or) in x.rows().into_iter().zip(out.rows_mut()) {
            for i in 0..self.n() {
                let mut s = self.degree[i] * xr[i];
                for e in rp[i]..rp[i + 1] {
                    s -= self.values[e] * xr[col[e] as usize];
                }
                or[i] = s;
            }
        }
    }

    /// The same conductances in another float type.
    pub fn cast<G: Real>(&self) -> GapJunctions<G> {
        GapJunctions {
            pattern: self.pattern.clone(),
            values: self.values.iter().map(|v| G::lit(v.as_f64())).collect(),
            degree: self.degree.iter().map(|v| G::lit(v.as_f64())).collect(),
        }
    }

    /// Relabelled neurons: new neuron `perm[i]` is old neuron `i`.
    pub fn permuted(&self, perm: &[usize]) -> Result<Self> {
        let pairs: Vec<_> = self
            .pairs()
            .into_iter()
            .map(|(i, j, g)| (perm[i], perm[j], g))
            .collect();
        Self::from_pairs(self.n(), &pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn laplacian_of_a_chain_and_symmetrisation() {
        // 0 — 1 listed both ways (2 and 4 → 3), 1 — 2 once (1), a self-pair ignored.
        let g = GapJunctions::<f64>::from_pairs(3, &[(0, 1, 2.0), (1, 0, 4.0), (2, 1, 1.0), (2, 2, 5.0)]).unwrap();
        assert_eq!(g.junctions(), 2);
        let x = array![[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]];
        let mut out = Array2::zeros((2, 3));
        g.laplacian(x.view(), out.view_mut());
        assert_eq!(out.row(0).to_vec(), vec![3.0, -3.0, 0.0]);
        assert_eq!(
            out.row(1).to_vec(),
            vec![0.0, 0.0, 0.0],
            "L 1 = 0: no current between equal states"
        );
        assert!(GapJunctions::<f64>::from_pairs(3, &[(0, 3, 1.0)]).is_err());
        assert!(GapJunctions::<f64>::from_pairs(3, &[(0, 1, -1.0)]).is_err());
    }
}
