//! The `cases` scenario: complete cases through HTTP with real sessions. Applicants and staff log in
//! over the API (bearer tokens of real sessions); each case is applied for, accepted at the window,
//! reviewed, granted and delivered by the people holding those posts, as the pages and clients do it:
//! open the case, claim the task offered, act on it.
//!
//! Set-up (not measured): a fresh database with the demo organisation and catalog; the item
//! 居住证申领 (合肥市公安局) gets a three-step workflow (窗口受理 → 科室审查 → 分管领导审批) on posts
//! held by `--staff` people each; `--applicants` persons register and log in over HTTP and upload
//! their material files once (reused by every application, as the portal offers).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{Value, json};
use yiwang_catalog::Catalog;
use yiwang_demo::cases::{DefaultShape, default_workflow, demo_pdf};
use yiwang_identity::model::{ClientMeta, NewStaff, PostInput, RawNewStaff};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ResidentId, SharedClock};
use yiwang_server::config::{Config, Secret};

use crate::database::{BenchDb, random_hex64};
use crate::progress;
use crate::server::InProcessServer;
use crate::stats::{per_second, percentile_ms};

/// 居住证申领, 合肥市公安局: a person's item with three mandatory materials.
const ITEM: &str = "07020000300134010011340100MB20121871";
const DEPARTMENT: &str = "hf-gaj";
const PASSWORD: &str = "Bench#2026case";
/// How long the server may take to answer its health check after start.
const READY_TIMEOUT: Duration = Duration::from_mins(2);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Complete cases to run.
    #[arg(long, default_value_t = 500)]
    pub cases: usize,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Registered applicants the cases are spread over.
    #[arg(long, default_value_t = 32)]
    pub applicants: usize,
    /// Staff members on each post (window, review, decision).
    #[arg(long, default_value_t = 4)]
    pub staff: usize,
    /// Run on PostgreSQL: an administrative URL; a fresh database is created there and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// The summary line, fields in this order.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub cases: usize,
    /// Complete cases (application to delivery) per second.
    pub cases_per_s: f64,
    /// Latency of one complete case, from the application to the delivery.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Cases that did not end concluded and granted.
    pub errors: usize,
}

/// Run the scenario; returns its summary.
pub async fn run(args: &Args) -> anyhow::Result<Summary> {
    anyhow::ensure!(args.cases > 0, "--cases must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.applicants > 0, "--applicants must be at least 1");
    anyhow::ensure!(args.staff > 0, "--staff must be at least 1");
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

/// A person's name for number `n` (surname and given name taken in turn; distinct up to 400).
fn name(n: usize) -> String {
    const SURNAMES: [&str; 20] = [
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
        "郭", "何", "高", "林", "罗",
    ];
    const GIVEN: [&str; 20] = [
        "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "勇", "杰", "娟", "涛", "明", "超",
        "秀英", "建华", "晓燕", "志强", "雨萱",
    ];
    format!("{}{}", SURNAMES[n % 20], GIVEN[(n / 20 + n) % 20])
}

/// Employee numbers of the staff on a post: e.g. `BW01`… for the window.
fn employee_no(post: &str, n: usize) -> String {
    let letter = match post {
        "window" => 'W',
        "review" => 'R',
        _ => 'A',
    };
    format!("B{letter}{:02}", n + 1)
}

/// The organisation, the catalog, the posts, their staff and the item's workflow, in process.
async fn set_up(
    args: &Args,
    config: &Config,
    db: &yiwang_db::Db,
    clock: &SharedClock,
    start: Instant,
) -> anyhow::Result<i64> {
    yiwang_db::migrate::run(db, clock.now()).await?;
    yiwang_demo::org::load_org(db, clock, "system:bench").await?;
    yiwang_demo::load_catalog(db, clock).await?;
    let accounts = yiwang_server::accounts(config, db, clock)?;
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    for (post_no, (code, post_name, duties)) in
        yiwang_demo::cases::DEPARTMENT_POSTS.iter().enumerate()
    {
        accounts
            .create_post(
                &Principal::System,
                "system:bench",
                DEPARTMENT,
                &PostInput {
                    code: (*code).to_owned(),
                    name: (*post_name).to_owned(),
                    duties: (*duties).to_owned(),
                },
                &meta(),
            )
            .await?;
        for n in 0..args.staff {
            let raw = RawNewStaff {
                employee_no: employee_no(code, n),
                name: name(300 + post_no * 20 + n),
                mobile: format!("1390551{post_no}{n:03}"),
                password: PASSWORD.to_owned(),
                roles: vec![
                    if *code == "window" {
                        "window_staff"
                    } else {
                        "approver"
                    }
                    .to_owned(),
                ],
                posts: vec![(*code).to_owned()],
            };
            let new = NewStaff::parse(&raw).map_err(|e| anyhow!("bench staff: {e:?}"))?;
            accounts
                .create_staff(
                    &Principal::System,
                    "system:bench",
                    DEPARTMENT,
                    &new,
                    &meta(),
                    &mut rng,
                )
                .await?;
        }
    }
    let calendar = yiwang_server::config::load_calendar(&config.calendar_dir())?;
    let catalog = Catalog::new(db.clone(), clock.clone())?;
    let cases = yiwang_server::cases(config, db, clock, &catalog, &calendar)?;
    let item = catalog.item_by_impl_code(ITEM).await?;
    let def = default_workflow(DefaultShape::Licence, DEPARTMENT, true)?;
    cases
        .publish_workflow(
            &Principal::System,
            item.id,
            &def,
            &yiwang_cases::Origin::default(),
        )
        .await?;
    progress(
        start,
        &format!(
            "set up: demo organisation and catalog, {} staff on each of 3 posts, workflow of 居住证申领 ({} steps)",
            args.staff,
            def.steps.len()
        ),
    );
    Ok(item.id.get())
}

/// Run the scenario against a fresh database.
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
    let item = set_up(args, &config, &db, &clock, start).await?;
    // Notifications are part of every change: the worker delivers them (to the log) meanwhile.
    let pii = Arc::new(yiwang_identity::pii::PiiProtector::from_hex(&pii_key)?);
    let server = InProcessServer::start(bench, clock, pii_key, true).await?;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency * 2)
        .build_http();
    let http = Http {
        client,
        base: server.base.clone(),
        codes: CodeReader {
            db: db.clone(),
            pii,
        },
    };
    let result = drive(args, &http, item, &server.task, start).await;
    server.stop().await?;
    let (cases_per_s, p50_ms, p99_ms, errors) = result?;
    Ok(Summary {
        scenario: "cases",
        backend: bench.backend().name(),
        cases: args.cases,
        cases_per_s,
        p50_ms,
        p99_ms,
        errors,
    })
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

#[derive(Debug, Clone)]
struct Http {
    client: HttpClient,
    base: String,
    codes: CodeReader,
}

/// Reads the registration codes the server "sent" (the SMS jobs it wrote), as a phone would.
#[derive(Clone)]
struct CodeReader {
    db: yiwang_db::Db,
    pii: Arc<yiwang_identity::pii::PiiProtector>,
}

impl std::fmt::Debug for CodeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeReader").finish_non_exhaustive()
    }
}

impl CodeReader {
    /// The code in the newest SMS to `mobile`.
    async fn code_for(&self, mobile: &str) -> anyhow::Result<String> {
        use yiwang_db::ConnectionTrait as _;
        let rows = self
            .db
            .conn()
            .query_all_raw(yiwang_db::stmt(
                self.db.conn(),
                "SELECT payload FROM jobs WHERE kind = 'notify.sms' ORDER BY id DESC",
                [],
            ))
            .await?;
        for row in rows {
            let payload: Value = serde_json::from_str(&row.try_get::<String>("", "payload")?)?;
            let message =
                yiwang_identity::service::recovery::open_message(self.pii.as_ref(), &payload)?;
            if message["to"] != mobile {
                continue;
            }
            let text = message["params"]["text"].as_str().unwrap_or_default();
            if let Some(start) = text.find("验证码为") {
                return Ok(text[start + "验证码为".len()..].chars().take(6).collect());
            }
        }
        Err(anyhow!("no registration code was sent to {mobile}"))
    }
}

impl Http {
    /// Send a request; anything but `expect` is an error naming the call and the answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Bytes)>,
        expect: u16,
    ) -> anyhow::Result<Bytes> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let (content_type, bytes) = body.unwrap_or(("", Bytes::new()));
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = self.client.request(request.body(Full::new(bytes))?).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if status != expect {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            bail!("{method} {path}: HTTP {status} (expected {expect}): {text}");
        }
        Ok(body)
    }

    async fn json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let body = body
            .map(|b| serde_json::to_vec(b).map(|v| ("application/json", Bytes::from(v))))
            .transpose()?;
        let bytes = self.call(method, path, token, body, expect).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).with_context(|| format!("{path}: the answer is not JSON"))
    }
}

/// A logged-in applicant with their kept files, one per mandatory material.
#[derive(Debug, Clone)]
struct Applicant {
    token: String,
    name: String,
    resident_id: String,
    mobile: String,
    materials: Vec<(String, String)>,
}

fn string<'a>(value: &'a Value, key: &str) -> anyhow::Result<&'a str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("the answer has no {key:?}: {value}"))
}

/// Register, log in and upload the material files of applicant `n`.
async fn applicant(http: &Http, item: i64, n: usize) -> anyhow::Result<Applicant> {
    let resident_id = ResidentId::complete(&format!(
        "340104{}{:02}{:02}{:03}",
        1960 + n % 40,
        1 + n % 12,
        1 + n % 28,
        n % 1000
    ))?
    .as_str()
    .to_owned();
    let mobile = format!("1370551{n:04}");
    let name = name(n);
    http.json(
        Method::POST,
        "/api/v1/auth/register/code",
        None,
        Some(&json!({ "mobile": mobile })),
        202,
    )
    .await?;
    let code = http.codes.code_for(&mobile).await?;
    http.json(
        Method::POST,
        "/api/v1/auth/register/person",
        None,
        Some(&json!({ "name": name, "resident_id": resident_id, "mobile": mobile, "password": PASSWORD, "code": code })),
        201,
    )
    .await?;
    let login = http
        .json(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&json!({ "login": mobile, "password": PASSWORD })),
            200,
        )
        .await?;
    let token = string(&login, "token")?.to_owned();
    let form = http
        .json(
            Method::GET,
            &format!("/api/v1/items/{item}/application"),
            None,
            None,
            200,
        )
        .await?;
    let mut materials = Vec::new();
    for material in form
        .get("materials")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("the application form lists no materials"))?
    {
        if material.get("mandatory").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let name = string(material, "name")?.to_owned();
        let boundary = format!("yiwang-bench-{}", random_hex64());
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"material.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&demo_pdf(&name));
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let file = http
            .call(
                Method::POST,
                "/api/v1/materials",
                Some(&token),
                Some((&content_type, Bytes::from(body))),
                201,
            )
            .await?;
        let file: Value = serde_json::from_slice(&file)?;
        materials.push((name, string(&file, "id")?.to_owned()));
    }
    Ok(Applicant {
        token,
        name,
        resident_id,
        mobile,
        materials,
    })
}

async fn staff_token(http: &Http, employee_no: &str) -> anyhow::Result<String> {
    let login = http
        .json(
            Method::POST,
            "/api/v1/staff/login",
            None,
            Some(&json!({ "employee_no": employee_no, "password": PASSWORD })),
            200,
        )
        .await?;
    Ok(string(&login, "token")?.to_owned())
}

/// Who works on the cases: tokens of the staff on each post.
#[derive(Debug)]
struct Crew {
    window: Vec<String>,
    review: Vec<String>,
    approve: Vec<String>,
}

/// One complete case: apply, then each post opens the case, claims the task it is offered and acts.
async fn complete_case(
    http: &Http,
    item: i64,
    applicant: &Applicant,
    crew: &Crew,
    n: usize,
) -> anyhow::Result<()> {
    let answers = json!({
        "applicant_name": applicant.name,
        "resident_id": applicant.resident_id,
        "mobile": applicant.mobile,
        "address": "安徽省合肥市蜀山区长江西路189号3栋502室",
        "reason": "在合肥市就业并居住满半年，申领居住证。",
    });
    let materials: Vec<Value> = applicant
        .materials
        .iter()
        .map(|(material, file)| json!({ "material": material, "file": file }))
        .collect();
    let submitted = http
        .json(
            Method::POST,
            "/api/v1/cases",
            Some(&applicant.token),
            Some(&json!({ "item": item, "answers": answers, "materials": materials })),
            201,
        )
        .await?;
    let id = string(&submitted, "id")?.to_owned();
    let pick = |tokens: &Vec<String>| tokens[n % tokens.len()].clone();
    let window = pick(&crew.window);
    let steps = [
        (
            window.clone(),
            "accept",
            "申请材料齐全，符合法定形式，予以受理。",
        ),
        (
            pick(&crew.review),
            "agree",
            "经审查，符合居住证申领条件，拟同意。",
        ),
        (pick(&crew.approve), "grant", "准予核发居住证。"),
        (window, "conclude", "居住证已制发，申请人到窗口领取。"),
    ];
    let mut last = Value::Null;
    for (token, action, opinion) in steps {
        let case = http
            .json(
                Method::GET,
                &format!("/api/v1/cases/{id}"),
                Some(&token),
                None,
                200,
            )
            .await?;
        let task = case
            .get("actionable")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_i64)
            .ok_or_else(|| anyhow!("case {id}: nothing to {action}"))?;
        http.json(
            Method::POST,
            &format!("/api/v1/tasks/{task}/claim"),
            Some(&token),
            None,
            204,
        )
        .await?;
        last = http
            .json(
                Method::POST,
                &format!("/api/v1/tasks/{task}/act"),
                Some(&token),
                Some(&json!({ "action": action, "opinion": opinion })),
                200,
            )
            .await?;
    }
    let (status, outcome) = (string(&last, "status")?, string(&last, "outcome")?);
    if status != "concluded" || outcome != "granted" {
        bail!("case {id} ended {status} / {outcome}");
    }
    Ok(())
}

async fn drive(
    args: &Args,
    http: &Http,
    item: i64,
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    start: Instant,
) -> anyhow::Result<(f64, f64, f64, usize)> {
    let began = Instant::now();
    loop {
        if server.is_finished() {
            bail!("the server stopped before it was ready");
        }
        match http.call(Method::GET, "/healthz", None, None, 200).await {
            Ok(_) => break,
            Err(_) if began.elapsed() < READY_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.context("the server did not become ready")),
        }
    }
    let mut applicants = Vec::with_capacity(args.applicants);
    for n in 0..args.applicants {
        applicants.push(
            applicant(http, item, n)
                .await
                .with_context(|| format!("setting up applicant {n}"))?,
        );
    }
    let mut crew = Crew {
        window: Vec::new(),
        review: Vec::new(),
        approve: Vec::new(),
    };
    for n in 0..args.staff {
        crew.window
            .push(staff_token(http, &employee_no("window", n)).await?);
        crew.review
            .push(staff_token(http, &employee_no("review", n)).await?);
        crew.approve
            .push(staff_token(http, &employee_no("approve", n)).await?);
    }
    progress(
        start,
        &format!(
            "server at {}; {} applicants registered, logged in and holding their files; {} staff logged in",
            http.base,
            args.applicants,
            args.staff * 3
        ),
    );
    // Warm-up: one case, not counted.
    complete_case(http, item, &applicants[0], &crew, 0)
        .await
        .context("warm-up case")?;
    let applicants = Arc::new(applicants);
    let crew = Arc::new(crew);
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (http, applicants, crew, next, total) = (
            http.clone(),
            Arc::clone(&applicants),
            Arc::clone(&crew),
            Arc::clone(&next),
            args.cases,
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let sent = Instant::now();
                let result =
                    complete_case(&http, item, &applicants[n % applicants.len()], &crew, n).await;
                latencies.push(sent.elapsed());
                if let Err(e) = result {
                    errors.push(format!("{e:#}"));
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(args.cases);
    let mut errors = Vec::new();
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();
    if let Some(first) = errors.first() {
        progress(
            start,
            &format!("{} cases failed; the first: {first}", errors.len()),
        );
    }
    let rate = per_second(args.cases, elapsed);
    let (p50, p99) = (
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 99.0),
    );
    // 13 requests a case: apply, then open + claim + act at the window, review, decision and delivery.
    progress(
        start,
        &format!(
            "{} complete cases in {:.2}s: {rate} cases/s ({:.0} requests/s), p50 {p50} ms, p99 {p99} ms",
            args.cases,
            elapsed.as_secs_f64(),
            per_second(args.cases * 13, elapsed)
        ),
    );
    Ok((rate, p50, p99, errors.len()))
}
