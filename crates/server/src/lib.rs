//! The `yiwang` binary's library half: configuration, start-up and the subcommands, so tests can drive
//! them in-process.

pub mod backup;
pub mod config;
pub mod http;
pub mod licence;
pub mod proxy;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use yiwang_appointments::notify::NotifyFuture;
use yiwang_appointments::{Appointments, AppointmentsConfig, Notice, Notifier};
use yiwang_cases::{Cases, DeadlinePolicy, Deadlines, FileStore};
use yiwang_catalog::Catalog;
use yiwang_catalog::service::register_index_handler;
use yiwang_db::Db;
use yiwang_db::jobs::{JobQueue, Worker};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::service::recovery::{Recovery, RecoveryPolicy};
use yiwang_identity::service::tokens::ApiTokens;
use yiwang_identity::{Accounts, SessionPolicy};
use yiwang_kernel::{SharedClock, SystemClock};
use yiwang_notify::{
    LogSender, MessageSender, RoutingSender, Sms, SmtpSender, register_notify_handlers,
};
use yiwang_web::{AppState, Services, WebConfig};

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

/// Make everything this process creates private to its user: files 0600, directories 0700 (the
/// database and its WAL, material files, keys, backups), whatever the umask it was started with.
pub fn restrict_new_file_modes() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Create the data directory readable by this user only, or tighten an existing one that others
/// could read (with a warning, since the operator may have meant it).
pub fn prepare_data_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if !dir.exists() {
        yiwang_db::private_dir_builder()
            .create(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("cannot read the data directory {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("cannot restrict the data directory {}", dir.display()))?;
            tracing::warn!(dir = %dir.display(), was = format!("{:o}", mode & 0o777), "the data directory was open to other users; it is now 0700");
        }
    }
    Ok(())
}

/// Connect and bring the schema up to date.
pub async fn open_database(config: &Config, clock: &SharedClock) -> anyhow::Result<Db> {
    prepare_data_dir(&config.data_dir)?;
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

/// How often each node re-checks case deadlines.
const CASE_SWEEP_SECS: u64 = 60;
/// How often each node runs the licences' expiry job and renewal reminders.
const LICENCE_MAINTENANCE_SECS: u64 = 600;
/// How often each node runs the appointments' maintenance (slots up to the release horizon,
/// no-shows, expired waitlists, tickets left open on past days).
const APPOINTMENT_MAINTENANCE_SECS: u64 = 60;

/// Serve the portals and API (and run the job worker) on an already-bound listener until `shutdown`.
pub async fn serve(
    config: &Config,
    db: Db,
    clock: SharedClock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let calendar = Arc::new(config::load_calendar(&config.calendar_dir())?);
    let accounts = accounts(config, &db, &clock)?;
    let (recovery, api_tokens) = credentials(config, &db, &clock)?;
    let catalog = Catalog::new(db.clone(), clock.clone())?;
    let indexed = catalog.rebuild_index().await?;
    tracing::info!(items = indexed, "search index built");
    let cases = cases(config, &db, &clock, &catalog, &calendar)?;
    let licence_service = licenses(config, &db, &clock, &calendar)?;
    let appointments = Appointments::new(
        db.clone(),
        clock.clone(),
        Arc::clone(&calendar),
        AppointmentsConfig::default(),
    );
    let ratings = ratings(config, &db, &clock, &calendar)?;
    let requests = requests(config, &db, &clock, &calendar)?;
    let state = AppState::new(
        db.clone(),
        clock.clone(),
        calendar,
        Services {
            accounts,
            recovery,
            api_tokens,
            catalog: catalog.clone(),
            cases: cases.clone(),
            appointments: appointments.clone(),
            licenses: licence_service.clone(),
            ratings: ratings.clone(),
            requests: requests.clone(),
        },
        WebConfig {
            region_code: config.region_code.clone(),
            cookie_secure: config.cookie_secure,
            max_body_bytes: config.max_body_bytes,
            max_material_bytes: config.max_material_bytes,
            metrics_token: Some(config.metrics_token.expose().to_owned()).filter(|t| !t.is_empty()),
        },
    );
    // Abuse limits counted in the database, so every node shares them.
    let state = state.with_throttles(yiwang_web::throttle::Throttles::new(
        Arc::new(yiwang_db::limits::DbLimiter::new(db.clone())),
        config.limits,
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let message_pii = Arc::new(PiiProtector::from_hex(&pii_key(config)?)?);
    let sender = message_sender(config, &clock)?;
    let worker_task = config.worker.then(|| {
        let queue = JobQueue::new(db.clone(), clock.clone(), worker_id());
        let mut worker = Worker::new(queue);
        register_notify_handlers(&mut worker, Arc::clone(&sender), Arc::clone(&message_pii));
        register_index_handler(&mut worker, catalog.clone());
        yiwang_ratings::register_handlers(&mut worker);
        yiwang_requests::register_handlers(&mut worker);
        yiwang_ratings::register_invitations(
            &mut worker,
            ratings.clone(),
            config.ratings.invite_on_conclusion,
        );
        yiwang_cases::service::register_handlers(&mut worker, cases.clone(), Arc::clone(&sender));
        yiwang_appointments::register_handlers(
            &mut worker,
            appointments.clone(),
            Arc::new(SmsNotifier::new(
                db.clone(),
                Arc::clone(&message_pii),
                sender,
            )),
        );
        let mut stop = stop_rx.clone();
        tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }))
    });
    // Every node catches its own index up, whichever node's worker ran the reindex job.
    let catch_up = {
        let catalog = catalog.clone();
        let catch_up_secs = config.index_catch_up_secs;
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(catch_up_secs));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(error) = catalog.catch_up_index().await {
                            tracing::warn!(%error, "search index catch-up failed");
                        }
                    }
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
                }
            }
        })
    };
    // Deadline supervision: warning levels and returns of unanswered supplements. Every node may
    // sweep; each change is one conditional update, so nothing is recorded twice.
    let sweep = {
        let cases = cases.clone();
        let ratings = ratings.clone();
        let requests = requests.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(CASE_SWEEP_SECS));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(error) = cases.sweep().await {
                            tracing::warn!(%error, "case deadline sweep failed");
                        }
                        // 电子监察: rectifications past a deadline get their warning once.
                        match ratings.sweep_overdue().await {
                            Ok(0) => {}
                            Ok(warned) => tracing::info!(warned, "overdue rectifications warned"),
                            Err(error) => tracing::warn!(%error, "rating overdue sweep failed"),
                        }
                        // 12345: near-due and overdue marks, overdue mediation levels escalated,
                        // petitions past their stage's deadline; each marked once.
                        match requests.sweep().await {
                            Ok(report) if report == yiwang_requests::service::SweepReport::default() => {}
                            Ok(report) => tracing::info!(?report, "request deadlines swept"),
                            Err(error) => tracing::warn!(%error, "request deadline sweep failed"),
                        }
                    }
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
                }
            }
        })
    };
    // Licence expiry (已过期) and renewal reminders (Art. 50): every node may run them; each change is
    // one conditional update and each reminder is marked once per licence version.
    let licence_jobs = {
        let licenses = licence_service.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(std::time::Duration::from_secs(LICENCE_MAINTENANCE_SECS));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(error) = licenses.expire_due().await {
                            tracing::warn!(%error, "licence expiry failed");
                        }
                        if let Err(error) = licenses.remind_renewals().await {
                            tracing::warn!(%error, "licence renewal reminders failed");
                        }
                    }
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
                }
            }
        })
    };
    // Appointment maintenance: every node may run it; slots are inserted with ON CONFLICT DO NOTHING,
    // each no-show, waitlist expiry and abandoned ticket is one conditional update, and the no-show
    // rule is serialised per person, so nothing happens twice.
    let maintenance = {
        let appointments = appointments.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(std::time::Duration::from_secs(APPOINTMENT_MAINTENANCE_SECS));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        match appointments.run_maintenance().await {
                            Ok(report) => tracing::debug!(?report, "appointment maintenance"),
                            Err(error) => tracing::warn!(%error, "appointment maintenance failed"),
                        }
                    }
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
                }
            }
        })
    };
    // Audit anchors: every node may write them; one transaction per anchor under the head's lock, and
    // a head already anchored is skipped, so nodes do not duplicate each other's.
    let anchoring = config.audit_anchor_key().map(|key| {
        let db = db.clone();
        let clock = clock.clone();
        let period = std::time::Duration::from_secs(config.audit_anchor_minutes * 60);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                let stopping = tokio::select! {
                    _ = tick.tick() => false,
                    () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => true,
                };
                // One last anchor on the way out covers what this node appended since the previous one.
                write_anchor(&db, &clock, &key).await;
                if stopping {
                    break;
                }
            }
        })
    });
    if anchoring.is_none() {
        tracing::warn!(
            "no audit_key: the audit chain is not anchored, so a consistently rewritten tail would go unnoticed"
        );
    }
    // Live board streams end as soon as shutdown begins, so the graceful shutdown waits only for
    // ordinary requests.
    let stopper = state.clone();
    let shutdown = async move {
        shutdown.await;
        stopper.begin_shutdown();
    };
    let result = http::serve(
        listener,
        yiwang_web::app(state),
        config.connection_limits(),
        Arc::new(config.trusted_proxies.clone()),
        shutdown,
    )
    .await;
    let _ = stop_tx.send(true);
    if let Some(task) = anchoring {
        let _ = task.await;
    }
    let _ = catch_up.await;
    let _ = sweep.await;
    let _ = maintenance.await;
    let _ = licence_jobs.await;
    if let Some(task) = worker_task {
        let _ = task.await;
    }
    db.close().await?;
    result.context("the HTTP server failed")
}

/// Anchor the audit head now; the anchor goes to the log too, so that anchors removed from the
/// database can be noticed against it.
pub async fn write_anchor(db: &Db, clock: &SharedClock, key: &yiwang_db::audit::AnchorKey) {
    match yiwang_db::audit::anchor(db, clock.now(), key).await {
        Ok(Some(anchor)) => tracing::info!(
            seq = anchor.seq,
            at = %anchor.at,
            mac = %anchor.mac,
            key = key.id(),
            "audit chain anchored"
        ),
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, "cannot anchor the audit chain"),
    }
}

/// The identity domain's services: the PII key from the configuration, or (for installations that did not
/// set one) a key generated once and kept in the data directory.
pub fn accounts(config: &Config, db: &Db, clock: &SharedClock) -> anyhow::Result<Accounts> {
    let key = pii_key(config)?;
    let pii = Arc::new(PiiProtector::from_hex(&key)?);
    let accounts = Accounts::new(
        db.clone(),
        clock.clone(),
        pii,
        PasswordCost::default(),
        SessionPolicy::default(),
    )?;
    let register: Option<Arc<dyn yiwang_identity::service::register::EnterpriseRegister>> =
        match config.enterprise_register.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("demo") => Some(Arc::new(yiwang_demo::register::enterprise_register()?)),
            Some(url) => {
                let token = Some(config.enterprise_register_token.expose())
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                Some(Arc::new(
                    yiwang_identity::service::register::HttpRegister::new(
                        url,
                        token,
                        std::time::Duration::from_secs(5),
                    )?,
                ))
            }
        };
    Ok(match register {
        Some(register) => accounts.with_register(register),
        None => accounts,
    })
}

/// Cases: deadlines on the platform's calendar, material files under `<data_dir>/files`.
pub fn cases(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    catalog: &Catalog,
    calendar: &yiwang_kernel::WorkCalendar,
) -> anyhow::Result<Cases> {
    let pii = Arc::new(PiiProtector::from_hex(&pii_key(config)?)?);
    Ok(Cases::new(
        db.clone(),
        clock.clone(),
        catalog.clone(),
        Deadlines::new(calendar.clone(), DeadlinePolicy::default()),
        pii,
        file_store(config)?,
        &config.platform_code,
    )
    .with_licenses(licenses(config, db, clock, calendar)?))
}

/// The key sealing the departments' SM2 private keys: `[licenses] seal_key`, else derived from the
/// PII key; with the keys of earlier rotations of that setting.
pub fn seal_cipher(config: &Config) -> anyhow::Result<yiwang_licenses::SealCipher> {
    let settings = &config.licenses;
    let key = match settings.seal_key.expose() {
        "" => yiwang_licenses::derive_seal_key(&pii_key(config)?)
            .context("cannot derive the licence seal key")?,
        hex => yiwang_kernel::crypto::Sm4Key::from_hex(hex)?,
    };
    let previous = settings
        .previous_seal_keys
        .iter()
        .map(|k| yiwang_kernel::crypto::Sm4Key::from_hex(k.expose()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(yiwang_licenses::SealCipher::new(key).with_previous(previous))
}

/// E-licences: seal keys opened with [`seal_cipher`], deadlines on the platform's calendar.
pub fn licenses(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    calendar: &yiwang_kernel::WorkCalendar,
) -> anyhow::Result<yiwang_licenses::Licenses> {
    Ok(yiwang_licenses::Licenses::new(
        db.clone(),
        clock.clone(),
        seal_cipher(config)?,
        calendar.clone(),
        Arc::new(PiiProtector::from_hex(&pii_key(config)?)?),
    ))
}

/// The HMAC-SM3 key of SMS rating links: `[ratings] link_key`, else derived from the PII key (so
/// every node of an installation signs and checks the same links without another secret to keep).
pub fn rating_link_key(config: &Config) -> anyhow::Result<Vec<u8>> {
    match config.ratings.link_key.expose().trim() {
        "" => {
            let master =
                hex::decode(pii_key(config)?.trim()).context("the PII key is not hexadecimal")?;
            Ok(yiwang_kernel::hmac_sm3(&master, b"yiwang-ratings-link-key/1").to_vec())
        }
        hex_key => hex::decode(hex_key).context("ratings.link_key is not hexadecimal"),
    }
}

/// Ratings (好差评): the link key of [`rating_link_key`], the configured periods, deadlines on the
/// platform's calendar.
pub fn ratings(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    calendar: &Arc<yiwang_kernel::WorkCalendar>,
) -> anyhow::Result<yiwang_ratings::Ratings> {
    let settings = &config.ratings;
    let mut rating_config = yiwang_ratings::RatingsConfig::new(rating_link_key(config)?);
    rating_config.contact_days = settings.contact_days;
    rating_config.rectify_days = settings.rectify_days;
    rating_config.follow_up_days = settings.follow_up_days;
    rating_config.link_days = settings.link_days;
    Ok(yiwang_ratings::Ratings::new(
        db.clone(),
        clock.clone(),
        Arc::clone(calendar),
        Arc::new(PiiProtector::from_hex(&pii_key(config)?)?),
        rating_config,
    ))
}

/// Citizen requests (诉求): the default limits of [`yiwang_requests::RequestsConfig`] on the
/// platform's calendar, contact mobiles sealed with the PII key.
pub fn requests(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    calendar: &Arc<yiwang_kernel::WorkCalendar>,
) -> anyhow::Result<yiwang_requests::Requests> {
    Ok(yiwang_requests::Requests::new(
        db.clone(),
        clock.clone(),
        Arc::clone(calendar),
        Arc::new(PiiProtector::from_hex(&pii_key(config)?)?),
        yiwang_requests::RequestsConfig::default(),
    ))
}

/// Material files under `<data_dir>/files`, sealed with the configured material key or else the key
/// derived from the PII key.
fn file_store(config: &Config) -> anyhow::Result<FileStore> {
    let settings = &config.materials;
    let key = match settings.key.expose() {
        "" => yiwang_cases::files::derive_material_key(&pii_key(config)?)
            .context("cannot derive the material key")?,
        hex => yiwang_kernel::crypto::Sm4Key::from_hex(hex)?,
    };
    let previous = settings
        .previous_keys
        .iter()
        .map(|k| yiwang_kernel::crypto::Sm4Key::from_hex(k.expose()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FileStore::local(
        &config.data_dir.join("files"),
        config.max_material_bytes,
        key,
    )
    .context("cannot open the material file store")?
    .with_previous_keys(previous)
    .with_policy(yiwang_cases::files::FilePolicy {
        max_files_per_person: settings.max_files_per_person,
        max_bytes_per_person: settings.max_bytes_per_person,
        unattached_days: settings.unattached_days,
    }))
}

/// What the demo data is loaded with, from the configuration: the configured database, PII key,
/// calendar and file store, so the demo lands where `serve` will read it.
pub fn demo_setup(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
) -> anyhow::Result<yiwang_demo::DemoSetup> {
    Ok(yiwang_demo::DemoSetup {
        db: db.clone(),
        clock: clock.clone(),
        accounts: accounts(config, db, clock)?,
        pii: Arc::new(PiiProtector::from_hex(&pii_key(config)?)?),
        files: file_store(config)?,
        calendar: config::load_calendar(&config.calendar_dir())?,
        platform_code: config.platform_code.clone(),
        seals: seal_cipher(config)?,
    })
}

/// Password reset and API tokens, from the same parts as [`accounts`].
pub fn credentials(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
) -> anyhow::Result<(Recovery, ApiTokens)> {
    let pii = Arc::new(PiiProtector::from_hex(&pii_key(config)?)?);
    Ok((
        Recovery::new(
            db.clone(),
            clock.clone(),
            pii,
            PasswordCost::default(),
            RecoveryPolicy::default(),
        ),
        ApiTokens::new(db.clone(), clock.clone()),
    ))
}

/// Appointment notices (reminders, waitlist places) as SMS to the person's mobile number, through the
/// platform's message sender (the same one as password-reset codes and case notices).
#[derive(Debug)]
pub struct SmsNotifier {
    db: Db,
    pii: Arc<PiiProtector>,
    sender: Arc<dyn MessageSender>,
}

impl SmsNotifier {
    pub fn new(db: Db, pii: Arc<PiiProtector>, sender: Arc<dyn MessageSender>) -> Self {
        Self { db, pii, sender }
    }
}

impl Notifier for SmsNotifier {
    fn notify<'a>(&'a self, notice: &'a Notice) -> NotifyFuture<'a> {
        Box::pin(async move {
            let mobile =
                yiwang_identity::reads::person_mobile_in(self.db.conn(), &self.pii, notice.person)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or("the booking's person is gone")?;
            self.sender
                .send_sms(&Sms {
                    to: mobile,
                    text: notice.text.clone(),
                })
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// SMS is logged until an SMS gateway exists; email is logged too, or sent to the relay of `[smtp]`.
fn message_sender(config: &Config, clock: &SharedClock) -> anyhow::Result<Arc<dyn MessageSender>> {
    let log = Arc::new(LogSender {
        show_text: config.log_message_text,
    });
    let Some(smtp) = &config.smtp else {
        return Ok(log);
    };
    let email = SmtpSender::new(smtp.sender_config_with_ca()?, clock.clone())
        .context("the [smtp] settings cannot be used")?;
    tracing::info!(host = %smtp.host, port = smtp.port, tls = smtp.effective_tls().name(), "email goes to the SMTP relay");
    Ok(Arc::new(RoutingSender::new(log, Arc::new(email))))
}

fn pii_key(config: &Config) -> anyhow::Result<String> {
    let configured = config.pii_key.expose();
    if !configured.is_empty() {
        return Ok(configured.to_owned());
    }
    let path = config.data_dir.join("pii.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(text.trim().to_owned());
    }
    prepare_data_dir(&config.data_dir)?;
    let mut bytes = [0_u8; 16];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
    let key = hex::encode(bytes);
    write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::warn!(path = %path.display(), "generated a new key for personal data; back it up (or set pii_key)");
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
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
