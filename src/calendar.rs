//! Calendar months, the model's unit of time.
//!
//! A `Month` is a count of months since year 0, so arithmetic is integer
//! arithmetic and ordering is chronological. It parses and prints as `YYYY-MM`.

use serde::{Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        if (1..=12).contains(&month) && (1900..=2500).contains(&year) { Some(Month(year * 12 + month as i32 - 1)) } else { None }
    }

    /// Parses `YYYY-MM`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())) {
            return None;
        }
        Month::new(y.parse().ok()?, m.parse().ok()?)
    }

    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    pub fn month_of_year(self) -> u32 {
        (self.0.rem_euclid(12) + 1) as u32
    }

    pub fn plus(self, months: i32) -> Month {
        Month(self.0 + months)
    }

    /// Months from `earlier` to `self` (negative if `self` is earlier).
    pub fn since(self, earlier: Month) -> i32 {
        self.0 - earlier.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month_of_year())
    }
}

impl Serialize for Month {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_counts() {
        let m = Month::parse("2024-09").unwrap();
        assert_eq!(m.to_string(), "2024-09");
        assert_eq!(m.plus(4).to_string(), "2025-01");
        assert_eq!(m.plus(-9).to_string(), "2023-12");
        assert_eq!(m.plus(12).since(m), 12);
        assert!(Month::parse("2024-13").is_none());
        assert!(Month::parse("2024-9").is_none());
        assert!(Month::parse("24-09").is_none());
        assert!(Month::parse("").is_none());
        assert!(Month::parse("2024-+2").is_none());
        assert!(Month::parse("+024-02").is_none());
    }
}
