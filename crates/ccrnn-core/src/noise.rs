//! Process noise: one xoshiro256++ random stream per trial, `(seed, trial)`, so that a trial's
//! noise does not depend on how trials are chunked or on the thread count.
//!
//! A single xoshiro256++ stream is a chain of dependent operations (each output waits for the
//! previous state), so the streams of a chunk's trials advance together, [`LANES`] at a time,
//! as independent lanes of the same instructions ([`crate::kernels::xoshiro`]). Each stream is
//! the `rand_xoshiro` generator `Xoshiro256PlusPlus` seeded as before, and its words come out in
//! the same order as that crate's `fill` of a `[u32]` (each 64-bit output split low half
//! first), so the noise is the same number for number (a test holds it so).

use crate::Real;
use crate::kernels::fill_normals;
use crate::kernels::xoshiro::{LANES, advance};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// The noise streams of a chunk of trials, state word `k` of trial `j` at
/// `groups[j / LANES][k][j % LANES]` (the lanes of a group side by side). Groups are padded to whole `LANES` with streams whose
/// output is never used.
#[derive(Debug)]
pub(crate) struct NoiseStreams {
    groups: Vec<[[u64; LANES]; 4]>,
    trials: usize,
    /// Random words of the current step, `trials × words_per_trial` (scratch).
    words: Vec<u32>,
}

/// A copy of the streams' states (what checkpoints keep), without the scratch.
impl Clone for NoiseStreams {
    fn clone(&self) -> Self {
        Self {
            groups: self.groups.clone(),
            trials: self.trials,
            words: Vec::new(),
        }
    }
}

use crate::seeds::splitmix64;

/// The generator of trial `trial` under seed `seed`.
fn trial_rng(seed: u64, trial: usize) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(splitmix64(seed) ^ splitmix64(trial as u64 ^ 0x5851_f42d_4c95_7f2d))
}

impl NoiseStreams {
    /// The streams of trials `first..first + count` under `seed`.
    pub(crate) fn new(seed: u64, first: usize, count: usize) -> Self {
        let mut groups = vec![[[0u64; LANES]; 4]; count.div_ceil(LANES)];
        for j in 0..groups.len() * LANES {
            let state = trial_rng(seed, first + j).state();
            for (k, word) in state.chunks_exact(8).enumerate() {
                groups[j / LANES][k][j % LANES] = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            }
        }
        Self {
            groups,
            trials: count,
            words: Vec::new(),
        }
    }

    /// Draws the random words of one step of `n` neurons for every trial (`2 ⌈n/2⌉` words
    /// each); [`Self::normals`] then turns a trial's into its noise.
    pub(crate) fn draw(&mut self, n: usize) {
        let per = 2 * n.div_ceil(2);
        self.words.resize(self.trials * per, 0);
        for (g, s) in self.groups.iter_mut().enumerate() {
            let lanes = LANES.min(self.trials - g * LANES);
            let words = &mut self.words[g * LANES * per..(g * LANES + lanes) * per];
            advance(s, lanes, per / 2, words);
        }
    }

    /// Trial `j`'s standard normal draws of the step last drawn (`out.len()` = its `n`).
    #[inline(always)]
    pub(crate) fn normals<F: Real>(&self, j: usize, out: &mut [F]) {
        let per = 2 * out.len().div_ceil(2);
        fill_normals(&self.words[j * per..(j + 1) * per], out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// Every trial's draws are those of its own `rand_xoshiro` stream filled into `u32`s, step
    /// after step, for chunk sizes that fill and that do not fill the last group of lanes.
    #[test]
    fn streams_equal_rand_xoshiro_per_trial() {
        for (first, count, n) in [(0, 1, 5), (3, 4, 8), (7, 30, 300), (2, 9, 1)] {
            let mut streams = NoiseStreams::new(11, first, count);
            let mut reference: Vec<_> = (0..count).map(|j| trial_rng(11, first + j)).collect();
            let mut noise = vec![0.0f32; n];
            let mut words = vec![0u32; 2 * n.div_ceil(2)];
            let mut expected = vec![0.0f32; n];
            for _ in 0..3 {
                streams.draw(n);
                for (j, rng) in reference.iter_mut().enumerate() {
                    rng.fill(&mut words[..]);
                    fill_normals(&words, &mut expected);
                    streams.normals(j, &mut noise);
                    assert_eq!(noise, expected, "trial {} of {count}", first + j);
                }
            }
        }
    }
}
