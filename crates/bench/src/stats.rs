//! Throughput and latency figures, rounded for the summary line.

use std::time::Duration;

/// Operations per second over a run.
pub fn per_second(count: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        round(count as f64 / secs, 1)
    } else {
        0.0
    }
}

/// The `p`-th percentile (0 < p ≤ 100, nearest rank) of latencies, in milliseconds; 0 when empty.
pub fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    round(sorted[index].as_secs_f64() * 1000.0, 3)
}

/// `value` rounded to `places` decimal places.
pub fn round(value: f64, places: i32) -> f64 {
    let scale = 10_f64.powi(places);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert!((percentile_ms(&ms, 50.0) - 50.0).abs() < 1e-9);
        assert!((percentile_ms(&ms, 99.0) - 99.0).abs() < 1e-9);
        assert!((percentile_ms(&ms[..1], 99.0) - 1.0).abs() < 1e-9);
        assert!(percentile_ms(&[], 50.0).abs() < 1e-9);
        assert!((per_second(10, Duration::from_secs(4)) - 2.5).abs() < 1e-9);
    }
}
