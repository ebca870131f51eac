//! xoshiro256++ stepped on several independent streams at once: the lanes of one vector
//! register (AVX2) on CPUs that have it (checked at run time), one stream after another
//! otherwise. The generator is
//! Blackman and Vigna's, as `rand_xoshiro` implements it (see [`crate::noise`]).

/// Streams advanced together.
pub(crate) const LANES: usize = 4;

/// `outputs` steps of xoshiro256++ on the `LANES` streams of `s` at once; the outputs of the
/// first `lanes` streams go to `words` (stream after stream, `2 · outputs` words each, low half
/// of each output first). AVX2 where the CPU has it, else scalar: the same words either way.
#[inline]
pub(crate) fn advance(s: &mut [[u64; LANES]; 4], lanes: usize, outputs: usize, words: &mut [u32]) {
    assert!(
        lanes <= LANES && words.len() >= lanes * 2 * outputs,
        "advance: words too short"
    );
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2_fma() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::advance(s, lanes, outputs, words) };
    }
    scalar_advance(s, lanes, outputs, words)
}

/// [`advance`], one lane after another.
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

#[cfg(target_arch = "x86_64")]
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

    /// The vector and the scalar stepping agree (the scalar one serves builds without AVX2).
    #[test]
    fn vector_and_scalar_steps_agree() {
        let start: [[u64; LANES]; 4] = std::array::from_fn(|k| {
            std::array::from_fn(|l| 0x9e37_79b9_7f4a_7c15u64.wrapping_mul((4 * k + l + 1) as u64))
        });
        for lanes in 1..=LANES {
            for outputs in [0, 1, 3, 4, 5, 9] {
                let (mut a, mut b) = (start, start);
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
}
