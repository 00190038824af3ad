//! The `licences` scenario: how fast e-licences are sealed and checked.
//!
//! * **In process (baseline)**: SM2 signatures (GB/T 32918, SM3, user id `1234567812345678`) over
//!   the canonical bytes of a real licence statement, and their verification with the published
//!   public key, on one core; then licences issued through the service (sign + write + audit).
//! * **Over HTTP**: public verifications (`POST /api/v1/licences/verify`) against the real server in
//!   process, alternating the licence identifier and the QR payload of the issued licences, from
//!   `--concurrency` clients; verifications per second with p50/p99.
//!
//! Set-up (not measured): a fresh database with the demo organisation, the licence type 居住证 of
//! 合肥市公安局 and `--holders` registered persons.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use http::Method;
use serde::Serialize;
use serde_json::{Value, json};
use yiwang_identity::model::{ClientMeta, RawRegistration, Registration};
use yiwang_identity::policy::Principal;
use yiwang_kernel::crypto::Sm2KeyPair;
use yiwang_kernel::{ResidentId, SharedClock, sm2_verify};
use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, LicenseType, Validity};
use yiwang_licenses::service::{HolderRef, IssueRequest};
use yiwang_server::config::{Config, Secret};

use crate::client::{Http, excerpt};
use crate::database::{BenchDb, random_hex64};
use crate::progress;
use crate::server::InProcessServer;
use crate::stats::{per_second, percentile_ms};

const DEPARTMENT: &str = "hf-gaj";
const TYPE_CODE: &str = "JZZ";
const PASSWORD: &str = "Bench#2026lic";

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// In-process signatures (and as many verifications) for the baseline.
    #[arg(long, default_value_t = 2000)]
    pub signatures: usize,
    /// Licences issued through the service (then verified over HTTP).
    #[arg(long, default_value_t = 200)]
    pub licences: usize,
    /// Registered persons the licences are spread over.
    #[arg(long, default_value_t = 20)]
    pub holders: usize,
    /// Verification requests over HTTP.
    #[arg(long, default_value_t = 5000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Run on PostgreSQL: an administrative URL; a fresh database is created there and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// The summary line, fields in this order.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub backend: &'static str,
    /// Bytes of the licence statement signed in the baseline.
    pub statement_bytes: usize,
    /// SM2 signatures per second in process (one core).
    pub sign_per_s: f64,
    /// SM2 verifications per second in process (one core).
    pub verify_per_s: f64,
    /// Licences issued per second through the service (sign, write, history, audit), sequentially.
    pub issue_per_s: f64,
    pub requests: usize,
    /// Public verifications per second over HTTP.
    pub http_verify_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that failed or did not answer `valid`.
    pub errors: usize,
}

/// Run the scenario; returns its summary.
pub async fn run(args: &Args) -> anyhow::Result<Summary> {
    anyhow::ensure!(args.signatures > 0, "--signatures must be at least 1");
    anyhow::ensure!(args.licences > 0, "--licences must be at least 1");
    anyhow::ensure!(
        (1..=400).contains(&args.holders),
        "--holders must be 1 to 400"
    );
    anyhow::ensure!(args.requests > 0, "--requests must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    let start = Instant::now();
    let bench = BenchDb::create(args.postgres.as_deref()).await?;
    progress(
        start,
        &format!(
            "fresh {} database at {}",
            bench.backend().name(),
            yiwang_db::redact_url(&bench.url)
        ),
    );
    let result = measure(args, &bench, start).await;
    let cleanup = bench.finish().await;
    let summary = result?;
    cleanup?;
    progress(start, "done; database removed");
    Ok(summary)
}

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "bench".to_owned(),
        user_agent: String::new(),
    }
}

/// `n` written with the Chinese digits 〇 … 九 (12 → 一二).
fn chinese_number(n: usize) -> String {
    const DIGITS: [char; 10] = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    n.to_string()
        .bytes()
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect()
}

fn field(name: &str, label: &str, public: bool) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: FieldKind::Text,
        required: true,
        public,
    }
}

/// 居住证 of 合肥市公安局: a person's licence valid one year.
fn residence_permit() -> LicenseType {
    LicenseType {
        code: TYPE_CODE.to_owned(),
        name: "居住证".to_owned(),
        departments: vec![DEPARTMENT.to_owned()],
        holder: HolderKind::Person,
        fields: vec![
            field("address", "居住地址", false),
            field("issuing_office", "签发机关", true),
        ],
        validity: Validity::Years { years: 1 },
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

/// The organisation, the licence type, the holders; returns the service and the holders' ids.
async fn set_up(
    args: &Args,
    config: &Config,
    db: &yiwang_db::Db,
    clock: &SharedClock,
    pii_key: &str,
    start: Instant,
) -> anyhow::Result<(
    yiwang_licenses::Licenses,
    Vec<yiwang_identity::model::PersonId>,
)> {
    yiwang_db::migrate::run(db, clock.now()).await?;
    yiwang_demo::org::load_org(db, clock, "system:bench").await?;
    let calendar = yiwang_server::config::load_calendar(&config.calendar_dir())?;
    let licenses = yiwang_licenses::Licenses::new(
        db.clone(),
        clock.clone(),
        yiwang_licenses::SealCipher::new(yiwang_licenses::derive_seal_key(pii_key)?),
        calendar,
        Arc::new(yiwang_identity::pii::PiiProtector::from_hex(pii_key)?),
    );
    licenses
        .define_type(&Principal::System, &residence_permit(), "bench")
        .await?;
    let accounts = yiwang_server::accounts(config, db, clock)?;
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let mut holders = Vec::with_capacity(args.holders);
    for n in 0..args.holders {
        let resident_id = ResidentId::complete(&format!(
            "340104{}{:02}{:02}{:03}",
            1960 + n % 40,
            1 + n % 12,
            1 + n % 28,
            100 + n
        ))?;
        let raw = RawRegistration {
            // Names take no digits: the holder's number in Chinese numerals.
            name: format!("持证人{}", chinese_number(n)),
            resident_id: resident_id.as_str().to_owned(),
            mobile: format!("1370551{n:04}"),
            password: PASSWORD.to_owned(),
        };
        let registration =
            Registration::parse(&raw).map_err(|e| anyhow!("bench holder {n}: {e:?}"))?;
        let person = accounts
            .register_person(&registration, &meta(), &mut rng)
            .await?;
        holders.push(person.id);
    }
    progress(
        start,
        &format!(
            "set up: demo organisation, licence type 居住证 of {DEPARTMENT}, {} holders",
            args.holders
        ),
    );
    Ok((licenses, holders))
}

/// Signatures and verifications per second over `bytes` on this thread.
fn baseline(bytes: &[u8], n: usize) -> (f64, f64) {
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let pair = Sm2KeyPair::generate(&mut rng);
    let public = pair.public_key_hex();
    let began = Instant::now();
    let mut signatures = Vec::with_capacity(n);
    for _ in 0..n {
        signatures.push(pair.sign(bytes));
    }
    let sign_per_s = per_second(n, began.elapsed());
    let began = Instant::now();
    let valid = signatures
        .iter()
        .filter(|s| sm2_verify(&public, bytes, s).is_ok())
        .count();
    let verify_per_s = per_second(n, began.elapsed());
    debug_assert_eq!(valid, n);
    (sign_per_s, verify_per_s)
}

async fn measure(args: &Args, bench: &BenchDb, start: Instant) -> anyhow::Result<Summary> {
    let db = bench.db.clone();
    let clock = yiwang_server::system_clock();
    let pii_key = format!("{}{}", random_hex64(), random_hex64());
    let config = Config {
        data_dir: bench.data_dir().to_path_buf(),
        database_url: Some(Secret::new(bench.url.clone())),
        pii_key: Secret::new(pii_key.clone()),
        ..Config::default()
    };
    let (licenses, holders) = set_up(args, &config, &db, &clock, &pii_key, start).await?;

    // Issue through the service: each one signed with the department's seal key and written.
    let began = Instant::now();
    let mut texts = Vec::with_capacity(args.licences * 2);
    let mut statement = Vec::new();
    for n in 0..args.licences {
        let mut data = BTreeMap::new();
        data.insert(
            "address".to_owned(),
            format!("安徽省合肥市蜀山区长江西路{}号", 100 + n),
        );
        data.insert(
            "issuing_office".to_owned(),
            "合肥市公安局蜀山分局".to_owned(),
        );
        let licence = licenses
            .issue(
                &Principal::System,
                &IssueRequest {
                    type_code: TYPE_CODE.to_owned(),
                    holder: Some(HolderRef::Person(holders[n % holders.len()])),
                    data,
                    valid_from: None,
                    department: Some(DEPARTMENT.to_owned()),
                },
                "bench",
            )
            .await
            .with_context(|| format!("issuing licence {n}"))?;
        if statement.is_empty() {
            statement = licence.signed.as_bytes().to_vec();
        }
        texts.push(licence.identifier.to_string());
        texts.push(licence.qr_payload());
    }
    let issue_per_s = per_second(args.licences, began.elapsed());
    progress(
        start,
        &format!("issued {} licences ({issue_per_s}/s)", args.licences),
    );
    let (sign_per_s, verify_per_s) = baseline(&statement, args.signatures);
    progress(
        start,
        &format!(
            "baseline over {} bytes: {sign_per_s} signatures/s, {verify_per_s} verifications/s",
            statement.len()
        ),
    );

    let server = InProcessServer::start(bench, clock, pii_key, false).await?;
    let http = Http::new(&server.base, args.concurrency * 2);
    let result = drive(args, &http, Arc::new(texts), &server.task, start).await;
    server.stop().await?;
    let (http_verify_per_s, p50_ms, p99_ms, errors) = result?;
    Ok(Summary {
        scenario: "licences",
        backend: bench.backend().name(),
        statement_bytes: statement.len(),
        sign_per_s,
        verify_per_s,
        issue_per_s,
        requests: args.requests,
        http_verify_per_s,
        p50_ms,
        p99_ms,
        errors,
    })
}

/// One public verification; `Ok` only for 200 with the outcome `valid`.
async fn verify(http: &Http, text: &str) -> anyhow::Result<()> {
    let (status, body) = http
        .call(
            Method::POST,
            "/api/v1/licences/verify",
            None,
            Some(&json!({ "text": text })),
        )
        .await?;
    if status != 200 {
        bail!("HTTP {status}: {}", excerpt(&body));
    }
    let verdict: Value = serde_json::from_slice(&body)?;
    if verdict["outcome"] != "valid" {
        bail!("not valid: {verdict}");
    }
    Ok(())
}

async fn drive(
    args: &Args,
    http: &Http,
    texts: Arc<Vec<String>>,
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    start: Instant,
) -> anyhow::Result<(f64, f64, f64, usize)> {
    http.wait_ready(server).await?;
    // Warm-up: every text once (the first also proves the server verifies), not counted.
    for text in texts.iter() {
        verify(http, text).await.context("warm-up verification")?;
    }
    progress(
        start,
        &format!(
            "server at {}; {} texts verified once",
            http.base,
            texts.len()
        ),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (http, texts, next, total) = (
            http.clone(),
            Arc::clone(&texts),
            Arc::clone(&next),
            args.requests,
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0_usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let sent = Instant::now();
                match verify(&http, &texts[n % texts.len()]).await {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(error) => {
                        if errors == 0 {
                            eprintln!("verification {n} failed: {error:#}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests);
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await?;
        latencies.extend(mine);
        errors += failed;
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();
    progress(
        start,
        &format!(
            "{} verifications in {:.1}s, {errors} errors",
            args.requests,
            elapsed.as_secs_f64()
        ),
    );
    Ok((
        per_second(latencies.len(), elapsed),
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 99.0),
        errors,
    ))
}
