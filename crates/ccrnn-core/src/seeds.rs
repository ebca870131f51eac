//! Every random stream of an experiment, derived from its run seed and named.
//!
//! One run seed (`--seed`, a config's `seed`) drives the teacher, its stimuli, the recording's
//! noise, the students' recorded sets and initial points and the baselines. Each stream has a
//! method here, so that the command line, the library, the sweeps and Python draw the same
//! numbers from the same seed without repeating offsets by hand.
//!
//! The offsets are those ccrnn has always used (`+100` for the teacher's task stimuli, …):
//! results from earlier versions reproduce.

/// The streams of one run seed. `Seeds(s).heldout_stimulus()` is the seed of the held-out
/// stimulus, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seeds(pub u64);

/// Seed offset between replicates (of recorded sets and initial points).
const REPLICATE_STRIDE: u64 = 1_000_003;

impl Seeds {
    /// The run seed itself (the teacher network's, and a fit's minibatches and noise).
    pub fn run(self) -> u64 {
        self.0
    }
    /// The stimuli (task trials) a teacher is trained on.
    pub fn teacher_task(self) -> u64 {
        self.0.wrapping_add(100)
    }
    /// The stimulus the students' recording is made on.
    pub fn train_stimulus(self) -> u64 {
        self.0.wrapping_add(200)
    }
    /// The held-out stimulus students are scored on.
    pub fn heldout_stimulus(self) -> u64 {
        self.0.wrapping_add(300)
    }
    /// A student's initial point (permuted gains and biases).
    pub fn student_init(self) -> u64 {
        self.0.wrapping_add(1)
    }
    /// Which neurons a student is fitted to (a random recorded set, or a random order of the
    /// recorded ones).
    pub fn recorded_set(self) -> u64 {
        self.0.wrapping_add(2)
    }
    /// The noise of the teacher's recorded activity.
    pub fn recording_noise(self) -> u64 {
        self.0 ^ 0xda7a
    }
    /// The label permutations of the shuffle baseline.
    pub fn shuffle(self) -> u64 {
        self.0 ^ 0x5eed
    }
    /// The random weights an unconstrained student starts from.
    pub fn unconstrained_weights(self) -> u64 {
        self.0 ^ 0xc0ec
    }
    /// The `k`-th random recording order (a baseline of the greedy orders).
    pub fn random_order(self, k: u64) -> u64 {
        self.0.wrapping_add(k)
    }
    /// The streams of replicate `r` of a student (its own recorded set and initial point);
    /// replicate 0 is `self`.
    pub fn replicate(self, r: usize) -> Seeds {
        Seeds(self.0.wrapping_add(REPLICATE_STRIDE.wrapping_mul(r as u64)))
    }
    /// A seed named by `label` (FNV-1a of the label, mixed with SplitMix64): stable across
    /// versions, platforms and list order (the seeds of a sweep's tasks).
    pub fn derive(self, label: &str) -> u64 {
        let fnv = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        });
        splitmix64(self.0 ^ splitmix64(fnv))
    }
}

/// SplitMix64 finaliser: a bijective scrambler of 64-bit words.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_keep_the_historical_offsets() {
        let s = Seeds(7);
        assert_eq!(
            [
                s.run(),
                s.student_init(),
                s.recorded_set(),
                s.teacher_task(),
                s.train_stimulus(),
                s.heldout_stimulus()
            ],
            [7, 8, 9, 107, 207, 307]
        );
        assert_eq!(s.recording_noise(), 7 ^ 0xda7a);
        assert_eq!(s.shuffle(), 7 ^ 0x5eed);
        assert_eq!(s.unconstrained_weights(), 7 ^ 0xc0ec);
        assert_eq!(s.replicate(0), s);
        assert_eq!(s.replicate(2).student_init(), 7 + 2 * 1_000_003 + 1);
        assert_eq!(Seeds(u64::MAX).student_init(), 0, "wraps");
        assert_eq!(Seeds(0).derive(""), 0x21fa_69a5_8f3d_62f5);
    }
}
