//! Request metrics in the Prometheus text format: a counter per route, method and status, and a latency
//! histogram per route. Routes are recorded by their pattern (`/departments/{code}`), never the raw path,
//! so the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut reg) = self.inner.lock() else {
            return;
        };
        *reg.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let hist = reg.latency.entry(route.to_owned()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                hist.counts[i] += 1;
            }
        }
        hist.count += 1;
        hist.sum += secs;
    }

    /// Render the request metrics plus any extra gauges (name, help, labelled values).
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let Ok(reg) = self.inner.lock() else {
            return out;
        };
        out.push_str(
            "# HELP yiwang_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE yiwang_http_requests_total counter\n");
        for ((method, route, status), n) in &reg.requests {
            let _ = writeln!(
                out,
                "yiwang_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        out.push_str(
            "# HELP yiwang_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE yiwang_http_request_duration_seconds histogram\n");
        for (route, hist) in &reg.latency {
            let route = escape(route);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "yiwang_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    hist.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "yiwang_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                hist.count
            );
            let _ = writeln!(
                out,
                "yiwang_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                hist.sum
            );
            let _ = writeln!(
                out,
                "yiwang_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                hist.count
            );
        }
        for gauge in gauges {
            let _ = writeln!(out, "# HELP {} {}", gauge.name, gauge.help);
            let _ = writeln!(out, "# TYPE {} gauge", gauge.name);
            for (labels, value) in &gauge.values {
                if labels.is_empty() {
                    let _ = writeln!(out, "{} {value}", gauge.name);
                } else {
                    let rendered: Vec<String> = labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                        .collect();
                    let _ = writeln!(out, "{}{{{}}} {value}", gauge.name, rendered.join(","));
                }
            }
        }
        out
    }
}

/// A gauge computed at scrape time.
#[derive(Debug, Clone)]
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub values: Vec<(Vec<(&'static str, String)>, f64)>,
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.record("GET", "/", 200, Duration::from_millis(3));
        m.record("GET", "/", 200, Duration::from_millis(300));
        let text = m.render(&[Gauge {
            name: "yiwang_jobs",
            help: "Jobs by status.",
            values: vec![(vec![("status", "failed".to_owned())], 2.0)],
        }]);
        assert!(
            text.contains(
                "yiwang_http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 2"
            )
        );
        assert!(
            text.contains(
                "yiwang_http_request_duration_seconds_bucket{route=\"/\",le=\"0.005\"} 1"
            )
        );
        assert!(
            text.contains("yiwang_http_request_duration_seconds_bucket{route=\"/\",le=\"0.5\"} 2")
        );
        assert!(text.contains("yiwang_http_request_duration_seconds_count{route=\"/\"} 2"));
        assert!(text.contains("yiwang_jobs{status=\"failed\"} 2"));
    }
}
