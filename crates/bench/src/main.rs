//! `yiwang-bench`: the benchmark scenarios of `docs/benchmarks.md`, one subcommand each. Each prints one
//! JSON summary line on stdout; progress goes to stderr.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use yiwang_bench::{booking, cases, indicators, licences, search};

#[derive(Debug, Parser)]
#[command(name = "yiwang-bench", version, about = "Yiwang benchmark scenarios")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

/// One variant per scenario; each runs to a summary line.
#[derive(Debug, Subcommand)]
enum Scenario {
    /// Catalog search: a large catalog, queries per second in process and over HTTP.
    Search(search::Args),
    /// Flash-crowd booking: places released at one instant, everyone books at once over HTTP.
    Booking(booking::Args),
    /// Cases: complete cases (apply, accept, review, grant, deliver) through HTTP with real sessions.
    Cases(cases::Args),
    /// E-licences: SM2 sign and verify rates in process, public verifications over HTTP.
    Licences(licences::Args),
    /// Indicators: the indicators and the scoreboard over a year of generated cases and ratings.
    Indicators(indicators::Args),
}

impl Scenario {
    /// Run the scenario; returns its summary as one line of JSON.
    async fn run(&self) -> anyhow::Result<String> {
        match self {
            Self::Search(args) => Ok(serde_json::to_string(&search::run(args).await?)?),
            Self::Booking(args) => Ok(serde_json::to_string(&booking::run(args).await?)?),
            Self::Cases(args) => Ok(serde_json::to_string(&cases::run(args).await?)?),
            Self::Licences(args) => Ok(serde_json::to_string(&licences::run(args).await?)?),
            Self::Indicators(args) => Ok(serde_json::to_string(&indicators::run(args).await?)?),
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    // Quiet by default: the server logs every request at info (which would slow the run), and the
    // bulk reads of a large import trip sqlx's slow-statement warning.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,sqlx::query=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match cli.scenario.run().await {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
