//! Process noise: one xoshiro256++ random stream per trial, `(seed, trial)`, so that a trial's
//! noise does not depend on how trials are chunked or on the thread count.
//!
//! A single xoshiro256++ stream is a chain of dependent operations (each output waits for the
//! previous state), so the streams of a chunk's trials advance together, [`LANES`] at a time,
//! as independent lanes of the same instructions. Each stream is the `rand_xoshiro` generator
//! `Xoshiro256PlusPlus` seeded as before, and its words come out in the same order as that
//! crate's `fill` of a `[u32]` (each 64-bit output split low half first), so the noise is the
//! same number for number (a test holds it so).

use crate::Real;
use crate::kernels::fill_normals;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Streams advanced together.
const LANES: usize = 4;

/// The noise streams of a chunk of trials, state word `k` of trial `j` at `s[j / LANES][k][j % LANES]`
/// (the lanes of a group side by side). Groups are padded to whole `LANES` with streams whose
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

/// SplitMix64 finaliser: a bijective scrambler of 64-bit words.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

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
    pub(crate) fn normals<F: Real>(&self, j: usize, out: &mut [F]) {
        let per = 2 * out.len().div_ceil(2);
        fill_normals(&self.words[j * per..(j + 1) * per], out);
    }
}

/// `outputs` steps of xoshiro256++ on the `LANES` streams of `s` at once; the outputs of the
/// first `lanes` streams go to `words` (stream after stream, `2 · outputs` words each, low half
/// of each output first). AVX2 when the build has it (the default build does), else scalar.
#[inline]
fn advance(s: &mut [[u64; LANES]; 4], lanes: usize, outputs: usize, words: &mut [u32]) {
    assert!(
        lanes <= LANES && words.len() >= lanes * 2 * outputs,
        "advance: words too short"
    );
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
    // SAFETY: AVX2 is enabled at compile time (the cfg above).
    unsafe {
        avx2::advance(s, lanes, outputs, words)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    scalar_advance(s, lanes, outputs, words)
}

/// [`advance`], one lane after another.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "avx2"), allow(dead_code))]
fn scalar_advance(s: &mut [[u64; LANES]; 4], lanes: usize, outputs: usize, words: &mut [u32]) {
    let per = 2 * outputs;
    for l in 0..lanes {
        let [mut s0, mut s1, mut s2, mut s3] = [s[0][l], s[1][l], s[2][l], s[3][l]];
        for pair in words[l * per..(l + 1) * per].chunks_exact_mut(2) {
            let x = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
            let t = s1 << 17;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = s3.rotate_left(45);
            pair[0] = x as u32;
            pair[1] = (x >> 32) as u32;
        }
        [s[0][l], s[1][l], s[2][l], s[3][l]] = [s0, s1, s2, s3];
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "avx2"))]
mod avx2 {
    use super::LANES;
    use std::arch::x86_64::*;

    /// The streams' states, one register per state word (a lane per stream).
    struct State([__m256i; 4]);

    impl State {
        /// One xoshiro256++ step of the four streams: their outputs.
        #[inline]
        #[target_feature(enable = "avx2")]
        fn next(&mut self) -> __m256i {
            let [s0, s1, s2, s3] = self.0;
            let sum = _mm256_add_epi64(s0, s3);
            let rot = _mm256_or_si256(_mm256_slli_epi64::<23>(sum), _mm256_srli_epi64::<41>(sum));
            let out = _mm256_add_epi64(rot, s0);
            let t = _mm256_slli_epi64::<17>(s1);
            let s2 = _mm256_xor_si256(s2, s0);
            let s3 = _mm256_xor_si256(s3, s1);
            let s1 = _mm256_xor_si256(s1, s2);
            let s0 = _mm256_xor_si256(s0, s3);
            let s2 = _mm256_xor_si256(s2, t);
            let s3 = _mm256_or_si256(_mm256_slli_epi64::<45>(s3), _mm256_srli_epi64::<19>(s3));
            self.0 = [s0, s1, s2, s3];
            out
        }
    }

    /// See [`super::advance`]. Four steps at a time: their outputs, one register per step, are
    /// transposed to one register per stream and stored as 8 consecutive words of its row.
    #[target_feature(enable = "avx2")]
    pub(super) fn advance(s: &mut [[u64; LANES]; 4], lanes: usize, outputs: usize, words: &mut [u32]) {
        const { assert!(LANES == 4) };
        // SAFETY: each `[u64; 4]` is 32 bytes, read unaligned.
        let mut st = State(std::array::from_fn(|k| unsafe {
            _mm256_loadu_si256(s[k].as_ptr().cast())
        }));
        let per = 2 * outputs;
        let mut w = 0;
        while w + 4 <= outputs {
            let o = [st.next(), st.next(), st.next(), st.next()];
            let lo01 = _mm256_unpacklo_epi64(o[0], o[1]);
            let hi01 = _mm256_unpackhi_epi64(o[0], o[1]);
            let lo23 = _mm256_unpacklo_epi64(o[2], o[3]);
            let hi23 = _mm256_unpackhi_epi64(o[2], o[3]);
            let rows = [
                _mm256_permute2x128_si256::<0x20>(lo01, lo23),
                _mm256_permute2x128_si256::<0x20>(hi01, hi23),
                _mm256_permute2x128_si256::<0x31>(lo01, lo23),
                _mm256_permute2x128_si256::<0x31>(hi01, hi23),
            ];
            for (l, row) in rows.iter().enumerate().take(lanes) {
                let dst = &mut words[l * per + 2 * w..l * per + 2 * w + 8];
                // SAFETY: `dst` is 8 `u32`s = 32 bytes, written unaligned.
                unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), *row) };
            }
            w += 4;
        }
        while w < outputs {
            let mut out = [0u64; 4];
            // SAFETY: `out` is 32 bytes, written unaligned.
            unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), st.next()) };
            for (l, &x) in out.iter().enumerate().take(lanes) {
                words[l * per + 2 * w] = x as u32;
                words[l * per + 2 * w + 1] = (x >> 32) as u32;
            }
            w += 1;
        }
        for (k, word) in st.0.iter().enumerate() {
            // SAFETY: as the loads.
            unsafe { _mm256_storeu_si256(s[k].as_mut_ptr().cast(), *word) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// The vector and the scalar stepping agree (the scalar one serves builds without AVX2).
    #[test]
    fn vector_and_scalar_steps_agree() {
        let streams = NoiseStreams::new(5, 0, LANES);
        for lanes in 1..=LANES {
            for outputs in [0, 1, 3, 4, 5, 9] {
                let (mut a, mut b) = (streams.groups[0], streams.groups[0]);
                let (mut wa, mut wb) = (vec![0u32; lanes * 2 * outputs], vec![0u32; lanes * 2 * outputs]);
                advance(&mut a, lanes, outputs, &mut wa);
                scalar_advance(&mut b, lanes, outputs, &mut wb);
                assert_eq!(wa, wb, "{lanes} lanes, {outputs} outputs");
                for l in 0..lanes {
                    assert_eq!(a.map(|k| k[l]), b.map(|k| k[l]), "state of lane {l}");
                }
            }
        }
    }

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
