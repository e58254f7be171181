//! `BUCKET(field, buckets, from, to)`: the bucket size Elasticsearch picks
//! from a target count of buckets and a range, so that the four-argument
//! form becomes the two-argument one (`BUCKET(field, span)`).
//!
//! Dates (Elasticsearch's `Bucket.DateRoundingPicker`, in UTC): of the fixed
//! sizes from a day down to a millisecond, the finest that covers `from..to`
//! in at most `buckets` steps (found by the same binary search); else the
//! first of a week, a month or a year that does; else a year. Numbers: the
//! range over the count, up to the next power of ten or half of it.

use chrono::{Datelike, NaiveDate};

use super::ast::Expr;

const MS: i64 = 1;
const SECOND: i64 = 1_000 * MS;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;

/// Fixed sizes in milliseconds, coarsest first (Elasticsearch's
/// `PRIMARY_UNITS`; a day is a calendar day, the same in UTC).
const PRIMARY: [i64; 16] = [
    DAY,
    12 * HOUR,
    3 * HOUR,
    HOUR,
    30 * MINUTE,
    10 * MINUTE,
    5 * MINUTE,
    MINUTE,
    30 * SECOND,
    10 * SECOND,
    5 * SECOND,
    SECOND,
    100 * MS,
    50 * MS,
    10 * MS,
    MS,
];

/// Calendar sizes tried when even a day is too fine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Calendar {
    Week,
    Month,
    Year,
}

/// A bucket size: fixed (milliseconds) or calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    Fixed(i64),
    Calendar(Calendar),
}

impl Size {
    /// The start of the bucket holding `t` (milliseconds since the epoch).
    fn round(self, t: i64) -> i64 {
        match self {
            Size::Fixed(size) => t.div_euclid(size) * size,
            // ISO weeks from Monday; 1970-01-01 was a Thursday.
            Size::Calendar(Calendar::Week) => (t + 3 * DAY).div_euclid(WEEK) * WEEK - 3 * DAY,
            Size::Calendar(unit) => {
                let date = date_of(t);
                let month = if unit == Calendar::Month {
                    date.month()
                } else {
                    1
                };
                NaiveDate::from_ymd_opt(date.year(), month, 1).map_or(t, millis_of)
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    fn next(self, start: i64) -> i64 {
        match self {
            Size::Fixed(size) => start.saturating_add(size),
            Size::Calendar(Calendar::Week) => start.saturating_add(WEEK),
            Size::Calendar(unit) => {
                let date = date_of(start);
                let months = if unit == Calendar::Month { 1 } else { 12 };
                date.checked_add_months(chrono::Months::new(months))
                    .map_or(i64::MAX, millis_of)
            }
        }
    }

    /// Whether buckets of this size cover `from..to` in at most `buckets`
    /// steps from the bucket holding `from`.
    fn fits(self, buckets: i64, from: i64, to: i64) -> bool {
        let start = self.round(from);
        let fixed = match self {
            Size::Fixed(size) => Some(size),
            Size::Calendar(Calendar::Week) => Some(WEEK),
            Size::Calendar(_) => None,
        };
        if let Some(size) = fixed {
            // Counted, not stepped: a count of billions would take as long.
            let needed = (i128::from(to) - i128::from(start)).max(1);
            let steps = (needed + i128::from(size) - 1) / i128::from(size);
            return buckets >= 1 && steps <= i128::from(buckets);
        }
        // Months and years: at most some 120,000 steps between any two
        // dates, however large the count.
        let mut bucket = start;
        for _ in 0..buckets.max(0) {
            bucket = self.next(bucket);
            if bucket >= to {
                return true;
            }
        }
        false
    }

    /// As a span of the translation.
    fn expr(self) -> Expr {
        match self {
            Size::Fixed(ms) => Expr::Span(ms * 1_000_000),
            Size::Calendar(Calendar::Week) => Expr::Span(WEEK * 1_000_000),
            Size::Calendar(Calendar::Month) => Expr::Calendar(1, "month"),
            Size::Calendar(Calendar::Year) => Expr::Calendar(1, "year"),
        }
    }
}

fn date_of(ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(ms).map_or(NaiveDate::MIN, |t| t.date_naive())
}

fn millis_of(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(i64::MAX, |t| t.and_utc().timestamp_millis())
}

/// The span Elasticsearch picks for `buckets` buckets over `from..to`
/// (milliseconds since the epoch).
pub(super) fn date_span(buckets: i64, from: i64, to: i64) -> Expr {
    // The finest fixed size that fits, by Elasticsearch's binary search.
    let (mut low, mut high) = (0_i64, PRIMARY.len() as i64 - 1);
    let mut best = None;
    while low <= high {
        let mid = i64::midpoint(low, high);
        let size = Size::Fixed(PRIMARY[mid as usize]);
        if size.fits(buckets, from, to) {
            best = Some(size);
            low = mid + 1;
        } else {
            high = mid - 1;
        }
    }
    let size = best.unwrap_or_else(|| {
        [Calendar::Week, Calendar::Month, Calendar::Year]
            .into_iter()
            .map(Size::Calendar)
            .find(|size| size.fits(buckets, from, to))
            .unwrap_or(Size::Calendar(Calendar::Year))
    });
    size.expr()
}

/// The bucket width Elasticsearch picks for `buckets` buckets over
/// `from..to`: the range over the count, rounded up to the next power of
/// ten, or to half of it where that is enough.
pub(super) fn number_span(buckets: i64, from: f64, to: f64) -> f64 {
    let precise = (to - from) / buckets as f64;
    let next_power_of_ten = 10f64.powf(precise.log10().ceil());
    let half = next_power_of_ten / 2.0;
    if precise < half {
        half
    } else {
        next_power_of_ten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(date: &str) -> i64 {
        lakehunt_udfs::esql_parse::parse_iso(date).expect("a date")
    }

    #[test]
    fn dates_get_the_finest_size_that_fits() {
        // Elastic's function reference: at most 20 buckets over 1985 are
        // months, at most 100 weeks, 25 over a day hours.
        let (y0, y1) = (ms("1985-01-01T00:00:00Z"), ms("1986-01-01T00:00:00Z"));
        assert_eq!(date_span(20, y0, y1), Expr::Calendar(1, "month"));
        assert_eq!(date_span(100, y0, y1), Expr::Span(WEEK * 1_000_000));
        assert_eq!(
            date_span(25, ms("2023-02-01"), ms("2023-02-02")),
            Expr::Span(HOUR * 1_000_000)
        );
        // 12 buckets of a year: 12 months (1985-01 ... 1986-01 in 12 steps).
        assert_eq!(date_span(12, y0, y1), Expr::Calendar(1, "month"));
        // 11 are too few for months: a year.
        assert_eq!(date_span(11, y0, y1), Expr::Calendar(1, "year"));
        // Two days in three buckets: days (12 hours would need four).
        assert_eq!(
            date_span(3, ms("2023-02-01"), ms("2023-02-03")),
            Expr::Span(DAY * 1_000_000)
        );
        // A second in 10 buckets: 100 ms.
        assert_eq!(
            date_span(10, ms("2023-02-01T00:00:00Z"), ms("2023-02-01T00:00:01Z")),
            Expr::Span(100 * MS * 1_000_000)
        );
    }

    #[test]
    fn a_huge_count_is_counted_not_stepped() {
        // 130 years (4.1e12 ms) in at most 2e9 buckets: 1 s would need
        // 4.1e9, 5 s 8.2e8. Stepping would take minutes.
        assert_eq!(
            date_span(2_000_000_000, ms("1970-01-01"), ms("2100-01-01")),
            Expr::Span(5 * SECOND * 1_000_000)
        );
        // No buckets: nothing fits, a year as Elasticsearch falls back to.
        assert_eq!(
            date_span(0, ms("2023-01-01"), ms("2023-01-02")),
            Expr::Calendar(1, "year")
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2023-02-01 was a Wednesday; its week began on Monday 2023-01-30.
        let week = Size::Calendar(Calendar::Week);
        assert_eq!(week.round(ms("2023-02-01T10:00:00Z")), ms("2023-01-30"));
        assert_eq!(
            Size::Calendar(Calendar::Month).next(ms("2023-01-01")),
            ms("2023-02-01")
        );
    }

    #[test]
    fn numbers_round_to_a_power_of_ten_or_half() {
        // 20 buckets of salaries 25,324..74,999: 2,483.75 each; the next
        // power of ten is 10,000, and 2,483.75 is under its half, so 5,000.
        assert!((number_span(20, 25_324.0, 74_999.0) - 5_000.0).abs() < f64::EPSILON);
        // 7,000 over 10 is 700: past half of 1,000, so 1,000.
        assert!((number_span(10, 0.0, 7_000.0) - 1_000.0).abs() < f64::EPSILON);
        // 0.03 over 1: the next power of ten is 0.1, half 0.05, so 0.05.
        assert!((number_span(1, 0.0, 0.03) - 0.05).abs() < 1e-12);
    }
}
