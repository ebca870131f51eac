//! Memory estimates, checked before anything a configuration, a recipe or a flag can make
//! large is allocated: a network of `n = 10⁹` neurons or a run of 10⁹ trials is refused with
//! the estimate and the machine's memory, instead of aborting in the allocator.
//!
//! The estimates are deliberately coarse (a small multiple of the largest arrays) and are
//! compared with the machine's physical memory, so a refusal means "cannot possibly fit", not
//! "might be tight".

use std::sync::OnceLock;

/// Bytes of one stored number (ccrnn computes in `f32` and `f64`; estimates take the larger).
const NUMBER: f64 = 8.0;

/// Arrays of `B × T × N` numbers that a run holds at once (states, rates, slopes, the saved
/// copy).
const RUN_ARRAYS: f64 = 4.0;

/// Arrays of `N × N` numbers that a network holds at once (mask, weights, their transpose,
/// gradient and optimiser moments).
const NETWORK_ARRAYS: f64 = 8.0;

/// The physical memory of this machine in bytes (`MemTotal` of `/proc/meminfo`), or `None`
/// where that cannot be read.
pub fn machine_bytes() -> Option<u64> {
    static TOTAL: OnceLock<Option<u64>> = OnceLock::new();
    *TOTAL.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kib.checked_mul(1024)
    })
}

/// Estimated bytes of a run of `trials × steps` time steps of `n` neurons.
pub fn run_bytes(trials: usize, steps: usize, n: usize) -> f64 {
    trials as f64 * steps as f64 * n as f64 * NUMBER * RUN_ARRAYS
}

/// Estimated bytes of a dense network of `n` neurons and what fitting it holds.
pub fn network_bytes(n: usize) -> f64 {
    n as f64 * n as f64 * NUMBER * NETWORK_ARRAYS
}

/// `bytes` in the largest unit that keeps the number ≥ 1 (`"3.2 TB"`, `"512 MB"`).
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut x = bytes;
    let mut unit = 0;
    while x >= 1000.0 && unit + 1 < UNITS.len() {
        x /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{x:.0} B")
    } else if x >= 1000.0 {
        format!("{x:.2e} {}", UNITS[unit])
    } else {
        format!("{x:.1} {}", UNITS[unit])
    }
}

/// `None` if an allocation of about `bytes` can fit in this machine's memory; otherwise the
/// reason, stating the estimate and the machine's memory. Where the machine's memory is
/// unknown, anything above 2⁶⁴ bytes is refused.
pub fn over_budget(bytes: f64) -> Option<String> {
    let limit = machine_bytes().map(|b| b as f64).unwrap_or(u64::MAX as f64);
    (bytes.is_nan() || bytes > limit).then(|| {
        format!(
            "needs about {} of memory (estimate), more than this machine's {}",
            human(bytes),
            human(limit)
        )
    })
}

/// [`over_budget`] for a run of `trials × steps × n` ([`run_bytes`]), phrased for a message
/// that names the fields: `"1000000000 trials × 400 steps × 300 neurons needs about …"`.
pub fn run_over_budget(trials: usize, steps: usize, n: usize) -> Option<String> {
    over_budget(run_bytes(trials, steps, n)).map(|r| format!("{trials} trials × {steps} steps × {n} neurons {r}"))
}

/// [`over_budget`] for a network of `n` neurons ([`network_bytes`]).
pub fn network_over_budget(n: usize) -> Option<String> {
    over_budget(network_bytes(n)).map(|r| format!("a network of {n} neurons {r}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_refuse_what_cannot_fit_and_pass_the_papers_sizes() {
        assert!(network_over_budget(1000).is_none());
        assert!(run_over_budget(60, 400, 1000).is_none());
        let r = network_over_budget(1_000_000_000).unwrap();
        assert!(r.contains("64.0 EB") && r.contains("this machine's"), "{r}");
        let r = run_over_budget(1_000_000_000, 400, 300).unwrap();
        assert!(
            r.starts_with("1000000000 trials × 400 steps × 300 neurons needs about 3.8 PB"),
            "{r}"
        );
        assert!(over_budget(f64::NAN).is_some());
        assert_eq!(human(512.0), "512 B");
        assert_eq!(human(2.5e9), "2.5 GB");
    }
}
