//! Performance indicators (绩效) and the scoreboard, as pure values: the period, one line of
//! counts with its rates (one formula each, documented on [`Indicators`] and in ARCHITECTURE
//! "Indicators"), the composite score, trend arrows and the CSV file. The counts come from SQL
//! aggregates over the records (`yiwang_cases::reads::case_aggregates_in`,
//! `yiwang_appointments::reads::{booking_aggregates_in, ticket_waits_in}`,
//! [`crate::repo::rating_aggregates`]); nothing here is a kept counter.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::RatingError;
use crate::service::parse_month;

/// Longest range, in days (inclusive of both ends).
pub const MAX_RANGE_DAYS: i64 = 366;

/// A period of China dates, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// A month `YYYY-MM`.
    pub fn month(month: &str) -> Result<Self, RatingError> {
        let month = parse_month(month)?;
        let from = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| RatingError::BadRange("month"))?;
        let next = from
            .checked_add_months(chrono::Months::new(1))
            .ok_or(RatingError::BadRange("month"))?;
        Ok(Self {
            from,
            to: next.pred_opt().ok_or(RatingError::BadRange("month"))?,
        })
    }

    /// Any range of at most [`MAX_RANGE_DAYS`] days, `from` ≤ `to`; else `rating_bad_range`.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, RatingError> {
        if to < from {
            return Err(RatingError::BadRange("to"));
        }
        if (to - from).num_days() + 1 > MAX_RANGE_DAYS {
            return Err(RatingError::BadRange("range"));
        }
        if !(2000..=2099).contains(&from.year()) || !(2000..=2099).contains(&to.year()) {
            return Err(RatingError::BadRange("range"));
        }
        Ok(Self { from, to })
    }

    /// Parses `YYYY-MM-DD` ends.
    pub fn parse_range(from: &str, to: &str) -> Result<Self, RatingError> {
        let day = |text: &str, field: &'static str| {
            let text = text.trim();
            if text.len() != 10 {
                return Err(RatingError::BadRange(field));
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| RatingError::BadRange(field))
        };
        Self::range(day(from, "from")?, day(to, "to")?)
    }

    /// The month before the one `self` starts in.
    pub fn previous_month(&self) -> Option<Self> {
        let first = self.from.with_day(1)?;
        let from = first.checked_sub_months(chrono::Months::new(1))?;
        Some(Self {
            from,
            to: first.pred_opt()?,
        })
    }

    /// `YYYY-MM` when the period is exactly one calendar month.
    pub fn as_month(&self) -> Option<String> {
        let m = Self::month(&self.from.format("%Y-%m").to_string()).ok()?;
        (m == *self).then(|| self.from.format("%Y-%m").to_string())
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// How indicators are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Department,
    Region,
    Item,
}

impl Dimension {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "department" => Some(Self::Department),
            "region" => Some(Self::Region),
            "item" => Some(Self::Item),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Department => "department",
            Self::Region => "region",
            Self::Item => "item",
        }
    }
}

/// The counts of one department, region or item over a period, and its rates.
///
/// Formulas (each rate is `None` when its denominator is 0):
/// * 收件 `received`: cases submitted in the period; 办结 `concluded`: cases concluded in it.
/// * 按时办结率 = `on_time` / `concluded`: decided by the decision deadline (`decided_at ≤
///   decision_due_at`, the promised limit moved by stopped clocks and an extension).
/// * 平均办理用时 = Σ(`decided_at` − `accepted_at`) / `timed`, against 平均承诺时限 =
///   Σ(`decision_due_at` − `accepted_at`) / `timed` (concluded cases with both); 用时占比 = the ratio
///   of the two sums.
/// * 一次办结率 = `first_time` / `concluded`: concluded without any 补正.
/// * 网办率 = `online` / `received`; 即办件占比 = `instant` / `received`.
/// * 满意率 = `satisfied` (levels 1–2) / `ratings` given in the period; 差评按时整改率 =
///   `bad_on_time` / `bad`; ratings with an upheld appeal are not counted.
/// * 爽约率 = `no_shows` / `bookings_due` (bookings of days in the period served, checked in or
///   not kept).
/// * 平均等候 = mean of (`called_at` − `taken_at`) of the tickets of days in the period that were
///   called; P90 等候 = the nearest-rank 90th percentile (the ⌈0.9·n⌉-th smallest wait).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Indicators {
    pub key: String,
    pub name: String,
    pub received: u64,
    pub online: u64,
    pub instant: u64,
    pub concluded: u64,
    pub on_time: u64,
    pub first_time: u64,
    pub timed: u64,
    pub handling_secs: i64,
    pub allowed_secs: i64,
    pub ratings: u64,
    pub satisfied: u64,
    pub bad: u64,
    pub bad_on_time: u64,
    pub bookings_due: u64,
    pub no_shows: u64,
    pub tickets_called: u64,
    pub wait_avg_secs: Option<f64>,
    pub wait_p90_secs: Option<i64>,
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

const DAY_SECS: f64 = 86_400.0;

impl Indicators {
    pub fn named(key: &str, name: &str) -> Self {
        Self {
            key: key.to_owned(),
            name: name.to_owned(),
            ..Self::default()
        }
    }

    pub fn on_time_rate(&self) -> Option<f64> {
        rate(self.on_time, self.concluded)
    }
    pub fn first_time_rate(&self) -> Option<f64> {
        rate(self.first_time, self.concluded)
    }
    pub fn online_share(&self) -> Option<f64> {
        rate(self.online, self.received)
    }
    pub fn instant_share(&self) -> Option<f64> {
        rate(self.instant, self.received)
    }
    pub fn satisfaction_rate(&self) -> Option<f64> {
        rate(self.satisfied, self.ratings)
    }
    pub fn bad_on_time_rate(&self) -> Option<f64> {
        rate(self.bad_on_time, self.bad)
    }
    pub fn no_show_rate(&self) -> Option<f64> {
        rate(self.no_shows, self.bookings_due)
    }
    /// Average handling time in days.
    pub fn avg_handling_days(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.handling_secs as f64 / self.timed as f64 / DAY_SECS)
    }
    /// Average time allowed by the deadline, in days.
    pub fn avg_allowed_days(&self) -> Option<f64> {
        (self.timed > 0).then(|| self.allowed_secs as f64 / self.timed as f64 / DAY_SECS)
    }
    /// Handling time as a share of the time allowed.
    pub fn handling_ratio(&self) -> Option<f64> {
        (self.allowed_secs > 0).then(|| self.handling_secs as f64 / self.allowed_secs as f64)
    }

    /// 综合得分 (0–100): the mean of 按时办结率, 一次办结率, 网办率 and 满意率 in percent, over
    /// those that exist; `None` when none does.
    pub fn composite(&self) -> Option<f64> {
        let parts: Vec<f64> = [
            self.on_time_rate(),
            self.first_time_rate(),
            self.online_share(),
            self.satisfaction_rate(),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| parts.iter().sum::<f64>() * 100.0 / parts.len() as f64)
    }

    /// Adds another line's counts (waits are merged by the caller).
    pub fn add_counts(&mut self, o: &Indicators) {
        self.received += o.received;
        self.online += o.online;
        self.instant += o.instant;
        self.concluded += o.concluded;
        self.on_time += o.on_time;
        self.first_time += o.first_time;
        self.timed += o.timed;
        self.handling_secs += o.handling_secs;
        self.allowed_secs += o.allowed_secs;
        self.ratings += o.ratings;
        self.satisfied += o.satisfied;
        self.bad += o.bad;
        self.bad_on_time += o.bad_on_time;
        self.bookings_due += o.bookings_due;
        self.no_shows += o.no_shows;
    }

    /// Sets the wait figures from ascending waits in seconds.
    pub fn set_waits(&mut self, sorted: &[i64]) {
        self.tickets_called = sorted.len() as u64;
        self.wait_avg_secs = (!sorted.is_empty())
            .then(|| sorted.iter().map(|w| *w as f64).sum::<f64>() / sorted.len() as f64);
        self.wait_p90_secs = p90(sorted);
    }
}

/// The nearest-rank 90th percentile of ascending values: the ⌈0.9·n⌉-th smallest.
pub fn p90(sorted: &[i64]) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (sorted.len() * 9).div_ceil(10);
    sorted.get(rank.saturating_sub(1)).copied()
}

/// Indicators grouped over a period, with the total of every group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorReport {
    pub period: Period,
    pub dimension: Dimension,
    pub rows: Vec<Indicators>,
    pub total: Indicators,
}

/// This month against the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Up,
    Down,
    Level,
}

impl Trend {
    /// ↑ when the score rose by more than half a point, ↓ when it fell by more, → otherwise
    /// (and when either month has no score).
    pub fn of(now: Option<f64>, before: Option<f64>) -> Self {
        match (now, before) {
            (Some(a), Some(b)) if a - b > 0.5 => Self::Up,
            (Some(a), Some(b)) if b - a > 0.5 => Self::Down,
            _ => Self::Level,
        }
    }

    pub fn arrow(self) -> &'static str {
        match self {
            Self::Up => "↑",
            Self::Down => "↓",
            Self::Level => "→",
        }
    }
}

/// One department on the scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreLine {
    /// 1-based; departments without a score share the last rank.
    pub rank: usize,
    pub score: Option<f64>,
    pub previous_score: Option<f64>,
    pub trend: Trend,
    pub indicators: Indicators,
}

/// Departments ranked by [`Indicators::composite`] for a month, with the trend against the
/// previous month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scoreboard {
    pub month: String,
    pub previous_month: String,
    pub lines: Vec<ScoreLine>,
}

impl Scoreboard {
    /// Ranks `now` (every department, by code) with `before`'s scores: highest score first,
    /// then by code; lines without a score last.
    pub fn rank(
        month: String,
        previous_month: String,
        now: Vec<Indicators>,
        before: &[Indicators],
    ) -> Self {
        let mut lines: Vec<ScoreLine> = now
            .into_iter()
            .map(|i| {
                let score = i.composite();
                let previous_score = before
                    .iter()
                    .find(|b| b.key == i.key)
                    .and_then(Indicators::composite);
                ScoreLine {
                    rank: 0,
                    score,
                    previous_score,
                    trend: Trend::of(score, previous_score),
                    indicators: i,
                }
            })
            .collect();
        lines.sort_by(|a, b| {
            let sa = a.score.unwrap_or(f64::NEG_INFINITY);
            let sb = b.score.unwrap_or(f64::NEG_INFINITY);
            sb.total_cmp(&sa)
                .then_with(|| a.indicators.key.cmp(&b.indicators.key))
        });
        let scored = lines.iter().filter(|l| l.score.is_some()).count();
        for (i, line) in lines.iter_mut().enumerate() {
            line.rank = if line.score.is_some() {
                i + 1
            } else {
                scored + 1
            };
        }
        Self {
            month,
            previous_month,
            lines,
        }
    }

    /// The scoreboard as CSV (UTF-8 with a byte-order mark so spreadsheet programs read the
    /// Chinese): a header row, then one row per department.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("\u{feff}");
        out.push_str(
            "排名,部门编码,部门,综合得分,上月得分,趋势,收件,办结,按时办结率,一次办结率,网办率,即办件占比,\
             平均办理用时(天),平均承诺时限(天),评价数,满意率,差评,差评按时整改率,爽约率,平均等候(分),P90等候(分)\r\n",
        );
        for l in &self.lines {
            let i = &l.indicators;
            let cells = [
                l.rank.to_string(),
                csv_cell(&i.key),
                csv_cell(&i.name),
                fixed(l.score, 1),
                fixed(l.previous_score, 1),
                l.trend.arrow().to_owned(),
                i.received.to_string(),
                i.concluded.to_string(),
                percent(i.on_time_rate()),
                percent(i.first_time_rate()),
                percent(i.online_share()),
                percent(i.instant_share()),
                fixed(i.avg_handling_days(), 2),
                fixed(i.avg_allowed_days(), 2),
                i.ratings.to_string(),
                percent(i.satisfaction_rate()),
                i.bad.to_string(),
                percent(i.bad_on_time_rate()),
                percent(i.no_show_rate()),
                fixed(i.wait_avg_secs.map(|s| s / 60.0), 1),
                fixed(i.wait_p90_secs.map(|s| s as f64 / 60.0), 1),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A rate as a percentage with one decimal (`87.5%`), or empty.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(String::new, |r| format!("{:.1}%", r * 100.0))
}

/// A number with `decimals` decimals, or empty.
pub fn fixed(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a leading `=+-@` is prefixed
/// with `'` so spreadsheet programs do not run it as a formula.
fn csv_cell(text: &str) -> String {
    let mut text = text.to_owned();
    if text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_bounded() {
        let m = Period::month("2026-02").unwrap();
        assert_eq!(
            (m.from.to_string(), m.to.to_string()),
            ("2026-02-01".into(), "2026-02-28".into())
        );
        assert_eq!(m.as_month().as_deref(), Some("2026-02"));
        assert_eq!(
            m.previous_month().unwrap(),
            Period::month("2026-01").unwrap()
        );
        assert!(Period::parse_range("2026-01-01", "2026-12-31").is_ok());
        assert!(Period::parse_range("2025-01-01", "2026-01-01").is_ok()); // 366 days
        assert!(Period::parse_range("2025-01-01", "2026-01-02").is_err());
        assert!(Period::parse_range("2024-01-01", "2024-12-31").is_ok()); // 366 days
        assert!(Period::parse_range("2026-03-02", "2026-03-01").is_err());
        assert!(Period::parse_range("2026-3-1", "2026-03-02").is_err());
    }

    #[test]
    fn p90_is_nearest_rank() {
        assert_eq!(p90(&[]), None);
        assert_eq!(p90(&[7]), Some(7));
        assert_eq!(p90(&[1, 2, 3, 4]), Some(4));
        assert_eq!(p90(&(1..=10).collect::<Vec<_>>()), Some(9));
        assert_eq!(p90(&(1..=20).collect::<Vec<_>>()), Some(18));
    }

    #[test]
    fn trend_and_csv_cells() {
        assert_eq!(Trend::of(Some(80.0), Some(70.0)), Trend::Up);
        assert_eq!(Trend::of(Some(70.0), Some(80.0)), Trend::Down);
        assert_eq!(Trend::of(Some(70.2), Some(70.0)), Trend::Level);
        assert_eq!(Trend::of(Some(70.0), None), Trend::Level);
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
    }
}
