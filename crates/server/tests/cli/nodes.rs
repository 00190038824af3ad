//! Several `yiwang serve` processes on one database: what one node does, the others see — sessions,
//! jobs run once, the search index and the hall board catching up, shared abuse limits — and each
//! stops cleanly.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use yiwang_demo::{DEMO_LOGINS, DEMO_PASSWORD, HALL_CODE};

use super::client::{get, post, request};
use yiwang_db::{ConnectionTrait, stmt};

use super::{BIN, TEST_PII_KEY, count, stderr, yiwang};

/// A running `yiwang serve`, killed when dropped.
#[derive(Debug)]
pub struct Node {
    pub child: tokio::process::Child,
    pub addr: String,
    pub log: PathBuf,
}

impl Node {
    /// Start `yiwang serve` on a free port of 127.0.0.1 against `database_url`, logging JSON to a file
    /// in `dir` (message texts included, so deliveries can be counted).
    pub async fn start(name: &str, database_url: &str, dir: &Path) -> Node {
        let data_dir = dir.join(name);
        std::fs::create_dir_all(&data_dir).unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut child = tokio::process::Command::new(BIN)
            .args([
                "--data-dir",
                data_dir.to_str().unwrap(),
                "serve",
                "--addr",
                "127.0.0.1:0",
            ])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("YIWANG_DATABASE_URL", database_url)
            .env("YIWANG_PII_KEY", TEST_PII_KEY)
            .env("YIWANG_INDEX_CATCH_UP_SECS", "1")
            .env("YIWANG_LOG_MESSAGE_TEXT", "true")
            .env("YIWANG_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_mins(1), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{name} did not start: {}", read(&log)))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} exited: {}", read(&log)));
        let addr = line
            .strip_prefix("Yiwang is serving on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Node { child, addr, log }
    }

    /// Stop with SIGTERM and expect a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().unwrap().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("stops in time")
            .unwrap();
        assert!(
            status.success(),
            "clean exit: {status:?}\n{}",
            read(&self.log)
        );
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Load the demo into `database_url` with `yiwang demo --no-serve`, as an operator would.
pub async fn load_demo(database_url: &str, dir: &Path) {
    let url = database_url.to_owned();
    let data_dir = dir.join("demo");
    let loaded = tokio::task::spawn_blocking(move || {
        yiwang(
            &[
                "--data-dir",
                data_dir.to_str().unwrap(),
                "demo",
                "--no-serve",
            ],
            &[
                ("YIWANG_DATABASE_URL", url.as_str()),
                ("YIWANG_PII_KEY", TEST_PII_KEY),
            ],
        )
    })
    .await
    .unwrap();
    assert!(loaded.status.success(), "{}", stderr(&loaded));
}

/// Log in over the API; the session token.
pub async fn login(addr: &str, path: &str, body: Value) -> String {
    let reply = post(addr, path, None, &body).await;
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.json()["token"].as_str().unwrap().to_owned()
}

/// A `notify.sms` job as the test sees it: the recipient opened from the sealed payload.
#[derive(Debug)]
struct SmsJob {
    to: String,
    status: String,
    attempts: i64,
}

/// The `notify.sms` jobs after job id `after`, opened with the test PII key.
async fn sms_jobs(db: &yiwang_db::Db, after: i64) -> Vec<SmsJob> {
    let seal = yiwang_identity::pii::PiiProtector::from_hex(TEST_PII_KEY).unwrap();
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.conn(),
            "SELECT payload, status, attempts FROM jobs WHERE id > $1 AND kind = 'notify.sms' ORDER BY id",
            [after.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get_by_index(0).unwrap();
            let message =
                yiwang_notify::open_message(&seal, &serde_json::from_str(&payload).unwrap())
                    .unwrap();
            SmsJob {
                to: message["to"].as_str().unwrap_or_default().to_owned(),
                status: row.try_get_by_index(1).unwrap(),
                attempts: row.try_get_by_index(2).unwrap(),
            }
        })
        .collect()
}

/// Wait until `check` holds (polling), or fail with `what`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not within 30 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The item record of an export whose name is to change, with its new name.
fn renamed(record: &mut Value, name: &str) {
    match record.get_mut("content") {
        Some(content) => content["name"] = json!(name),
        None => record["name"] = json!(name),
    }
}

fn names(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waiting tickets of a category on a board.
fn waiting(board: &Value, category: &str) -> i64 {
    board["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["category"] == category)
        .map_or(0, |q| q["waiting"].as_i64().unwrap())
}

yiwang_db::postgres_only! {
    /// Two nodes on one fresh PostgreSQL database with the demo loaded by `yiwang demo`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_nodes_share_one_database() {
        let t = yiwang_db::testing::postgres_empty()
            .await
            .unwrap()
            .expect("PostgreSQL is configured");
        let dir = tempfile::tempdir().unwrap();
        load_demo(&t.url, dir.path()).await;
        let a = Node::start("a", &t.url, dir.path()).await;
        let b = Node::start("b", &t.url, dir.path()).await;

        // A session made on A is valid on B, and ending it on B ends it on A.
        let citizen = DEMO_LOGINS[0];
        let login_a = post(
            &a.addr,
            "/api/v1/auth/login",
            None,
            &json!({"login": citizen.mobile, "password": DEMO_PASSWORD}),
        )
        .await;
        assert_eq!(login_a.status, 200, "{}", login_a.body);
        let token = login_a.json()["token"].as_str().unwrap().to_owned();
        let me_b = get(&b.addr, "/api/v1/me", Some(&token)).await;
        assert_eq!(me_b.status, 200, "{}", me_b.body);
        assert_eq!(me_b.json()["public_id"], login_a.json()["person"]["public_id"]);
        assert_eq!(me_b.json()["name"], citizen.name);
        let out = request(&b.addr, "POST", "/api/v1/auth/logout", Some(&token), None).await;
        assert_eq!(out.status, 204, "{}", out.body);
        assert_eq!(get(&a.addr, "/api/v1/me", Some(&token)).await.status, 401);

        // Outbox jobs made on either node run exactly once: each registration code is one SMS,
        // delivered (logged) by exactly one node's worker, in one attempt.
        let before = count(&t.db, "SELECT COALESCE(MAX(id), 0) FROM jobs").await;
        let mobiles = ["13700001001", "13700002002", "13700003003", "13700004004", "13700005005"];
        for (i, mobile) in mobiles.iter().enumerate() {
            let node = if i % 2 == 0 { &a } else { &b };
            let sent = post(&node.addr, "/api/v1/auth/register/code", None, &json!({"mobile": mobile})).await;
            assert_eq!(sent.status, 202, "{}", sent.body);
        }
        // Other SMS (licence renewal reminders, booking reminders) may be written by the nodes'
        // periodic jobs meanwhile: only the jobs addressed to these mobiles are the codes'.
        let ours = |jobs: Vec<SmsJob>| -> Vec<SmsJob> {
            jobs.into_iter().filter(|j| mobiles.contains(&j.to.as_str())).collect()
        };
        assert_eq!(ours(sms_jobs(&t.db, before).await).len(), 5, "one SMS job per code");
        let db = t.db.clone();
        eventually("every SMS job is done", || {
            let db = db.clone();
            async move {
                let jobs = ours(sms_jobs(&db, before).await);
                jobs.iter().all(|j| j.status == "done")
            }
        })
        .await;
        let jobs = ours(sms_jobs(&t.db, before).await);
        assert!(jobs.iter().all(|j| j.attempts == 1), "each delivered in one attempt: {jobs:?}");
        let logs = format!("{}\n{}", read(&a.log), read(&b.log));
        for mobile in mobiles {
            let masked = yiwang_kernel::Mobile::parse(mobile).unwrap().masked();
            let deliveries = logs
                .lines()
                .filter(|l| l.contains("SMS (log sender") && l.contains(&masked))
                .count();
            assert_eq!(deliveries, 1, "the code for {masked} was sent {deliveries} times");
        }

        // A catalog change made on A is found by B's search once B's index has caught up.
        let admin = login(
            &a.addr,
            "/api/v1/staff/login",
            json!({"employee_no": "PA0001", "password": DEMO_PASSWORD}),
        )
        .await;
        let exported = get(&a.addr, "/api/v1/catalog/export?format=json", Some(&admin)).await;
        assert_eq!(exported.status, 200, "{}", exported.body);
        let mut record = exported.json().as_array().unwrap()[0].clone();
        let new_name = "多节点检索验证专用事项";
        let search = format!(
            "/api/v1/items?q={}",
            yiwang_web::prefs::encode_component(new_name)
        );
        assert!(!names(&get(&b.addr, &search, None).await.json()).contains(&new_name.to_owned()));
        renamed(&mut record, new_name);
        let imported = post(
            &a.addr,
            "/api/v1/catalog/import?format=json",
            Some(&admin),
            &json!([record]),
        )
        .await;
        assert_eq!(imported.status, 200, "{}", imported.body);
        assert_eq!(imported.json()["updated"], 1, "{}", imported.body);
        let b_addr = b.addr.clone();
        eventually("B's search finds the renamed item", || {
            let b_addr = b_addr.clone();
            let search = search.clone();
            async move { names(&get(&b_addr, &search, None).await.json()).contains(&new_name.to_owned()) }
        })
        .await;

        // The hall board on B shows a ticket taken on A.
        let categories = get(&b.addr, &format!("/api/v1/appointments/groups/{HALL_CODE}/categories"), None).await;
        assert_eq!(categories.status, 200, "{}", categories.body);
        let categories = categories.json();
        let list = categories.as_array().or_else(|| categories["items"].as_array()).unwrap();
        let category = list[0]["code"].as_str().unwrap().to_owned();
        let board = format!("/api/v1/queue/groups/{HALL_CODE}/board");
        let before = get(&b.addr, &board, None).await.json();
        let ticket_reply = post(
            &a.addr,
            &format!("/api/v1/queue/groups/{HALL_CODE}/tickets"),
            None,
            &json!({"category": category, "lane": "normal"}),
        )
        .await;
        assert_eq!(ticket_reply.status, 201, "{}", ticket_reply.body);
        let after = get(&b.addr, &board, None).await.json();
        assert_ne!(after["version"], before["version"], "the board moved on");
        assert_eq!(waiting(&after, &category), waiting(&before, &category) + 1);

        // A limit used up on A answers 429 on B: failed progress queries count per address.
        let guess = "/api/v1/progress?case_no=2026010199999&code=000000";
        let rule = yiwang_web::throttle::LimitRules::default().progress;
        // Not across a fixed window's end, where the count starts again.
        let into = yiwang_kernel::Clock::now(&yiwang_kernel::SystemClock).timestamp()
            % i64::from(rule.window_secs);
        let left = i64::from(rule.window_secs) - into;
        if left < 60 {
            tokio::time::sleep(Duration::from_secs(left.unsigned_abs() + 1)).await;
        }
        for _ in 0..rule.limit {
            let refused = get(&a.addr, guess, None).await;
            assert_eq!(refused.status, 422, "{}", refused.body);
        }
        let limited = get(&b.addr, guess, None).await;
        assert_eq!(limited.status, 429, "{}", limited.body);
        assert!(limited.header("retry-after").is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
        assert_eq!(limited.json()["error"]["code"], "too_many_attempts");

        // Both stop cleanly (the in-flight request on shutdown: crates/server/src/http.rs).
        a.stop().await;
        b.stop().await;
        t.finish().await;
    }
}
