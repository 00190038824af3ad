//! Shared application state: what every handler may use. Built once by the server (or a test) and
//! cloned cheaply into each request.

use std::sync::Arc;

use yiwang_appointments::Appointments;
use yiwang_cases::Cases;
use yiwang_catalog::Catalog;
use yiwang_db::Db;
use yiwang_identity::Accounts;
use yiwang_identity::service::recovery::Recovery;
use yiwang_identity::service::tokens::ApiTokens;
use yiwang_kernel::{SharedClock, WorkCalendar};
use yiwang_licenses::Licenses;
use yiwang_ratings::Ratings;
use yiwang_requests::Requests;

use crate::metrics::Metrics;

/// Web settings taken from the server configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The region this platform instance serves (six digits, e.g. 340100 for 合肥市).
    pub region_code: String,
    /// Mark cookies `Secure` and send HSTS: set when the platform is served over TLS.
    pub cookie_secure: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest material file accepted by the upload routes (their body limit is this plus room for
    /// the form around it).
    pub max_material_bytes: usize,
    /// The bearer token that lets a metrics scraper read `/metrics` (platform administrators may
    /// read it with their session); `None`: administrators only.
    pub metrics_token: Option<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            region_code: "340100".to_owned(),
            cookie_secure: false,
            max_body_bytes: 2 * 1024 * 1024,
            max_material_bytes: yiwang_cases::files::DEFAULT_MAX_FILE_BYTES,
            metrics_token: None,
        }
    }
}

/// The domain services the web layer calls.
#[derive(Debug, Clone)]
pub struct Services {
    pub accounts: Accounts,
    pub recovery: Recovery,
    pub api_tokens: ApiTokens,
    pub catalog: Catalog,
    pub cases: Cases,
    pub appointments: Appointments,
    pub licenses: Licenses,
    pub ratings: Ratings,
    pub requests: Requests,
}

#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
    /// Outside `inner` so a state can be given other limits after it is built (the server's shared
    /// database limiter; tests' own rules).
    throttles: crate::throttle::Throttles,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    clock: SharedClock,
    calendar: Arc<WorkCalendar>,
    config: WebConfig,
    accounts: Accounts,
    recovery: Recovery,
    api_tokens: ApiTokens,
    catalog: Catalog,
    cases: Cases,
    appointments: Appointments,
    licenses: Licenses,
    ratings: Ratings,
    requests: Requests,
    metrics: Metrics,
    /// The platform region's name, looked up once (every page shows it).
    region_name: std::sync::OnceLock<String>,
    /// Set when the server begins to shut down: long-lived responses (live board streams) end so the
    /// graceful shutdown does not wait for them.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(
        db: Db,
        clock: SharedClock,
        calendar: Arc<WorkCalendar>,
        services: Services,
        config: WebConfig,
    ) -> Self {
        let Services {
            accounts,
            recovery,
            api_tokens,
            catalog,
            cases,
            appointments,
            licenses,
            ratings,
            requests,
        } = services;
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                calendar,
                config,
                accounts,
                recovery,
                api_tokens,
                catalog,
                cases,
                appointments,
                licenses,
                ratings,
                requests,
                metrics: Metrics::default(),
                region_name: std::sync::OnceLock::new(),
                stopping: tokio::sync::watch::Sender::new(false),
            }),
            throttles: crate::throttle::Throttles::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.inner.calendar
    }

    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }

    pub fn recovery(&self) -> &Recovery {
        &self.inner.recovery
    }

    pub fn api_tokens(&self) -> &ApiTokens {
        &self.inner.api_tokens
    }

    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    pub fn cases(&self) -> &Cases {
        &self.inner.cases
    }

    pub fn appointments(&self) -> &Appointments {
        &self.inner.appointments
    }

    pub fn licenses(&self) -> &Licenses {
        &self.inner.licenses
    }

    /// Ratings (好差评): rating, rectification, appeals, urging and disclosure.
    pub fn ratings(&self) -> &Ratings {
        &self.inner.ratings
    }

    /// Citizen requests (诉求, 12345): submission, the closed loop, the public list, Open311.
    pub fn requests(&self) -> &Requests {
        &self.inner.requests
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Tell long-lived responses that the server is shutting down.
    pub fn begin_shutdown(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Resolves once the server begins to shut down (at once if it already has).
    pub fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut receiver = self.inner.stopping.subscribe();
        async move {
            let _ = receiver.wait_for(|stopping| *stopping).await;
        }
    }

    /// The abuse limits (429 with Retry-After over a limit).
    pub fn throttles(&self) -> &crate::throttle::Throttles {
        &self.throttles
    }

    /// The same state with other abuse limits (the server passes the database limiter shared by all
    /// nodes; tests pass their own rules).
    #[must_use]
    pub fn with_throttles(mut self, throttles: crate::throttle::Throttles) -> Self {
        self.throttles = throttles;
        self
    }

    /// The platform region's name, from the database on first use and from memory after that.
    pub async fn region_name(&self) -> String {
        if let Some(name) = self.inner.region_name.get() {
            return name.clone();
        }
        match yiwang_identity::service::region(self.db(), &self.config().region_code).await {
            Ok(Some(region)) => self.inner.region_name.get_or_init(|| region.name).clone(),
            Ok(None) => String::new(),
            Err(error) => {
                tracing::warn!(%error, "region name unavailable");
                String::new()
            }
        }
    }
}
