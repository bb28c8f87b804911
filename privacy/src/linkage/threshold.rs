//! Choosing the match threshold from the scores themselves.
//!
//! One-to-one linkage gives a record at most one true partner, so every candidate of a record
//! other than its best is a stranger: the **second-best** scores sample how close a record's
//! nearest stranger comes. The threshold is the score that only a small share
//! ([`STRANGER_SHARE`]) of those nearest strangers reach. This needs no shape for the match
//! population, which is a spike of identical records plus a tail of typos, missing fields and
//! swapped dates (a two-normal mixture fitted by EM, and then the valley of the score
//! histogram, were tried first: both cut inside that tail, and the valley moved with the key).
//! The same sample estimates how many accepted pairs are strangers and how many records' best
//! scores below the cut are more than strangers explain (missed matches). With no second-best
//! scores (every block a single pair) the fallback threshold is used, and said.

use serde::Serialize;

/// The threshold used and what the fit says about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdFit {
    pub threshold: f64,
    /// `nearest_stranger` (fitted), `configured` (given by the caller) or `fallback`.
    pub method: &'static str,
    /// Records with at least one candidate, and with a second one (the stranger sample).
    pub records: usize,
    pub stranger_sample: usize,
    /// Estimated share of accepted pairs that are strangers.
    pub est_false_match_rate: f64,
    /// Estimated share of true matches whose score falls below the threshold.
    pub est_missed_match_rate: f64,
}

/// Used when the scores cannot be fitted; a conservative cut for balanced 2,048-bit encodings.
pub const FALLBACK_THRESHOLD: f64 = 0.85;

/// The share of nearest strangers allowed to reach the threshold.
pub const STRANGER_SHARE: f64 = 0.01;

/// `best[i]` and `second[j]`: each record's best score, and the second-best of those that have
/// one.
pub fn fit_threshold(best: &[f64], second: &[f64]) -> ThresholdFit {
    let mut strangers = second.to_vec();
    strangers.sort_by(f64::total_cmp);
    if strangers.len() < 20 {
        return estimate(FALLBACK_THRESHOLD, "fallback", best, &strangers);
    }
    // The smallest score above which at most STRANGER_SHARE of the sample lies.
    let keep = ((strangers.len() as f64) * STRANGER_SHARE).floor() as usize;
    let threshold = strangers[strangers.len() - 1 - keep.min(strangers.len() - 1)] + 1e-9;
    estimate(threshold, "nearest_stranger", best, &strangers)
}

/// The fit's figures for a given threshold (also for a configured one).
pub fn estimate(threshold: f64, method: &'static str, best: &[f64], sorted_strangers: &[f64]) -> ThresholdFit {
    let share_at_least = |t: f64| {
        if sorted_strangers.is_empty() {
            return 0.0;
        }
        let below = sorted_strangers.partition_point(|&s| s < t);
        (sorted_strangers.len() - below) as f64 / sorted_strangers.len() as f64
    };
    let accepted = best.iter().filter(|&&s| s >= threshold).count() as f64;
    // Records without a partner are those whose best is a stranger: about the records not
    // accepted, plus the strangers among the accepted.
    let unpartnered = best.len() as f64 - accepted;
    let false_accepted = share_at_least(threshold) * unpartnered;
    // Below the cut, best scores in excess of what the strangers explain are missed matches.
    let band = 0.15;
    let in_band = best.iter().filter(|&&s| s < threshold && s >= threshold - band).count() as f64;
    let stranger_in_band = (share_at_least(threshold - band) - share_at_least(threshold)) * unpartnered;
    let missed = (in_band - stranger_in_band).max(0.0);
    let matches = (accepted - false_accepted).max(0.0) + missed;
    ThresholdFit {
        threshold,
        method,
        records: best.len(),
        stranger_sample: sorted_strangers.len(),
        est_false_match_rate: if accepted > 0.0 { false_accepted / accepted } else { 0.0 },
        est_missed_match_rate: if matches > 0.0 { missed / matches } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normals(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                // Sum of 12 uniforms minus 6: close enough to a standard normal here.
                let mut s = 0.0;
                for _ in 0..12 {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    s += (state >> 11) as f64 / (1u64 << 53) as f64;
                }
                mean + sd * (s - 6.0)
            })
            .collect()
    }

    #[test]
    fn the_cut_lies_above_nearly_all_nearest_strangers_and_below_the_matches() {
        // 2,000 records with a partner (scores near 0.95) and 1,000 without (near 0.75); every
        // record's second-best is a stranger.
        let mut best = normals(2_000, 0.95, 0.02, 1);
        best.extend(normals(1_000, 0.75, 0.03, 2));
        let second = normals(3_000, 0.72, 0.03, 3);
        let fit = fit_threshold(&best, &second);
        assert_eq!(fit.method, "nearest_stranger");
        let above = second.iter().filter(|&&s| s >= fit.threshold).count();
        assert!(above <= (3_000.0 * STRANGER_SHARE) as usize, "{above} strangers above {fit:?}");
        assert!(fit.threshold > 0.78 && fit.threshold < 0.86, "{fit:?}");
        assert!(fit.est_false_match_rate < 0.01, "{fit:?}");
        assert!(fit.est_missed_match_rate < 0.01, "{fit:?}");
        // A cut well inside the matches is estimated to miss many.
        let high = estimate(0.95, "configured", &best, &{ let mut s = second.clone(); s.sort_by(f64::total_cmp); s });
        assert!(high.est_missed_match_rate > 0.3, "{high:?}");
    }

    #[test]
    fn without_a_stranger_sample_the_fallback_is_used_and_said() {
        let fit = fit_threshold(&[0.9; 50], &[0.7; 5]);
        assert_eq!((fit.method, fit.threshold), ("fallback", FALLBACK_THRESHOLD));
    }
}
