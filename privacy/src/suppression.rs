//! Primary small-cell suppression for published rates.

/// Whether a cell's figures may be published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellStatus {
    Published,
    Suppressed,
}

impl CellStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CellStatus::Published => "published",
            CellStatus::Suppressed => "suppressed",
        }
    }
}

/// The minimum-cell-size rule of a release.
///
/// A rate cell is suppressed when its denominator, its numerator, or the count it implies by
/// subtraction (denominator − numerator: those *without* the outcome) is below the minimum.
/// The last test goes beyond "numerator or denominator": 98 of 100 employed discloses the 2 who
/// were not. Complementary suppression across cells is a later stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuppressionRule {
    pub min_cell_size: u64,
}

impl Default for SuppressionRule {
    fn default() -> Self {
        SuppressionRule { min_cell_size: 10 }
    }
}

impl SuppressionRule {
    pub fn rate_cell(&self, denominator: u64, numerator: u64) -> CellStatus {
        let n = self.min_cell_size;
        let complement = denominator.saturating_sub(numerator);
        if denominator < n || numerator < n || complement < n {
            CellStatus::Suppressed
        } else {
            CellStatus::Published
        }
    }

    /// A statistic (such as a median) computed over `count` people.
    pub fn statistic_cell(&self, count: u64) -> CellStatus {
        if count < self.min_cell_size {
            CellStatus::Suppressed
        } else {
            CellStatus::Published
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CellStatus::*;

    #[test]
    fn boundaries_at_the_minimum() {
        let r = SuppressionRule::default();
        assert_eq!(r.rate_cell(9, 0), Suppressed);
        assert_eq!(r.rate_cell(30, 9), Suppressed);
        assert_eq!(r.rate_cell(30, 10), Published);
        assert_eq!(r.rate_cell(20, 10), Published);
        assert_eq!(r.rate_cell(20, 11), Suppressed, "9 without the outcome");
        assert_eq!(r.statistic_cell(9), Suppressed);
        assert_eq!(r.statistic_cell(10), Published);
    }
}
