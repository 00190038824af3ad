//! The `search` scenario: a catalog of many items (default 50,000) made from the demo items and
//! imported through the catalog service, then a mix of real queries — official names, colloquial
//! phrases, pinyin, filters — run in process against the search index and over HTTP against the real
//! server (`GET /api/v1/items`) on keep-alive connections.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::Value;
use yiwang_catalog::search::{AudienceGroup, SearchParams};
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{Catalog, Origin};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{PageRequest, SharedClock};

use crate::database::{BenchDb, random_hex64};
use crate::items::Generator;
use crate::progress;
use crate::server::InProcessServer;
use crate::stats::{per_second, percentile_ms};

/// Results per page, as the portal asks for.
const PAGE_SIZE: u32 = 20;
/// How long the server may take to start (it builds its index first).
const READY_TIMEOUT: Duration = Duration::from_mins(10);

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Items in the catalog (the 121 demo items, then variants of them).
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Queries to run, in process and again over HTTP.
    #[arg(long, default_value_t = 2_000)]
    pub queries: usize,
    /// Concurrent HTTP clients (and threads searching in process).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Run on PostgreSQL: an administrative URL; a fresh database is created there and dropped at the end.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Items per import file.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
}

/// One query of the mix: text and filters, as a person would type or pick them.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    pub q: &'static str,
    pub audience: Option<&'static str>,
    pub theme: Option<&'static str>,
}

const fn text(q: &'static str) -> Query {
    Query {
        q,
        audience: None,
        theme: None,
    }
}

/// The query mix: official names, colloquial phrases, pinyin (full and initials) and filters.
pub const QUERIES: &[Query] = &[
    text("结婚登记"),
    text("食品经营许可"),
    text("公积金提取"),
    text("出生登记"),
    text("不动产转移登记"),
    text("企业设立登记"),
    text("医师执业注册"),
    text("公共场所卫生许可"),
    text("户口迁移"),
    text("建设工程规划许可证核发"),
    text("居民身份证换领"),
    text("社会保障卡申领"),
    text("蜀山区食品经营许可"),
    text("开饭店"),
    text("办营业执照"),
    text("生孩子"),
    text("取公积金"),
    text("二手房过户"),
    text("身份证丢了"),
    text("开公司"),
    text("上户口"),
    text("jhdj"),
    text("gjj"),
    text("shipin"),
    text("hukou"),
    text("bdc"),
    Query {
        q: "",
        audience: Some("person"),
        theme: None,
    },
    Query {
        q: "",
        audience: None,
        theme: Some("food"),
    },
    Query {
        q: "登记",
        audience: Some("person"),
        theme: None,
    },
    Query {
        q: "许可",
        audience: Some("legal"),
        theme: None,
    },
    Query {
        q: "证明",
        audience: None,
        theme: Some("birth"),
    },
    Query {
        q: "食品",
        audience: Some("legal"),
        theme: Some("food"),
    },
];

impl Query {
    fn params(&self) -> anyhow::Result<SearchParams> {
        let audience = match self.audience {
            Some(code) => Some(
                AudienceGroup::parse(code).with_context(|| format!("unknown audience {code}"))?,
            ),
            None => None,
        };
        Ok(SearchParams {
            q: self.q.to_owned(),
            audience,
            theme: self.theme.map(str::to_owned),
            page: PageRequest::new(Some(1), Some(PAGE_SIZE))?,
            ..SearchParams::default()
        })
    }

    /// The API path and query string.
    pub fn path(&self) -> String {
        let mut path = format!("/api/v1/items?q={}&page_size={PAGE_SIZE}", encode(self.q));
        if let Some(a) = self.audience {
            let _ = write!(path, "&audience={}", encode(a));
        }
        if let Some(t) = self.theme {
            let _ = write!(path, "&theme={}", encode(t));
        }
        path
    }

    fn label(&self) -> String {
        let mut label = format!("{:?}", self.q);
        for (name, value) in [("audience", self.audience), ("theme", self.theme)] {
            if let Some(v) = value {
                let _ = write!(label, " {name}={v}");
            }
        }
        label
    }
}

/// Percent-encoding of a query-string value (everything but the unreserved characters).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The summary line, fields in this order.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub items: usize,
    pub queries: usize,
    pub qps_http: f64,
    pub qps_in_process: f64,
    /// Latency of the HTTP queries.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Failed queries, over HTTP and in process.
    pub errors: usize,
}

/// Run the scenario; returns its summary.
pub async fn run(args: &Args) -> anyhow::Result<Summary> {
    anyhow::ensure!(args.items > 0, "--items must be at least 1");
    anyhow::ensure!(args.queries > 0, "--queries must be at least 1");
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.batch > 0, "--batch must be at least 1");
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

async fn measure(args: &Args, bench: &BenchDb, start: Instant) -> anyhow::Result<Summary> {
    let db = bench.db.clone();
    let clock = yiwang_server::system_clock();
    yiwang_db::migrate::run(&db, clock.now()).await?;
    let loaded = yiwang_demo::org::load_org(&db, &clock, "system:bench").await?;
    progress(
        start,
        &format!(
            "migrated; demo organisation loaded ({} departments)",
            loaded.departments_created
        ),
    );

    import_catalog(args, &db, &clock, start).await?;

    // The in-process figures use a catalog of their own, started as a node starts: index rebuilt.
    let catalog = Catalog::new(db.clone(), clock.clone())?;
    let began = Instant::now();
    let indexed = catalog.rebuild_index().await?;
    progress(
        start,
        &format!(
            "index rebuilt: {indexed} items in {:.1}s",
            began.elapsed().as_secs_f64()
        ),
    );
    let listed = catalog.search(&SearchParams::default())?.total;

    let (in_process, in_process_errors) = in_process(&catalog, args, start)?;
    drop(catalog);

    let http = over_http(args, bench, clock, listed, start).await?;

    Ok(Summary {
        scenario: "search",
        backend: bench.backend().name(),
        items: args.items,
        queries: args.queries,
        qps_http: http.qps,
        qps_in_process: in_process,
        p50_ms: http.p50_ms,
        p99_ms: http.p99_ms,
        errors: http.errors + in_process_errors,
    })
}

/// Import the generated catalog through the catalog service, one JSON file per batch.
async fn import_catalog(
    args: &Args,
    db: &yiwang_db::Db,
    clock: &SharedClock,
    start: Instant,
) -> anyhow::Result<()> {
    let generator = Generator::demo()?;
    let importer = Catalog::new(db.clone(), clock.clone())?;
    let origin = Origin {
        ip: "bench".to_owned(),
    };
    let mut from = 0;
    while from < args.items {
        let to = (from + args.batch).min(args.items);
        let file = generator.json_batch(from..to)?;
        let report = importer
            .import(&Principal::System, Format::Json, &file, &origin)
            .await
            .with_context(|| format!("importing items {from}..{to}"))?;
        anyhow::ensure!(
            report.created == to - from,
            "importing items {from}..{to} created {} items",
            report.created
        );
        progress(start, &format!("imported {to} of {} items", args.items));
        from = to;
    }
    Ok(())
}

/// Queries per second against the index, from `--concurrency` threads; and the errors met.
fn in_process(catalog: &Catalog, args: &Args, start: Instant) -> anyhow::Result<(f64, usize)> {
    let params: Vec<SearchParams> = QUERIES
        .iter()
        .map(Query::params)
        .collect::<Result<_, _>>()?;
    // Warm-up: each query once, and a look at what it finds.
    let mut found = Vec::new();
    let mut none = Vec::new();
    for (query, p) in QUERIES.iter().zip(&params) {
        let total = catalog.search(p)?.total;
        found.push(format!("{} {total}", query.label()));
        if total == 0 {
            none.push(query.label());
        }
    }
    progress(start, &format!("items found: {}", found.join(", ")));
    if !none.is_empty() {
        progress(
            start,
            &format!("queries that find nothing: {}", none.join(", ")),
        );
    }
    let next = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let began = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.concurrency {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= args.queries {
                        break;
                    }
                    if catalog.search(&params[i % params.len()]).is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let elapsed = began.elapsed();
    let qps = per_second(args.queries, elapsed);
    progress(
        start,
        &format!(
            "in process: {} queries in {:.2}s, {qps} per second",
            args.queries,
            elapsed.as_secs_f64()
        ),
    );
    Ok((qps, errors.into_inner()))
}

type HttpClient = Client<HttpConnector, Empty<&'static [u8]>>;

#[derive(Debug)]
struct HttpFigures {
    qps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

/// A response that was not 200.
#[derive(Debug)]
struct HttpStatus(u16);

impl std::fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP status {}", self.0)
    }
}

impl std::error::Error for HttpStatus {}

/// GET a search and return its `total`; anything but 200 with JSON holding `total` is an error.
async fn fetch(client: &HttpClient, url: &str) -> anyhow::Result<u64> {
    let response = client.get(url.parse()?).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if status.as_u16() != 200 {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(
            anyhow::Error::new(HttpStatus(status.as_u16())).context(format!("{url}: {text}"))
        );
    }
    let value: Value =
        serde_json::from_slice(&body).with_context(|| format!("{url}: the body is not JSON"))?;
    value
        .get("total")
        .and_then(Value::as_u64)
        .with_context(|| format!("{url}: the JSON has no \"total\""))
}

/// Start the real server on a free port, wait until it lists every item, then run the queries from
/// `--concurrency` clients over keep-alive connections.
async fn over_http(
    args: &Args,
    bench: &BenchDb,
    clock: SharedClock,
    listed: u64,
    start: Instant,
) -> anyhow::Result<HttpFigures> {
    let server = InProcessServer::start(
        bench,
        clock,
        format!("{}{}", random_hex64(), random_hex64()),
        false,
    )
    .await?;
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build_http();
    let result = drive(args, &client, &server.base, listed, &server.task, start).await;
    server.stop().await?;
    result
}

async fn drive(
    args: &Args,
    client: &HttpClient,
    base: &str,
    listed: u64,
    server: &tokio::task::JoinHandle<anyhow::Result<()>>,
    start: Instant,
) -> anyhow::Result<HttpFigures> {
    // Ready when the server lists as many items as the in-process index (it builds its own first).
    let probe = format!("{base}/api/v1/items?page_size=1");
    let began = Instant::now();
    loop {
        if server.is_finished() {
            bail!("the server stopped before it was ready");
        }
        match fetch(client, &probe).await {
            Ok(total) if total == listed => break,
            Err(e) if e.downcast_ref::<HttpStatus>().is_some_and(|s| s.0 == 404) => {
                return Err(e.context("the server has no item search API"));
            }
            Ok(_) | Err(_) if began.elapsed() < READY_TIMEOUT => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(total) => bail!("the server lists {total} items, expected {listed}"),
            Err(e) => return Err(e.context("the server did not become ready")),
        }
    }
    progress(
        start,
        &format!(
            "server ready at {base} after {:.1}s",
            began.elapsed().as_secs_f64()
        ),
    );
    let urls: Arc<Vec<String>> = Arc::new(
        QUERIES
            .iter()
            .map(|q| format!("{base}{}", q.path()))
            .collect(),
    );
    for url in urls.iter() {
        fetch(client, url).await.context("warm-up")?;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for _ in 0..args.concurrency {
        let (client, urls, next, total) = (
            client.clone(),
            Arc::clone(&urls),
            Arc::clone(&next),
            args.queries,
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let sent = Instant::now();
                let result = fetch(&client, &urls[i % urls.len()]).await;
                latencies.push(sent.elapsed());
                if let Err(e) = result {
                    errors.push(format!("{e:#}"));
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(args.queries);
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
            &format!("{} HTTP errors; the first: {first}", errors.len()),
        );
    }
    let figures = HttpFigures {
        qps: per_second(args.queries, elapsed),
        p50_ms: percentile_ms(&latencies, 50.0),
        p99_ms: percentile_ms(&latencies, 99.0),
        errors: errors.len(),
    };
    progress(
        start,
        &format!(
            "over HTTP: {} queries in {:.2}s, {} per second, p50 {} ms, p99 {} ms",
            args.queries,
            elapsed.as_secs_f64(),
            figures.qps,
            figures.p50_ms,
            figures.p99_ms
        ),
    );
    Ok(figures)
}
