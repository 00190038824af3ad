//! Load generators for the benchmarks in `docs/benchmarks.md`. Each scenario sets up its own fresh
//! database, prints progress on stderr and exactly one JSON summary line on stdout.
//!
//! - [`booking`]: the `booking` scenario (a flash crowd booking released places over HTTP).
//! - [`client`]: the HTTP client of the scenarios that drive the in-process server.
//! - [`cases`]: the `cases` scenario (complete cases through HTTP with real sessions).
//! - [`database`]: a fresh SQLite or PostgreSQL database per run, removed at the end.
//! - [`indicators`]: the `indicators` scenario (indicators and scoreboard over a year of cases).
//! - [`licences`]: the `licences` scenario (SM2 sealing in process, public verification over HTTP).
//! - [`items`]: a large, valid catalog made from the demo items.
//! - [`search`]: the `search` scenario (catalog search in process and over HTTP).
//! - [`server`]: the real server in process, shared by the scenarios' HTTP parts.
//! - [`stats`]: throughput and latency figures.

pub mod booking;
pub mod cases;
pub mod client;
pub mod database;
pub mod indicators;
pub mod items;
pub mod licences;
pub mod search;
pub mod server;
pub mod stats;

use std::time::Instant;

/// Write a progress line on stderr with the seconds since `start` (stdout carries only the summary).
pub fn progress(start: Instant, message: &str) {
    eprintln!("[{:>7.1}s] {message}", start.elapsed().as_secs_f64());
}
