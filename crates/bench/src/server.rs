//! The real server, started in process on a free port for the over-HTTP part of a scenario.

use anyhow::bail;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use yiwang_kernel::SharedClock;
use yiwang_server::config::{Config, Secret};

use crate::database::BenchDb;

/// A server serving the run's database until [`InProcessServer::stop`].
#[derive(Debug)]
pub struct InProcessServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The serving task; finished early only when the server failed.
    pub task: JoinHandle<anyhow::Result<()>>,
    stop: oneshot::Sender<()>,
}

impl InProcessServer {
    /// Serve `bench`'s database with the PII key `pii_key`; `worker` runs the job worker too (to
    /// measure notifications as part of every change).
    pub async fn start(
        bench: &BenchDb,
        clock: SharedClock,
        pii_key: String,
        worker: bool,
    ) -> anyhow::Result<Self> {
        let config = Config {
            data_dir: bench.data_dir().to_path_buf(),
            database_url: Some(Secret::new(bench.url.clone())),
            worker,
            pii_key: Secret::new(pii_key),
            // Every simulated visitor comes from 127.0.0.1: the per-address abuse limits would throttle the
            // load generator itself, so the benchmark measures the platform with them out of reach.
            limits: unlimited(),
            ..Config::default()
        };
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let db = bench.db.clone();
        let task = tokio::spawn(async move {
            yiwang_server::serve(&config, db, clock, listener, async {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self { base, task, stop })
    }

    /// Stop serving (requests in flight finish) and report whether the server failed.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.context("the server failed")),
            Err(e) => bail!("the server task failed: {e}"),
        }
    }
}

/// Abuse limits no benchmark reaches (the limiter still counts every attempt, so its cost is measured).
fn unlimited() -> yiwang_web::throttle::LimitRules {
    let rule = yiwang_web::throttle::Rule::new(u32::MAX, 60);
    yiwang_web::throttle::LimitRules {
        login: rule,
        register: rule,
        register_code: rule,
        ticket: rule,
        progress: rule,
        upload_address: rule,
        upload_account: rule,
        verify: rule,
        survey: rule,
    }
}
