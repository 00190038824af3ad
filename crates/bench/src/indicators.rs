//! The `indicators` scenario: how fast the performance indicators (绩效) and the scoreboard are
//! computed from the records over a year of a city's cases.
//!
//! Set-up (not measured): a fresh database with the whole demo (`yiwang demo`'s data: the
//! organisation, catalog, staff and cases); then `--cases` generated cases over the last 365 days,
//! copied from the demo cases' items, departments and applicants (mostly concluded, some late, one
//! in twelve with a 补正), `--ratings` ratings of concluded ones (a realistic mix of levels, every
//! 差评 with a closed rectification, one in four late), and `ANALYZE`.
//!
//! Measured, each query as the platform administrator (every department):
//! * **In process (baseline)**: the service call behind each query, three times each, the median.
//! * **Over HTTP**: `--requests` requests from `--concurrency` clients, rotating the month's
//!   indicators per department, a year's indicators per item and the month's scoreboard; p50/p99
//!   per query and requests per second overall.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Days, Months, Utc};
use http::Method;
use rand::{RngExt as _, SeedableRng as _};
use serde::Serialize;
use serde_json::{Value, json};
use yiwang_db::{ConnectionTrait, Db};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{RegionCode, SharedClock, china_date};
use yiwang_ratings::indicators::{Dimension, Period};
use yiwang_server::config::{Config, Secret};

use crate::client::{Http, excerpt};
use crate::database::{BenchDb, random_hex64};
use crate::progress;
use crate::server::InProcessServer;
use crate::stats::{per_second, percentile_ms, round};

/// Rows per generated `INSERT`.
const BATCH: usize = 1000;
/// Rows per transaction while generating.
const TRANSACTION_ROWS: usize = 50_000;
/// The platform administrator of the demo, who sees every department.
const ADMIN: &str = "PA0001";

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Generated cases over the last 365 days.
    #[arg(long, default_value_t = 1_000_000)]
    pub cases: usize,
    /// Generated ratings of concluded cases (at most the concluded cases).
    #[arg(long, default_value_t = 200_000)]
    pub ratings: usize,
    /// Requests over HTTP (the three queries in turn).
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Run on PostgreSQL: an administrative URL; a fresh database is created there and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// One query's latencies.
#[derive(Debug, Clone, Serialize)]
pub struct QueryFigures {
    pub query: &'static str,
    /// In process, the service call alone (median of three).
    pub in_process_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The summary line, fields in this order.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub backend: &'static str,
    /// Cases in the database (generated and the demo's).
    pub cases: i64,
    pub ratings: i64,
    /// Seconds spent generating the records (not measured otherwise).
    pub generate_s: f64,
    pub requests: usize,
    /// Requests per second over HTTP, all queries together.
    pub http_per_s: f64,
    pub queries: Vec<QueryFigures>,
    /// Requests that failed or did not answer 200.
    pub errors: usize,
}

/// Run the scenario; returns its summary.
pub async fn run(args: &Args) -> anyhow::Result<Summary> {
    anyhow::ensure!(
        (1..=5_000_000).contains(&args.cases),
        "--cases must be 1 to 5,000,000"
    );
    anyhow::ensure!(
        args.ratings <= args.cases,
        "--ratings must not exceed --cases"
    );
    anyhow::ensure!(args.requests > 0, "--requests must be at least 1");
    anyhow::ensure!(
        (1..=64).contains(&args.concurrency),
        "--concurrency must be 1 to 64"
    );
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
    // The demo load makes a large future: on the heap.
    let result = Box::pin(measure(args, &bench, start)).await;
    let cleanup = bench.finish().await;
    let summary = result?;
    cleanup?;
    progress(start, "done; database removed");
    Ok(summary)
}

/// The three queries: a name, the API path, and the service call they stand for.
#[derive(Debug, Clone)]
struct Query {
    name: &'static str,
    path: String,
    kind: QueryKind,
}

#[derive(Debug, Clone, Copy)]
enum QueryKind {
    Report(Dimension, Period),
    Scoreboard,
}

fn queries(now: DateTime<Utc>) -> anyhow::Result<(Vec<Query>, String)> {
    let today = china_date(now);
    let last_month = today
        .checked_sub_months(Months::new(1))
        .context("no last month")?
        .format("%Y-%m")
        .to_string();
    let year_ago = today
        .checked_sub_days(Days::new(365))
        .context("no year ago")?;
    let month = Period::month(&last_month)?;
    let year = Period::range(year_ago, today)?;
    Ok((
        vec![
            Query {
                name: "month_by_department",
                path: format!("/api/v1/indicators?month={last_month}"),
                kind: QueryKind::Report(Dimension::Department, month),
            },
            Query {
                name: "year_by_item",
                path: format!("/api/v1/indicators?by=item&from={year_ago}&to={today}"),
                kind: QueryKind::Report(Dimension::Item, year),
            },
            Query {
                name: "month_scoreboard",
                path: format!("/api/v1/indicators/scoreboard?month={last_month}"),
                kind: QueryKind::Scoreboard,
            },
        ],
        last_month,
    ))
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
    yiwang_db::migrate::run(&db, clock.now()).await?;
    let setup = yiwang_server::demo_setup(&config, &db, &clock)?;
    yiwang_demo::load(&setup).await?;
    progress(start, "demo loaded");

    let began = Instant::now();
    generate(args, &db, &clock, start).await?;
    let generate_s = round(began.elapsed().as_secs_f64(), 1);
    let cases = count(&db, "SELECT COUNT(*) FROM cases").await?;
    let ratings = count(&db, "SELECT COUNT(*) FROM ratings").await?;
    progress(
        start,
        &format!("{cases} cases and {ratings} ratings in {generate_s}s"),
    );

    let (queries, _) = queries(clock.now())?;
    let calendar = Arc::new(yiwang_server::config::load_calendar(
        &config.calendar_dir(),
    )?);
    let service = yiwang_server::ratings(&config, &db, &clock, &calendar)?;
    let admin = admin_principal(&db).await?;
    let mut baseline = Vec::with_capacity(queries.len());
    for query in &queries {
        let mut times = Vec::with_capacity(3);
        for _ in 0..3 {
            let began = Instant::now();
            match query.kind {
                QueryKind::Report(by, period) => {
                    service.indicators(&admin, by, period, None).await?;
                }
                QueryKind::Scoreboard => {
                    let month = query.path.rsplit('=').next().unwrap_or_default();
                    service.scoreboard(&admin, month).await?;
                }
            }
            times.push(began.elapsed());
        }
        times.sort_unstable();
        baseline.push(round(times[1].as_secs_f64() * 1000.0, 1));
        progress(
            start,
            &format!(
                "in process: {} in {} ms (median of 3)",
                query.name,
                baseline.last().copied().unwrap_or_default()
            ),
        );
    }

    let server = InProcessServer::start(bench, clock, pii_key, false).await?;
    let http = Http::new(&server.base, args.concurrency * 2);
    let result = drive(args, &http, &queries, &server.task, start).await;
    server.stop().await?;
    let (http_per_s, latencies, errors) = result?;
    Ok(Summary {
        scenario: "indicators",
        backend: bench.backend().name(),
        cases,
        ratings,
        generate_s,
        requests: args.requests,
        http_per_s,
        queries: queries
            .iter()
            .zip(baseline)
            .zip(latencies)
            .map(|((q, in_process_ms), sorted)| QueryFigures {
                query: q.name,
                in_process_ms,
                p50_ms: percentile_ms(&sorted, 50.0),
                p99_ms: percentile_ms(&sorted, 99.0),
            })
            .collect(),
        errors,
    })
}

/// The demo's platform administrator as the service sees them.
async fn admin_principal(db: &Db) -> anyhow::Result<Principal> {
    let staff = yiwang_identity::reads::staff_by_employee_no_in(db.conn(), ADMIN)
        .await?
        .with_context(|| format!("the demo has no {ADMIN}"))?;
    Ok(Principal::Staff(StaffPrincipal {
        id: staff.id,
        public_id: staff.public_id,
        department: staff.department_id,
        region: RegionCode::parse(&staff.region_code)?,
        roles: staff.roles,
    }))
}

async fn count(db: &Db, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .conn()
        .query_one_raw(yiwang_db::stmt(db.conn(), sql, []))
        .await?
        .context("no row")?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// What a generated case copies from a demo case: its item, department and applicant.
#[derive(Debug, Clone)]
struct Template {
    item_id: i64,
    item_version_id: i64,
    workflow_id: i64,
    department_id: i64,
    item_name: String,
    item_code: String,
    instant: i64,
}

#[derive(Debug, Clone)]
struct Applicant {
    person_id: i64,
    name: String,
    masked: String,
}

/// A text as an SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn templates(db: &Db) -> anyhow::Result<(Vec<Template>, Vec<Applicant>)> {
    let conn = db.conn();
    let rows = conn
        .query_all_raw(yiwang_db::stmt(
            conn,
            "SELECT DISTINCT item_id, item_version_id, workflow_id, department_id, item_name,
                 item_code, instant FROM cases WHERE status <> 'draft' ORDER BY item_id",
            [],
        ))
        .await?;
    let templates = rows
        .iter()
        .map(|r| {
            Ok(Template {
                item_id: r.try_get_by_index(0)?,
                item_version_id: r.try_get_by_index(1)?,
                workflow_id: r.try_get_by_index(2)?,
                department_id: r.try_get_by_index(3)?,
                item_name: r.try_get_by_index(4)?,
                item_code: r.try_get_by_index(5)?,
                instant: r.try_get_by_index(6)?,
            })
        })
        .collect::<Result<Vec<_>, yiwang_db::DbErr>>()?;
    let rows = conn
        .query_all_raw(yiwang_db::stmt(
            conn,
            "SELECT DISTINCT applicant_person_id, applicant_name, applicant_masked FROM cases
             ORDER BY applicant_person_id",
            [],
        ))
        .await?;
    let applicants = rows
        .iter()
        .map(|r| {
            Ok(Applicant {
                person_id: r.try_get_by_index(0)?,
                name: r.try_get_by_index(1)?,
                masked: r.try_get_by_index(2)?,
            })
        })
        .collect::<Result<Vec<_>, yiwang_db::DbErr>>()?;
    if templates.is_empty() || applicants.is_empty() {
        bail!("the demo has no cases to copy");
    }
    Ok((templates, applicants))
}

/// One generated case as the values of an `INSERT` row.
fn case_row(
    n: usize,
    t: &Template,
    a: &Applicant,
    now: DateTime<Utc>,
    rng: &mut rand::rngs::StdRng,
) -> String {
    let ts = |at: DateTime<Utc>| literal(&yiwang_db::ts(at));
    let submitted = now - chrono::Duration::seconds(rng.random_range(3_600..365 * 86_400));
    let accepted = submitted + chrono::Duration::seconds(rng.random_range(600..4 * 3_600));
    // The promised limit: 1, 5, 10 or 20 working days, about 1.4 calendar days each.
    let allowed_days = [1_i64, 5, 10, 20][rng.random_range(0..4)];
    let due = accepted + chrono::Duration::seconds(allowed_days * 120_960);
    // Mostly well within the limit, one in twenty late.
    let share = if rng.random_range(0..20) == 0 {
        rng.random_range(1.0..1.6)
    } else {
        rng.random_range(0.05..0.95)
    };
    let decided =
        accepted + chrono::Duration::seconds((allowed_days as f64 * 120_960.0 * share) as i64);
    let concluded = decided + chrono::Duration::seconds(rng.random_range(600..2 * 86_400));
    let done = concluded < now;
    let channel = if rng.random_range(0..10) < 7 {
        "online"
    } else {
        "counter"
    };
    format!(
        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, '{channel}', {}, {}, {}, '', {}, {}, {}, {}, {}, {}, {})",
        literal(&format!("bench{n:012}")),
        literal(&format!("BN{n:012}")),
        t.item_id,
        t.item_version_id,
        t.workflow_id,
        t.department_id,
        literal(&t.item_name),
        literal(&t.item_code),
        a.person_id,
        literal(&a.name),
        literal(&a.masked),
        if done { "'concluded'" } else { "'in_review'" },
        if done { "'granted'" } else { "NULL" },
        t.instant,
        ts(submitted),
        ts(submitted),
        ts(accepted),
        if done { ts(decided) } else { "NULL".to_owned() },
        if done {
            ts(concluded)
        } else {
            "NULL".to_owned()
        },
        ts(due),
        ts(if done { concluded } else { accepted }),
    )
}

/// The generated records: cases in batches, then 补正 events, ratings and rectifications by
/// `INSERT … SELECT`, then `ANALYZE`.
async fn generate(args: &Args, db: &Db, clock: &SharedClock, start: Instant) -> anyhow::Result<()> {
    let (templates, applicants) = templates(db).await?;
    let now = clock.now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut written = 0;
    while written < args.cases {
        let tx = db.begin().await?;
        let end = (written + TRANSACTION_ROWS).min(args.cases);
        while written < end {
            let batch_end = (written + BATCH).min(end);
            let rows: Vec<String> = (written..batch_end)
                .map(|n| {
                    let t = &templates[rng.random_range(0..templates.len())];
                    let a = &applicants[rng.random_range(0..applicants.len())];
                    case_row(n, t, a, now, &mut rng)
                })
                .collect();
            tx.execute_unprepared(&format!(
                "INSERT INTO cases (public_id, case_no, item_id, item_version_id, workflow_id,
                     department_id, item_name, item_code, applicant_person_id, applicant_name,
                     applicant_masked, channel, status, outcome, instant, form_sealed, created_at,
                     submitted_at, accepted_at, decided_at, concluded_at, decision_due_at,
                     updated_at) VALUES {}",
                rows.join(",")
            ))
            .await?;
            written = batch_end;
        }
        tx.commit().await?;
        progress(start, &format!("{written} cases written"));
    }
    let conn = db.conn();
    conn.execute_unprepared(
        "INSERT INTO case_events (case_id, at, actor, action, from_status, to_status)
         SELECT id, submitted_at, 'system:bench', 'supplement', 'submitted', 'supplement'
         FROM cases WHERE case_no LIKE 'BN%' AND id % 12 = 0",
    )
    .await?;
    let concluded = count(
        db,
        "SELECT COUNT(*) FROM cases WHERE case_no LIKE 'BN%' AND status = 'concluded'",
    )
    .await?;
    if args.ratings > 0 && concluded > 0 {
        let every = (concluded / i64::try_from(args.ratings)?).max(1);
        // Levels: 70% 非常满意, 15% 满意, 5% 基本满意, 5% 不满意, 5% 非常不满意.
        conn.execute_unprepared(&format!(
            "INSERT INTO ratings (public_id, event_kind, event_id, person_id, rater_name_masked,
                 rater_mobile_masked, department_id, region_code, item_name, level, tags, body,
                 channel, month, rated_at)
             SELECT 'BR' || CAST(c.id AS TEXT), 'case', c.id, c.applicant_person_id,
                 c.applicant_masked, '138****0000', c.department_id, d.region_code, c.item_name,
                 CASE (c.id / {every}) % 20 WHEN 0 THEN 5 WHEN 1 THEN 4 WHEN 2 THEN 3
                     WHEN 3 THEN 2 WHEN 4 THEN 2 WHEN 5 THEN 2 ELSE 1 END,
                 '[]', '', 'web', SUBSTR(c.concluded_at, 1, 7), c.concluded_at
             FROM cases c JOIN departments d ON d.id = c.department_id
             WHERE c.case_no LIKE 'BN%' AND c.status = 'concluded' AND c.id % {every} = 0
             ORDER BY c.id LIMIT {}",
            args.ratings
        ))
        .await?;
        // Every 差评 rectified and closed; one in four after its deadline (the start of its day).
        conn.execute_unprepared(
            "INSERT INTO rating_rectifications (rating_id, department_id, region_code, status,
                 contact_due_on, contact_due_at, rectify_due_on, rectify_due_at, contacted_at,
                 rectified_at, follow_up_result, followed_up_at, closed_at, closed_as,
                 created_at, updated_at)
             SELECT r.id, r.department_id, r.region_code, 'closed', SUBSTR(r.rated_at, 1, 10),
                 r.rated_at, SUBSTR(r.rated_at, 1, 10),
                 CASE WHEN r.id % 4 = 0 THEN SUBSTR(r.rated_at, 1, 10) || 'T00:00:00.000000Z'
                     ELSE r.rated_at END,
                 r.rated_at, r.rated_at, 'satisfied', r.rated_at, r.rated_at, 'rectified',
                 r.rated_at, r.rated_at
             FROM ratings r WHERE r.public_id LIKE 'BR%' AND r.level >= 4",
        )
        .await?;
    }
    conn.execute_unprepared("ANALYZE").await?;
    Ok(())
}

/// The queries over HTTP in turn; requests per second, each query's sorted latencies, errors.
async fn drive(
    args: &Args,
    http: &Http,
    queries: &[Query],
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    start: Instant,
) -> anyhow::Result<(f64, Vec<Vec<Duration>>, usize)> {
    http.wait_ready(server).await?;
    let (status, body) = http
        .call(
            Method::POST,
            "/api/v1/staff/login",
            None,
            Some(&json!({ "employee_no": ADMIN, "password": yiwang_demo::DEMO_PASSWORD })),
        )
        .await?;
    if status != 200 {
        bail!("log-in: HTTP {status}: {}", excerpt(&body));
    }
    let token: Arc<str> = serde_json::from_slice::<Value>(&body)?["token"]
        .as_str()
        .context("no token")?
        .into();
    // Warm-up: each query once, checked.
    for q in queries {
        let (status, body) = http.call(Method::GET, &q.path, Some(&token), None).await?;
        if status != 200 {
            bail!("{}: HTTP {status}: {}", q.path, excerpt(&body));
        }
    }
    progress(start, &format!("server at {}; warmed up", http.base));
    let paths: Arc<Vec<String>> = Arc::new(queries.iter().map(|q| q.path.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (http, paths, next, token, total) = (
            http.clone(),
            Arc::clone(&paths),
            Arc::clone(&next),
            Arc::clone(&token),
            args.requests,
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); paths.len()];
            let mut errors = 0_usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let which = n % paths.len();
                let sent = Instant::now();
                match http
                    .call(Method::GET, &paths[which], Some(&token), None)
                    .await
                {
                    Ok((200, _)) => latencies[which].push(sent.elapsed()),
                    Ok((status, body)) => {
                        if errors == 0 {
                            eprintln!("{}: HTTP {status}: {}", paths[which], excerpt(&body));
                        }
                        errors += 1;
                    }
                    Err(error) => {
                        if errors == 0 {
                            eprintln!("{}: {error:#}", paths[which]);
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    let mut errors = 0;
    for task in tasks {
        let (mine, failed) = task.await?;
        for (all, some) in latencies.iter_mut().zip(mine) {
            all.extend(some);
        }
        errors += failed;
    }
    let elapsed = began.elapsed();
    for l in &mut latencies {
        l.sort_unstable();
    }
    let answered: usize = latencies.iter().map(Vec::len).sum();
    progress(
        start,
        &format!(
            "{} requests in {:.1}s, {errors} errors",
            args.requests,
            elapsed.as_secs_f64()
        ),
    );
    Ok((per_second(answered, elapsed), latencies, errors))
}
