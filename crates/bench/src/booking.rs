//! The `booking` scenario: a flash crowd at release time (放号). A hospital department releases
//! `--slots` places at one instant; `--users` people, registered and logged in beforehand with real
//! sessions, all book at that instant over HTTP against the real server (`POST
//! /api/v1/appointments/bookings` with an `Idempotency-Key`), at most `--concurrency` requests in
//! flight. Afterwards the database is checked: no slot over capacity, nobody booked twice that day,
//! every confirmation has its booking row. The baseline is the same booking transaction called in
//! process (the service's `book`, no HTTP) for a fresh set of slots, in the same run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use chrono::{NaiveDate, NaiveTime, Timelike};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use yiwang_appointments::model::{
    BookRequest, BookingPolicy, DayRule, Group, GroupKind, NewGroup, NewResource, Period,
    ReleaseRule, Schedule, SlotId,
};
use yiwang_appointments::{AppointmentError, Appointments, AppointmentsConfig, Origin};
use yiwang_db::{ConnectionTrait, Db, stmt};
use yiwang_identity::model::{ClientMeta, PersonId, RawRegistration, Registration};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, SessionPolicy};
use yiwang_kernel::{ResidentId, SharedClock, china_date, china_local_to_utc, china_offset};

use crate::database::{BenchDb, random_hex64};
use crate::progress;
use crate::server::InProcessServer;
use crate::stats::{per_second, percentile_ms};

/// The hospital whose department releases the places (鄂尔多斯市康巴什区人民医院).
const HOSPITAL: &str = "kbs-rmyy";
/// The password of every generated account.
const PASSWORD: &str = "Yiwang#2026";
/// Minutes per slot; a doctor's day (08:00–18:00) has 60 of them.
const SLOT_MINUTES: u32 = 10;
const SLOTS_PER_DOCTOR: usize = 60;
/// How long after set-up the places are released (time for the server to start and settle).
const RELEASE_DELAY: chrono::Duration = chrono::Duration::seconds(5);
/// How long the server may take to start.
const READY_TIMEOUT: Duration = Duration::from_mins(2);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// People who book at the release instant (each registered and logged in first).
    #[arg(long, default_value_t = 20_000)]
    pub users: usize,
    /// Places released at once (the capacity).
    #[arg(long, default_value_t = 2_000)]
    pub slots: usize,
    /// Places per slot (a slot is one doctor's ten minutes); `--slots` must be a multiple.
    #[arg(long, default_value_t = 10)]
    pub per_slot: usize,
    /// Other slots a person tries after finding their first choice sold out.
    #[arg(long, default_value_t = 4)]
    pub retries: usize,
    /// Requests in flight at once (HTTP) and concurrent callers (baseline).
    #[arg(long, default_value_t = 256)]
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
    pub users: usize,
    /// Places released.
    pub capacity: usize,
    /// Booking requests sent over HTTP (first choices and retries after sold-out answers).
    pub attempts: usize,
    /// Attempts per second from the release to the last answer.
    pub attempts_per_s: f64,
    /// Live bookings in the database afterwards.
    pub bookings: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Slots whose bookings (or counter) exceed their capacity.
    pub overbooked: usize,
    /// People with more than one live booking that day.
    pub double_booked: usize,
    /// Confirmations (201) whose booking is not in the database.
    pub confirmed_without_booking: usize,
    /// The same booking transaction in process, without HTTP: bookings per second.
    pub baseline_tx_per_s: f64,
}

/// Run the scenario; returns its summary.
pub async fn run(args: &Args) -> anyhow::Result<Summary> {
    anyhow::ensure!(args.users > 0, "--users must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(
        args.per_slot > 0 && args.slots > 0 && args.slots.is_multiple_of(args.per_slot),
        "--slots must be a positive multiple of --per-slot"
    );
    anyhow::ensure!(
        args.users >= args.slots,
        "--users must be at least --slots, or the places cannot all be booked"
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
    let result = measure(args, &bench, start).await;
    let cleanup = bench.finish().await;
    let summary = result?;
    cleanup?;
    progress(start, "done; database removed");
    Ok(summary)
}

/// Everything a run shares.
struct Setup {
    db: Db,
    clock: SharedClock,
    pii_key: String,
    accounts: Accounts,
    appointments: Appointments,
    people: Vec<(PersonId, String)>,
}

async fn measure(args: &Args, bench: &BenchDb, start: Instant) -> anyhow::Result<Summary> {
    let db = bench.db.clone();
    let clock = yiwang_server::system_clock();
    yiwang_db::migrate::run(&db, clock.now()).await?;
    yiwang_demo::org::load_org(&db, &clock, "system:bench").await?;
    let pii_key = format!("{}{}", random_hex64(), random_hex64());
    let accounts = Accounts::new(
        db.clone(),
        clock.clone(),
        Arc::new(PiiProtector::from_hex(&pii_key)?),
        // Log-in is not what this scenario measures: cheap hashes let 20,000 people log in in
        // seconds (the server verifies with the parameters stored in each hash).
        PasswordCost::TEST,
        SessionPolicy::default(),
    )?;
    let appointments = Appointments::new(
        db.clone(),
        clock.clone(),
        Arc::new(yiwang_kernel::WorkCalendar::builtin()),
        AppointmentsConfig::default(),
    );
    let mut setup = Setup {
        db,
        clock,
        pii_key,
        accounts,
        appointments,
        people: Vec::new(),
    };
    setup.people = register(&setup, args.users, start).await?;

    let baseline = baseline(args, &setup, start).await?;

    let http = over_http(args, bench, &setup, start).await?;
    // The server closed the pool when it stopped: check from a new connection.
    let db = Db::connect(&bench.url).await?;
    let integrity = check(&db, http.group, &http.confirmed).await?;
    db.close().await?;
    progress(
        start,
        &format!(
            "database: {} bookings of {} places, {} confirmations; overbooked {}, double booked {}, confirmed without booking {}",
            integrity.bookings,
            args.slots,
            http.confirmed.len(),
            integrity.overbooked,
            integrity.double_booked,
            integrity.confirmed_without_booking
        ),
    );
    Ok(Summary {
        scenario: "booking",
        backend: bench.backend().name(),
        users: args.users,
        capacity: args.slots,
        attempts: http.attempts,
        attempts_per_s: http.attempts_per_s,
        bookings: integrity.bookings,
        p50_ms: http.p50_ms,
        p99_ms: http.p99_ms,
        overbooked: integrity.overbooked,
        double_booked: integrity.double_booked,
        confirmed_without_booking: integrity.confirmed_without_booking,
        baseline_tx_per_s: baseline,
    })
}

/// A valid resident ID for person `n` (born in 康巴什区, one birthday per thousand people).
fn resident_id(n: usize) -> anyhow::Result<ResidentId> {
    let birthday = NaiveDate::from_ymd_opt(1960, 1, 1).context("date")?
        + chrono::Duration::days((n / 1000) as i64);
    let first17 = format!("150603{}{:03}", birthday.format("%Y%m%d"), n % 1000);
    Ok(ResidentId::complete(&first17)?)
}

/// A distinct mobile number for person `n`.
fn mobile(n: usize) -> String {
    format!("139{n:08}")
}

/// Register `n` people through the identity service (several at a time).
async fn register(
    setup: &Setup,
    n: usize,
    start: Instant,
) -> anyhow::Result<Vec<(PersonId, String)>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (accounts, next) = (setup.accounts.clone(), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut rng: rand::rngs::StdRng = rand::make_rng();
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let registration = Registration::parse(&RawRegistration {
                    name: "测试居民".to_owned(),
                    resident_id: resident_id(i)?.as_str().to_owned(),
                    mobile: mobile(i),
                    password: PASSWORD.to_owned(),
                })
                .map_err(|e| anyhow::anyhow!("person {i}: {e:?}"))?;
                let person = accounts
                    .register_person(&registration, &ClientMeta::default(), &mut rng)
                    .await
                    .with_context(|| format!("registering person {i}"))?;
                done.push((i, person.id));
            }
            anyhow::Ok(done)
        }));
    }
    let mut people = vec![None; n];
    for task in tasks {
        for (i, id) in task.await?? {
            people[i] = Some((id, mobile(i)));
        }
    }
    progress(start, &format!("registered {n} people"));
    people
        .into_iter()
        .map(|p| p.context("a person was not registered"))
        .collect()
}

/// A hospital department releasing `capacity` places of `target` day at `release` (China time),
/// in slots of `per_slot` places: doctors with one opening period each, sized so the places add up.
async fn department(
    setup: &Setup,
    code: &str,
    args: &Args,
    target: NaiveDate,
    release: NaiveTime,
) -> anyhow::Result<(Group, Vec<SlotId>)> {
    let svc = &setup.appointments;
    let origin = Origin::new("bench");
    let hospital = yiwang_identity::service::department(&setup.db, HOSPITAL).await?;
    let today = china_date(setup.clock.now());
    let days_ahead = u32::try_from((target - today).num_days())?;
    let mut policy = BookingPolicy::hospital();
    policy.release = ReleaseRule {
        days_ahead,
        counting: yiwang_appointments::model::DayCount::NaturalDays,
        at: release,
    };
    // The reminders would be outbox jobs a day before; the worker is off in this run.
    let group = svc
        .create_group(
            &Principal::System,
            &hospital,
            &NewGroup {
                code: code.to_owned(),
                kind: GroupKind::HospitalDepartment,
                name: "内科".to_owned(),
                address: "康巴什区人民医院门诊楼二层".to_owned(),
                policy: Some(policy),
            },
            &origin,
        )
        .await?;
    let slots = args.slots / args.per_slot;
    let eight = NaiveTime::from_hms_opt(8, 0, 0).context("time")?;
    let mut made = 0;
    let mut doctor = 0;
    while made < slots {
        let n = (slots - made).min(SLOTS_PER_DOCTOR);
        let resource = svc
            .add_resource(
                &Principal::System,
                group.id,
                &NewResource {
                    code: format!("dr-{doctor:03}"),
                    name: format!("内科医生{doctor:03}"),
                    title: "主治医师".to_owned(),
                    ..NewResource::default()
                },
                &origin,
            )
            .await?;
        let schedule = Schedule {
            days: DayRule::EveryDay,
            periods: vec![Period {
                start: eight,
                end: eight + chrono::Duration::minutes(i64::from(SLOT_MINUTES) * n as i64),
            }],
            slot_minutes: SLOT_MINUTES,
            capacity: u32::try_from(args.per_slot)?,
            valid_from: Some(target),
            valid_until: Some(target),
        };
        svc.set_schedule(&Principal::System, resource.id, Some(&schedule), &origin)
            .await?;
        made += n;
        doctor += 1;
    }
    let created = svc
        .generate_slots(&Principal::System, group.id, days_ahead, &origin)
        .await?;
    anyhow::ensure!(
        created == slots,
        "{created} slots generated, {slots} expected"
    );
    let ids = svc
        .staff_slots(&Principal::System, group.id, target, target)
        .await?
        .into_iter()
        .map(|s| s.slot.id)
        .collect();
    Ok((group, ids))
}

/// The booking transaction without HTTP: every place of a fresh department booked by a different
/// person, `--concurrency` at a time, through the service's `book` (idempotency key, audit entry and
/// reminder job included). Returns bookings per second.
async fn baseline(args: &Args, setup: &Setup, start: Instant) -> anyhow::Result<f64> {
    let target = china_date(setup.clock.now()) + chrono::Duration::days(6);
    let (group, slots) = department(setup, "bench-baseline", args, target, NaiveTime::MIN).await?;
    let slots = Arc::new(slots);
    let people = Arc::new(setup.people.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.min(args.slots) {
        let (svc, slots, people, next) = (
            setup.appointments.clone(),
            Arc::clone(&slots),
            Arc::clone(&people),
            Arc::clone(&next),
        );
        let (total, per_slot) = (args.slots, args.per_slot);
        tasks.push(tokio::spawn(async move {
            let mut rng: rand::rngs::StdRng = rand::make_rng();
            let origin = Origin::new("bench");
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let request = BookRequest {
                    slot: Some(slots[i / per_slot]),
                    item_code: None,
                    idempotency_key: Some(format!("baseline-{i}")),
                };
                loop {
                    match svc
                        .book(&Principal::Person(people[i].0), &request, &origin, &mut rng)
                        .await
                    {
                        Ok(_) => break,
                        // Still busy after the service's own retries: nothing was booked; again.
                        Err(AppointmentError::Busy) => {}
                        Err(other) => return Err(anyhow::Error::new(other)),
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = began.elapsed();
    let rate = per_second(args.slots, elapsed);
    progress(
        start,
        &format!(
            "baseline: {} bookings in process in {:.2}s, {rate} per second (group {})",
            args.slots,
            elapsed.as_secs_f64(),
            group.code
        ),
    );
    Ok(rate)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Debug)]
struct HttpFigures {
    group: yiwang_appointments::model::GroupId,
    attempts: usize,
    attempts_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Booking id and person of every 201 answer.
    confirmed: Vec<(i64, i64)>,
}

async fn request(
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let body = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Full::new(Bytes::from(json.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    let response = client.request(builder.body(body)?).await?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await?.to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, value))
}

/// Log everyone in over HTTP (real sessions), release the places a few seconds later and let everyone
/// book at that instant.
async fn over_http(
    args: &Args,
    bench: &BenchDb,
    setup: &Setup,
    start: Instant,
) -> anyhow::Result<HttpFigures> {
    let server =
        InProcessServer::start(bench, setup.clock.clone(), setup.pii_key.clone(), false).await?;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http();
    let result = drive(args, setup, &client, &server.base, &server.task, start).await;
    server.stop().await?;
    result
}

async fn drive(
    args: &Args,
    setup: &Setup,
    client: &HttpClient,
    base: &str,
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    start: Instant,
) -> anyhow::Result<HttpFigures> {
    let began = Instant::now();
    loop {
        if server.is_finished() {
            bail!("the server stopped before it was ready");
        }
        match request(client, "GET", &format!("{base}/readyz"), &[], None).await {
            Ok((200, _)) => break,
            _ if began.elapsed() < READY_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            _ => bail!("the server did not become ready"),
        }
    }
    let tokens = log_in(args, setup, client, base, start).await?;

    // Release the places a few seconds from now (whole seconds, China time), seven days ahead.
    let release_at = setup.clock.now() + RELEASE_DELAY;
    let local = release_at.with_timezone(&china_offset());
    let release =
        NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second()).context("time")?;
    let target = local.date_naive() + chrono::Duration::days(7);
    let release_instant = china_local_to_utc(local.date_naive().and_time(release));
    let (group, slots) = department(setup, "bench-flash", args, target, release).await?;
    progress(
        start,
        &format!(
            "{} places in {} slots of {target} are released at {release} China time",
            args.slots,
            slots.len()
        ),
    );
    let url = format!(
        "{base}/api/v1/appointments/groups/{}/slots?from={target}&to={target}",
        group.id
    );
    let (status, listed) = request(client, "GET", &url, &[], None).await?;
    anyhow::ensure!(
        status == 200 && listed["total"] == 0,
        "slots are listed before their release: {listed}"
    );
    let wait = (release_instant - setup.clock.now())
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;

    let slots = Arc::new(slots);
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let book_url = Arc::new(format!("{base}/api/v1/appointments/bookings"));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, slots, tokens, next, confirmed, book_url) = (
            client.clone(),
            Arc::clone(&slots),
            Arc::clone(&tokens),
            Arc::clone(&next),
            Arc::clone(&confirmed),
            Arc::clone(&book_url),
        );
        let (users, retries, people) = (args.users, args.retries, setup.people.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut unexpected = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    break;
                }
                let auth = format!("Bearer {}", tokens[i]);
                // First choice spread over the slots; after a sold-out answer, the next slots.
                for k in 0..=retries {
                    let slot = slots[(i + k) % slots.len()];
                    let key = format!("flash-{i}-{slot}");
                    let body = json!({ "slot": slot.get() });
                    let sent = Instant::now();
                    let answer = request(
                        &client,
                        "POST",
                        &book_url,
                        &[("authorization", &auth), ("idempotency-key", &key)],
                        Some(&body),
                    )
                    .await;
                    latencies.push(sent.elapsed());
                    match answer {
                        Ok((201, value)) => {
                            let id = value["id"].as_i64().unwrap_or_default();
                            confirmed.lock().await.push((id, people[i].0.get()));
                            break;
                        }
                        Ok((409, value)) if value["error"]["code"] == "slot_sold_out" => {}
                        Ok((409, value)) if value["error"]["code"] == "already_booked_that_day" => {
                            break;
                        }
                        Ok((status, value)) => {
                            unexpected.push(format!("{status} {value}"));
                            break;
                        }
                        Err(e) => {
                            unexpected.push(format!("{e:#}"));
                            break;
                        }
                    }
                }
            }
            (latencies, unexpected)
        }));
    }
    let mut latencies = Vec::new();
    let mut unexpected = Vec::new();
    for task in tasks {
        let (l, u) = task.await?;
        latencies.extend(l);
        unexpected.extend(u);
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();
    if let Some(first) = unexpected.first() {
        progress(
            start,
            &format!(
                "{} unexpected answers; the first: {first}",
                unexpected.len()
            ),
        );
    }
    let attempts = latencies.len();
    let figures = HttpFigures {
        group: group.id,
        attempts,
        attempts_per_s: per_second(attempts, elapsed),
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        confirmed: std::mem::take(&mut *confirmed.lock().await),
    };
    progress(
        start,
        &format!(
            "over HTTP: {attempts} attempts by {} people in {:.2}s, {} per second, p50 {} ms, p99 {} ms, {} booked",
            args.users,
            elapsed.as_secs_f64(),
            figures.attempts_per_s,
            figures.p50_ms,
            figures.p99_ms,
            figures.confirmed.len()
        ),
    );
    if !unexpected.is_empty() {
        bail!(
            "{} booking requests had unexpected answers",
            unexpected.len()
        );
    }
    Ok(figures)
}

/// Log every person in over HTTP (`POST /api/v1/auth/login`); returns their session tokens.
async fn log_in(
    args: &Args,
    setup: &Setup,
    client: &HttpClient,
    base: &str,
    start: Instant,
) -> anyhow::Result<Vec<String>> {
    let url = Arc::new(format!("{base}/api/v1/auth/login"));
    let people = Arc::new(setup.people.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.min(64) {
        let (client, url, people, next) = (
            client.clone(),
            Arc::clone(&url),
            Arc::clone(&people),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= people.len() {
                    break;
                }
                let body = json!({ "login": people[i].1, "password": PASSWORD });
                let (status, value) = request(&client, "POST", &url, &[], Some(&body)).await?;
                anyhow::ensure!(status == 200, "log-in of person {i}: {status} {value}");
                let token = value["token"]
                    .as_str()
                    .context("the log-in answer has no token")?
                    .to_owned();
                tokens.push((i, token));
            }
            anyhow::Ok(tokens)
        }));
    }
    let mut tokens = vec![String::new(); setup.people.len()];
    for task in tasks {
        for (i, token) in task.await?? {
            tokens[i] = token;
        }
    }
    progress(
        start,
        &format!(
            "{} people logged in over HTTP in {:.1}s",
            tokens.len(),
            began.elapsed().as_secs_f64()
        ),
    );
    Ok(tokens)
}

#[derive(Debug)]
struct Integrity {
    bookings: usize,
    overbooked: usize,
    double_booked: usize,
    confirmed_without_booking: usize,
}

async fn count(db: &Db, sql: &str, group: i64) -> anyhow::Result<usize> {
    let conn = db.conn();
    let row = conn
        .query_one_raw(stmt(conn, sql, [group.into()]))
        .await?
        .context("no row")?;
    Ok(usize::try_from(row.try_get_by_index::<i64>(0)?)?)
}

/// Check the flash crowd's department from the database.
async fn check(
    db: &Db,
    group: yiwang_appointments::model::GroupId,
    confirmed: &[(i64, i64)],
) -> anyhow::Result<Integrity> {
    let g = group.get();
    let bookings = count(
        db,
        "SELECT COUNT(*) FROM appt_bookings WHERE group_id = $1 AND status <> 'cancelled'",
        g,
    )
    .await?;
    let overbooked = count(
        db,
        "SELECT COUNT(*) FROM appt_slots s WHERE s.group_id = $1 AND (s.booked > s.capacity
           OR (SELECT COUNT(*) FROM appt_bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled') > s.capacity
           OR (SELECT COUNT(*) FROM appt_bookings b WHERE b.slot_id = s.id AND b.status <> 'cancelled') <> s.booked)",
        g,
    )
    .await?;
    let double_booked = count(
        db,
        "SELECT COUNT(*) FROM (SELECT person_id FROM appt_bookings
           WHERE group_id = $1 AND status <> 'cancelled' GROUP BY person_id, day HAVING COUNT(*) > 1) twice",
        g,
    )
    .await?;
    let conn = db.conn();
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT id, person_id FROM appt_bookings WHERE group_id = $1 AND status <> 'cancelled'",
            [g.into()],
        ))
        .await?;
    let mut stored = std::collections::HashSet::new();
    for row in &rows {
        stored.insert((
            row.try_get_by_index::<i64>(0)?,
            row.try_get_by_index::<i64>(1)?,
        ));
    }
    let confirmed_without_booking = confirmed.iter().filter(|c| !stored.contains(c)).count();
    Ok(Integrity {
        bookings,
        overbooked,
        double_booked,
        confirmed_without_booking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identities_are_valid_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..3000)
            .map(|n| resident_id(n).unwrap().as_str().to_owned())
            .collect();
        assert_eq!(ids.len(), 3000);
        assert!(yiwang_kernel::Mobile::parse(&mobile(19_999)).is_ok());
    }
}
