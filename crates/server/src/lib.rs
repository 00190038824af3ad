//! The `yiwang` binary's library half: configuration, start-up and the subcommands, so tests can drive
//! them in-process.

pub mod config;
pub mod demo;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use yiwang_db::Db;
use yiwang_db::jobs::{JobQueue, Worker};
use yiwang_kernel::{SharedClock, SystemClock};
use yiwang_web::{AppState, WebConfig};

use config::{Config, LogFormat};

/// Set up logging once, as configured. `RUST_LOG` refines the level.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub fn system_clock() -> SharedClock {
    Arc::new(SystemClock)
}

/// Connect and bring the schema up to date.
pub async fn open_database(config: &Config, clock: &SharedClock) -> anyhow::Result<Db> {
    let url = config.database_url();
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("cannot open the database {}", yiwang_db::redact_url(&url)))?;
    let report = yiwang_db::migrate::run(&db, clock.now()).await?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "database migrated");
    }
    Ok(db)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

/// Serve the portals and API (and run the job worker) on an already-bound listener until `shutdown`.
pub async fn serve(
    config: &Config,
    db: Db,
    clock: SharedClock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let calendar = Arc::new(config::load_calendar(&config.calendar_dir())?);
    let state = AppState::new(
        db.clone(),
        clock.clone(),
        calendar,
        WebConfig {
            region_code: config.region_code.clone(),
            cookie_secure: config.cookie_secure,
            max_body_bytes: config.max_body_bytes,
        },
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker_task = config.worker.then(|| {
        let queue = JobQueue::new(db.clone(), clock.clone(), worker_id());
        let worker = Worker::new(queue);
        let mut stop = stop_rx.clone();
        tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }))
    });
    let result = yiwang_web::serve(listener, yiwang_web::app(state), shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(task) = worker_task {
        let _ = task.await;
    }
    db.close().await?;
    result.context("the HTTP server failed")
}

/// A worker id unique to this process, shown in the job table.
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".to_owned());
    // The random part keeps two nodes apart even when HOSTNAME is unset and their pids coincide.
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Bind the configured address, with a clear message when it is taken.
pub async fn bind(config: &Config) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.addr).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running there?)",
            config.addr
        )
    })
}
