//! Choosing the match threshold from the scores themselves.
//!
//! One-to-one linkage gives a record at most one true partner, so every candidate of a record
//! other than its best is a stranger: the **second-best** scores sample how close a record's
//! nearest stranger comes. The threshold is the score that minimises the expected errors: the
//! strangers it would accept (weighted [`FALSE_MATCH_COST`]) plus the matches it would leave
//! (see [`fit_threshold`]). This needs no shape for the match population, which is a spike of
//! identical records plus a tail of typos, missing fields and swapped dates (a two-normal
//! mixture fitted by EM, the valley of the score histogram and a fixed 1% quantile of the
//! nearest strangers were tried first: the first two cut inside that tail, the valley moved
//! with the key, and the quantile cost 19 points of recall on FEBRL4).
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

/// A false link puts one person's outcomes on another and is worse than a missed one, which
/// only leaves a person unlinked; the threshold weighs it this many times.
pub const FALSE_MATCH_COST: f64 = 3.0;

/// Used when the scores cannot be fitted; a conservative cut: a birth date in full agreement and
/// a name in clearly more than strangers' (see [`super::SEGMENTS`]).
pub const FALLBACK_THRESHOLD: f64 = 20.0;

/// How far below the cut a best score still counts toward the missed-match estimate: about one
/// given name's worth of evidence, the usual distance of a true pair with one field wrong.
pub const MISSED_BAND: f64 = 6.0;

/// `best[i]`: each record's best score; `second[j]`: each record's second-best, a sample of
/// how close a record's nearest stranger comes (a slight underestimate for records without a
/// partner, whose best is already a stranger).
///
/// With S(t) the share of nearest strangers scoring t or more and U the number of records
/// whose best candidate is a stranger, a cut at t accepts about U·S(t) strangers and leaves
/// about (records with best below t) − U·(1 − S(t)) matches behind. U is estimated where
/// matches are rare: below the strangers' median, U ≈ 2 × (records whose best is below it).
/// The threshold minimises the errors, a false match counting [`FALSE_MATCH_COST`] missed ones.
pub fn fit_threshold(best: &[f64], second: &[f64]) -> ThresholdFit {
    let mut strangers = second.to_vec();
    strangers.sort_by(f64::total_cmp);
    if strangers.len() < 20 {
        return estimate(FALLBACK_THRESHOLD, "fallback", best, &strangers);
    }
    let mut sorted_best = best.to_vec();
    sorted_best.sort_by(f64::total_cmp);
    let n = strangers.len() as f64;
    let share_at_least =
        |t: f64| (strangers.len() - strangers.partition_point(|&s| s < t)) as f64 / n;
    let median = strangers[strangers.len() / 2];
    let below_median = sorted_best.partition_point(|&s| s < median) as f64;
    let unpartnered = (2.0 * below_median).min(best.len() as f64);
    let mut threshold = f64::INFINITY;
    let mut least = f64::MAX;
    // The errors change only at an observed score: try every one from the strangers' median
    // up, and one above them all (accept nothing); on a tie, the higher cut.
    let mut cuts: Vec<f64> = sorted_best
        .iter()
        .chain(&strangers)
        .copied()
        .filter(|&s| s >= median)
        .collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let above_all = cuts.last().map_or(median, |&m| m + 1.0);
    for t in cuts.into_iter().chain(std::iter::once(above_all)) {
        let s_t = share_at_least(t);
        let below = sorted_best.partition_point(|&s| s < t) as f64;
        let errors =
            FALSE_MATCH_COST * unpartnered * s_t + (below - unpartnered * (1.0 - s_t)).max(0.0);
        if errors <= least {
            least = errors;
            threshold = t;
        }
    }
    estimate(threshold, "nearest_stranger", best, &strangers)
}

/// The fit's figures for a given threshold (also for a configured one).
pub fn estimate(
    threshold: f64,
    method: &'static str,
    best: &[f64],
    sorted_strangers: &[f64],
) -> ThresholdFit {
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
    let band = MISSED_BAND;
    let in_band = best
        .iter()
        .filter(|&&s| s < threshold && s >= threshold - band)
        .count() as f64;
    let stranger_in_band =
        (share_at_least(threshold - band) - share_at_least(threshold)) * unpartnered;
    let missed = (in_band - stranger_in_band).max(0.0);
    let matches = (accepted - false_accepted).max(0.0) + missed;
    ThresholdFit {
        threshold,
        method,
        records: best.len(),
        stranger_sample: sorted_strangers.len(),
        est_false_match_rate: if accepted > 0.0 {
            false_accepted / accepted
        } else {
            0.0
        },
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
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    s += (state >> 11) as f64 / (1u64 << 53) as f64;
                }
                mean + sd * (s - 6.0)
            })
            .collect()
    }

    #[test]
    fn the_cut_lies_above_nearly_all_nearest_strangers_and_below_the_matches() {
        // 2,000 records with a partner (scores near 28) and 1,000 without, whose best is their
        // nearest stranger, drawn like the stranger sample.
        let mut best = normals(2_000, 28.0, 2.0, 1);
        best.extend(normals(1_000, 8.0, 3.0, 2));
        let second = normals(2_000, 8.0, 3.0, 3);
        let fit = fit_threshold(&best, &second);
        assert_eq!(fit.method, "nearest_stranger");
        let above = second.iter().filter(|&&s| s >= fit.threshold).count();
        assert!(above <= 20, "{above} strangers above {fit:?}");
        assert!(fit.threshold > 14.0 && fit.threshold < 22.0, "{fit:?}");
        assert!(fit.est_false_match_rate < 0.01, "{fit:?}");
        assert!(fit.est_missed_match_rate < 0.03, "{fit:?}");
        // A cut well inside the matches is estimated to miss many.
        let high = estimate(28.0, "configured", &best, &{
            let mut s = second.clone();
            s.sort_by(f64::total_cmp);
            s
        });
        assert!(high.est_missed_match_rate > 0.3, "{high:?}");
    }

    #[test]
    fn without_a_stranger_sample_the_fallback_is_used_and_said() {
        let fit = fit_threshold(&[25.0; 50], &[8.0; 5]);
        assert_eq!(
            (fit.method, fit.threshold),
            ("fallback", FALLBACK_THRESHOLD)
        );
    }
}
