//! The `yiwang` binary: subcommands run as a person would run them, and the demo data.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, db_test, stmt};
use yiwang_identity::service::{departments, region_children};
use yiwang_kernel::{SharedClock, SystemClock};

mod client;
mod nodes;
mod outsiders;

const BIN: &str = env!("CARGO_BIN_EXE_yiwang");

/// Run `yiwang` with only the given environment (plus PATH), never the developer's YIWANG_* settings.
fn yiwang(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("yiwang runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn calendar_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--data-dir", d, "calendar"];
        all.extend_from_slice(args);
        yiwang(&all, &[])
    };
    assert_eq!(
        stdout(&run(&["is-working-day", "2026-02-14"])).trim(),
        "true",
        "调休 Saturday"
    );
    assert_eq!(
        stdout(&run(&["is-working-day", "2026-02-16"])).trim(),
        "false",
        "Spring Festival"
    );
    assert_eq!(
        stdout(&run(&["is-working-day", "2026-02-24"])).trim(),
        "true"
    );
    assert_eq!(
        stdout(&run(&["add-working-days", "2026-02-13", "1"])).trim(),
        "2026-02-14"
    );
    assert_eq!(
        stdout(&run(&["add-working-days", "2026-02-14", "1"])).trim(),
        "2026-02-24"
    );
    assert_eq!(
        stdout(&run(&["add-working-days", "2025-09-30", "1"])).trim(),
        "2025-10-09"
    );
    assert_eq!(
        stdout(&run(&["add-working-days", "2026-02-10", "20"])).trim(),
        "2026-03-16"
    );

    let bad = run(&["is-working-day", "2026-02-30"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("is not a date in the form YYYY-MM-DD"),
        "{}",
        stderr(&bad)
    );

    // An administrator adds 2027 without a release.
    assert_eq!(
        stdout(&run(&["is-working-day", "2027-02-08"])).trim(),
        "true",
        "unknown year: Monday–Friday"
    );
    let calendar_dir = dir.path().join("calendar");
    std::fs::create_dir_all(&calendar_dir).unwrap();
    std::fs::write(
        calendar_dir.join("2027.toml"),
        "year = 2027\nsource = \"test notice\"\nworkdays = []\n\n[[holiday]]\nname = \"春节\"\nfrom = 2027-02-06\nto = 2027-02-12\n",
    )
    .unwrap();
    assert_eq!(
        stdout(&run(&["is-working-day", "2027-02-08"])).trim(),
        "false"
    );
    assert!(stdout(&run(&["years"])).contains("2027"));

    std::fs::write(
        calendar_dir.join("2028.toml"),
        "year = 2028\nsource = \"x\"\nworkdays = [2027-01-01]\n",
    )
    .unwrap();
    let broken = run(&["years"]);
    assert!(!broken.status.success(), "a bad calendar file is refused");
    assert!(stderr(&broken).contains("2028.toml"), "{}", stderr(&broken));
}

#[test]
fn config_is_layered_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("yiwang.toml");
    std::fs::write(&file, "region_code = \"150603\"\naddr = \"0.0.0.0:9090\"\n").unwrap();
    let output = yiwang(
        &["--config", file.to_str().unwrap(), "config"],
        &[
            (
                "YIWANG_DATABASE_URL",
                "postgres://yiwang:hunter2@db.internal/yiwang",
            ),
            ("YIWANG_PII_KEY", "0123456789abcdeffedcba9876543210"),
            ("YIWANG_ADDR", "127.0.0.1:7000"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("region_code = \"150603\""),
        "from the file: {text}"
    );
    assert!(
        text.contains("addr = \"127.0.0.1:7000\""),
        "env beats the file: {text}"
    );
    assert!(text.contains("postgres://yiwang:***@db.internal/yiwang"));
    for secret in ["hunter2", "0123456789abcdef"] {
        assert!(
            !text.contains(secret) && !stderr(&output).contains(secret),
            "{secret} printed"
        );
    }
    let bad = yiwang(&["config"], &[("YIWANG_REGION_CODE", "99")]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("region_code"));
}

/// `migrate`, `audit verify` on an intact and on a tampered chain, against each backend.
async fn migrate_and_audit_verify(t: &TestDb) {
    let url = t.url.clone();
    let env = [("YIWANG_DATABASE_URL", url.as_str())];
    let migrated = yiwang(&["migrate"], &env);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(
        stdout(&migrated).contains(&format!(
            "database is up to date (0 applied now, {} before)",
            yiwang_db::migrate::MIGRATIONS.len()
        )),
        "{}",
        stdout(&migrated)
    );

    let clock: SharedClock = Arc::new(SystemClock);
    let (config, _files) = test_config();
    yiwang_demo::load(&demo_setup(t, &clock, &config))
        .await
        .unwrap();
    let intact = yiwang(&["audit", "verify"], &env);
    assert!(intact.status.success(), "{}", stdout(&intact));
    let departments = count(&t.db, "SELECT COUNT(*) FROM audit_log").await;
    assert_eq!(
        stdout(&intact).trim(),
        format!(
            "audit chain intact: {departments} entries checked (anchors not checked: no audit_key)"
        )
    );

    let drop_trigger = match t.db.backend() {
        yiwang_db::Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        yiwang_db::Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    t.db.conn().execute_unprepared(drop_trigger).await.unwrap();
    t.db.conn()
        .execute_unprepared("UPDATE audit_log SET actor = 'staff:999' WHERE seq = 5")
        .await
        .unwrap();
    let broken = yiwang(&["audit", "verify"], &env);
    assert!(!broken.status.success(), "tampering makes the command fail");
    assert!(
        stdout(&broken).contains("audit chain BROKEN at entry 5"),
        "{}",
        stdout(&broken)
    );
    assert!(stdout(&broken).contains("4 entries before it are intact"));
}
db_test!(migrate_and_audit_verify);

/// The PII key of [`test_accounts`].
const TEST_PII_KEY: &str = "00112233445566778899aabbccddeeff";

/// A configuration for loading the demo: the test PII key and a fresh data directory (case files).
fn test_config() -> (yiwang_server::config::Config, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = yiwang_server::config::Config {
        data_dir: dir.path().to_path_buf(),
        pii_key: yiwang_server::config::Secret::new(TEST_PII_KEY.to_owned()),
        ..yiwang_server::config::Config::default()
    };
    (config, dir)
}

/// The demo's setup from the test configuration, with the test's cheap password hashing.
fn demo_setup(
    t: &TestDb,
    clock: &SharedClock,
    config: &yiwang_server::config::Config,
) -> yiwang_demo::DemoSetup {
    yiwang_demo::DemoSetup {
        accounts: test_accounts(t, clock),
        ..yiwang_server::demo_setup(config, &t.db, clock).unwrap()
    }
}

fn test_accounts(t: &TestDb, clock: &SharedClock) -> yiwang_identity::Accounts {
    let pii = Arc::new(yiwang_identity::pii::PiiProtector::from_hex(TEST_PII_KEY).unwrap());
    yiwang_identity::Accounts::new(
        t.db.clone(),
        clock.clone(),
        pii,
        yiwang_identity::password::PasswordCost::TEST,
        yiwang_identity::SessionPolicy::default(),
    )
    .unwrap()
}

async fn count(db: &yiwang_db::Db, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(stmt(db.conn(), sql, []))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// The text in the first column of the first row.
async fn scalar_text(db: &yiwang_db::Db, sql: &str) -> String {
    let row = db
        .conn()
        .query_one_raw(stmt(db.conn(), sql, []))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no row: {sql}"));
    row.try_get_by_index::<String>(0)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Loading the demo twice gives the same data; the data is the real organisation, the cases cover
/// every state and the appointments are complete. (One test, so the whole demo is loaded only twice.)
async fn demo_data_is_idempotent_and_real(t: &TestDb) {
    let clock: SharedClock = Arc::new(SystemClock);
    let (config, _files) = test_config();
    let first = yiwang_demo::load(&demo_setup(t, &clock, &config))
        .await
        .unwrap();
    assert!(first.org.departments_created >= 20);
    assert_eq!(first.persons_created, yiwang_demo::DEMO_LOGINS.len());
    let snapshot = |db: yiwang_db::Db| async move {
        let mut numbers = Vec::new();
        for sql in [
            "SELECT COUNT(*) FROM regions",
            "SELECT COUNT(*) FROM departments",
            "SELECT COUNT(*) FROM audit_log",
            "SELECT COUNT(*) FROM jobs",
            "SELECT COUNT(*) FROM persons",
            "SELECT COUNT(*) FROM cases",
            "SELECT COUNT(*) FROM case_tasks",
            "SELECT COUNT(*) FROM staff",
            "SELECT COUNT(*) FROM licences",
            "SELECT COUNT(*) FROM licence_seal_keys",
            "SELECT COUNT(*) FROM requests",
            "SELECT COUNT(*) FROM request_events",
            "SELECT COUNT(*) FROM request_categories",
            "SELECT COUNT(*) FROM request_routes",
            "SELECT COUNT(*) FROM request_knowledge",
            "SELECT COUNT(*) FROM open311_clients",
        ] {
            numbers.push(count(&db, sql).await);
        }
        numbers
    };
    let before = snapshot(t.db.clone()).await;
    let second = yiwang_demo::load(&demo_setup(t, &clock, &config))
        .await
        .unwrap();
    assert_eq!(second.org.regions_changed, 0);
    assert_eq!(
        second.org.departments_created + second.org.departments_updated,
        0
    );
    assert_eq!(second.persons_created, 0);
    assert_eq!(first.catalog.items.created, 121, "the demo catalog");
    assert!(first.catalog.life_events >= 5);
    assert_eq!(second.catalog.items.unchanged, 121);
    assert_eq!(second.catalog.life_events, 0);
    assert!(first.cases.cases_created >= 250, "{:?}", first.cases);
    assert_eq!(second.cases.cases_created, 0, "a second load adds no cases");
    // Most concluded cases are rated, with a few 差评 in every rectification state.
    assert!(first.cases.ratings.ratings >= 60, "{:?}", first.cases);
    assert!(first.cases.ratings.bad >= 7, "{:?}", first.cases);
    assert_eq!(
        second.cases.ratings.ratings, 0,
        "a second load rates nothing"
    );
    assert_eq!(second.cases.workflows_published, 0);
    assert_eq!(second.cases.staff_created, 0);
    // 12345: the category tree, ~20 answers and a few dozen requests in several states, once.
    assert!(
        first.requests.requests_created >= 30,
        "{:?}",
        first.requests
    );
    assert!(first.requests.answers_added >= 20, "{:?}", first.requests);
    assert_eq!(second.requests.requests_created, 0);
    assert_eq!(second.requests.answers_added, 0);
    assert_eq!(
        snapshot(t.db.clone()).await,
        before,
        "a second load changes nothing"
    );

    let hefei = region_children(&t.db, Some("340100")).await.unwrap();
    assert_eq!(
        hefei.len(),
        9,
        "合肥市's districts, counties and county-level city"
    );
    assert!(
        hefei
            .iter()
            .any(|r| r.name == "蜀山区" && r.code == "340104")
    );
    let kangbashi = region_children(&t.db, Some("150603")).await.unwrap();
    let streets: Vec<&str> = kangbashi.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        streets,
        ["哈巴格希街道", "青春山街道", "滨河街道", "康新街道"]
    );
    let mut communities = 0;
    for street in &kangbashi {
        communities += region_children(&t.db, Some(&street.code))
            .await
            .unwrap()
            .len();
    }
    assert!(communities >= 15, "康巴什区 has {communities} communities");
    let hefei_departments = departments(&t.db, "3401").await.unwrap();
    for name in [
        "合肥市发展和改革委员会",
        "合肥市公安局",
        "合肥市市场监督管理局",
        "国家税务总局合肥市税务局",
        "合肥市自然资源和规划局",
    ] {
        assert!(
            hefei_departments.iter().any(|d| d.name == name),
            "missing {name}"
        );
    }
    assert!(hefei_departments.len() >= 14);
    demo_cases_cover_every_state(t, &config, &clock).await;
    demo_appointments_are_complete(t, &clock, first.appointments, second.appointments).await;
    assert_eq!(first.licenses.types_defined, 10);
    // The holdings issued by hand: nine, less the 营业执照 when the case replay already issued it to the
    // demo enterprise (licences issued by granted cases are counted by demo_licences_are_complete).
    assert!(first.licenses.licences_issued >= 8, "{:?}", first.licenses);
    assert_eq!(second.licenses.types_defined, 0);
    assert_eq!(second.licenses.licences_issued, 0);
    demo_licences_are_complete(t, &config, &clock).await;
}
db_test!(demo_data_is_idempotent_and_real);

/// The licence demo: every granted case whose item produces a licence type has its licence (or a
/// pending issuance), the demo enterprise holds one expiring within 30 days and one revoked, the
/// food-business applications used the 营业执照 instead of an upload, and `yiwang licence verify`
/// checks the holder's download offline: valid, revoked, or a changed byte — forged.
async fn demo_licences_are_complete(
    t: &TestDb,
    config: &yiwang_server::config::Config,
    clock: &SharedClock,
) {
    use yiwang_licenses::model::HolderKind;
    for ty in yiwang_demo::licenses::licence_types().unwrap() {
        if ty.producing_items.is_empty() {
            continue;
        }
        let codes = ty
            .producing_items
            .iter()
            .map(|c| format!("'{c}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let enterprise_only = if ty.holder == HolderKind::Enterprise {
            " AND c.enterprise_id IS NOT NULL"
        } else {
            ""
        };
        let missing = count(
            &t.db,
            &format!(
                "SELECT COUNT(*) FROM cases c WHERE c.outcome = 'granted' AND c.item_code IN ({codes}){enterprise_only}
                   AND NOT EXISTS (SELECT 1 FROM licences l WHERE l.case_no = c.case_no AND l.type_code = '{0}')
                   AND NOT EXISTS (SELECT 1 FROM licence_pending p WHERE p.case_no = c.case_no AND p.type_code = '{0}')",
                ty.code
            ),
        )
        .await;
        assert_eq!(missing, 0, "granted cases without their {}", ty.name);
    }
    assert!(
        count(&t.db, "SELECT COUNT(*) FROM licences WHERE source = 'case'").await > 0,
        "granted demo cases issued licences"
    );
    let paperless = count(
        &t.db,
        "SELECT COUNT(*) FROM case_licences cl JOIN cases c ON c.id = cl.case_id
          WHERE c.item_name LIKE '食品经营许可（新办）%'",
    )
    .await;
    assert!(paperless > 0, "the food applications used the 营业执照");

    let setup = demo_setup(t, clock, config);
    let licenses = setup.licenses(clock);
    let zhang = yiwang_identity::reads::person_by_resident_id_in(
        t.db.conn(),
        &setup.pii,
        &yiwang_kernel::ResidentId::complete(yiwang_demo::DEMO_LOGINS[0].resident_id_17).unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let holder = yiwang_identity::policy::Principal::Person(zhang.id);
    let mine = licenses
        .my_licences(
            &holder,
            yiwang_kernel::PageRequest::new(None, Some(100)).unwrap(),
        )
        .await
        .unwrap();
    let today = yiwang_kernel::china_date(clock.now());
    let soon = mine
        .items
        .iter()
        .find(|l| {
            l.status == yiwang_licenses::LicenseStatus::Valid
                && l.expires_on
                    .is_some_and(|d| d >= today && d <= today + chrono::Duration::days(30))
        })
        .expect("a licence expiring within 30 days");
    let revoked = mine
        .items
        .iter()
        .find(|l| l.status == yiwang_licenses::LicenseStatus::Revoked)
        .expect("a revoked licence");
    assert!(mine.items.iter().any(|l| l.type_code == "YYZZ"));
    assert!(mine.items.iter().any(|l| l.type_code == "JZZ"));

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let valid = licenses
        .offline_bundle(&holder, soon.identifier.as_str())
        .await
        .unwrap();
    let valid_file = write("valid.json", &serde_json::to_string(&valid).unwrap());
    let out = yiwang(&["licence", "verify", &valid_file], &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).starts_with("valid: 1.2.156.3005.2."),
        "{}",
        stdout(&out)
    );
    let revoked_bundle = licenses
        .offline_bundle(&holder, revoked.identifier.as_str())
        .await
        .unwrap();
    let out = yiwang(
        &[
            "licence",
            "verify",
            "--json",
            &write(
                "revoked.json",
                &serde_json::to_string(&revoked_bundle).unwrap(),
            ),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("\"outcome\":\"revoked\""),
        "{}",
        stdout(&out)
    );
    // One changed byte of the signed statement: forged.
    let mut forged = valid.clone();
    let mut bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        &forged.document.signed,
    )
    .unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 1;
    forged.document.signed =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    let out = yiwang(
        &[
            "licence",
            "verify",
            &write("forged.json", &serde_json::to_string(&forged).unwrap()),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(stdout(&out).starts_with("forged"), "{}", stdout(&out));
    // The QR payload verifies with the keys given separately.
    let keys = serde_json::json!({ "keys": valid.keys }).to_string();
    let qr = licenses
        .qr_payload(&holder, soon.identifier.as_str())
        .await
        .unwrap();
    let out = yiwang(
        &[
            "licence",
            "verify",
            &write("qr.txt", &qr),
            "--keys",
            &write("keys.json", &keys),
        ],
        &[],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// The appointment demo: the hall's windows and queue categories, the hospital's clinics with their
/// doctors and slots; a second load adds nothing.
async fn demo_appointments_are_complete(
    t: &TestDb,
    clock: &SharedClock,
    report: yiwang_demo::AppointmentsReport,
    second: yiwang_demo::AppointmentsReport,
) {
    use yiwang_appointments::model::GroupKind;
    use yiwang_demo::HALL_CODE;
    assert_eq!(report.groups_created, 7, "the hall and six clinics");
    assert_eq!(report.resources_created, 8 + 15, "8 windows and 15 doctors");
    assert!(report.slots_created > 500, "{report:?}");
    assert_eq!(report.staff_created, 3);
    assert_eq!(
        report.bookings_created, 2,
        "a booking for each demo citizen"
    );

    let service = yiwang_appointments::Appointments::new(
        t.db.clone(),
        clock.clone(),
        Arc::new(yiwang_kernel::WorkCalendar::builtin()),
        yiwang_appointments::AppointmentsConfig::default(),
    );
    let hall = service.group_by_code(HALL_CODE).await.unwrap();
    assert_eq!(hall.name, "康巴什区政务服务大厅");
    assert_eq!(service.resources(hall.id).await.unwrap().len(), 8);
    let categories = service.categories(hall.id).await.unwrap();
    assert_eq!(categories.len(), 8);
    assert!(categories.iter().any(|c| c.name == "企业开办"));
    let clinics: Vec<_> = service
        .groups(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|g| g.kind == GroupKind::HospitalDepartment)
        .collect();
    let names: Vec<&str> = clinics.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in ["内科", "外科", "儿科", "妇产科", "口腔科", "眼科"] {
        assert!(names.contains(&name), "missing {name}");
    }
    let medicine = clinics.iter().find(|g| g.name == "内科").unwrap();
    let doctors = service.resources(medicine.id).await.unwrap();
    assert!(
        doctors
            .iter()
            .any(|d| d.name == "王建华" && d.title.starts_with("主任医师"))
    );
    let today = service.today();
    let open = service
        .available_slots(medicine.id, today, today + chrono::Duration::days(7))
        .await
        .unwrap();
    assert!(!open.is_empty(), "slots are open for the coming week");

    assert_eq!(second.groups_created + second.resources_created, 0);
    assert_eq!(second.slots_created + second.staff_created, 0);
    assert_eq!(second.bookings_created + second.tickets_taken, 0);
}

/// Every demo item in service has a valid workflow, and the demo cases show every state, every
/// deadline colour and every kind of workflow.
async fn demo_cases_cover_every_state(
    t: &TestDb,
    config: &yiwang_server::config::Config,
    clock: &SharedClock,
) {
    let calendar = yiwang_server::config::load_calendar(&config.calendar_dir()).unwrap();
    let catalog = yiwang_catalog::Catalog::new(t.db.clone(), clock.clone()).unwrap();
    let cases = yiwang_server::cases(config, &t.db, clock, &catalog, &calendar).unwrap();
    let records: Vec<yiwang_catalog::model::ItemRecord> =
        serde_json::from_str(yiwang_demo::catalog::CATALOG_ITEMS).unwrap();
    let mut in_service = 0;
    for record in &records {
        let item = catalog.item_by_impl_code(&record.impl_code).await.unwrap();
        let guide = catalog.guide(item.id, None).await.unwrap();
        if guide.version.content.status != yiwang_catalog::model::ItemStatus::InUse {
            continue;
        }
        in_service += 1;
        let workflow = cases
            .current_workflow(item.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} has no workflow", record.impl_code));
        cases
            .check_workflow(&workflow.definition)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", record.impl_code));
    }
    assert_eq!(in_service, 121);
    // The showcase workflows are what they say.
    let def = |code: &'static str| {
        let catalog = catalog.clone();
        let cases = cases.clone();
        async move {
            let item = catalog.item_by_impl_code(code).await.unwrap();
            cases
                .current_workflow(item.id)
                .await
                .unwrap()
                .unwrap()
                .definition
        }
    };
    assert!(def(yiwang_demo::cases::FOOD_NEW).await.is_parallel());
    assert!(def(yiwang_demo::cases::MARRIAGE_REISSUE).await.instant);
    assert!(
        def(yiwang_demo::cases::VENUE_HYGIENE)
            .await
            .commitment
            .is_some()
    );
    assert_eq!(def(yiwang_demo::cases::CLINIC).await.steps.len(), 4);
    assert_eq!(def(yiwang_demo::cases::ID_CARD).await.steps.len(), 2);

    let at_least = |sql: &'static str, n: i64| async move {
        let found = count(&t.db, sql).await;
        assert!(found >= n, "{found} < {n}: {sql}");
    };
    for status in [
        "draft",
        "submitted",
        "supplement",
        "in_review",
        "suspended",
        "decided",
        "concluded",
        "declined",
        "withdrawn",
        "returned",
    ] {
        let sql = format!("SELECT COUNT(*) FROM cases WHERE status = '{status}'");
        let found = count(&t.db, &sql).await;
        assert!(found >= 1, "no demo case is {status}");
    }
    for (what, sql) in [
        ("granted and delivered", "SELECT COUNT(*) FROM cases WHERE status = 'concluded' AND outcome = 'granted' AND instant = 0 AND commitment_signed = 0"),
        ("denied", "SELECT COUNT(*) FROM cases WHERE outcome = 'denied'"),
        ("granted, awaiting delivery", "SELECT COUNT(*) FROM cases WHERE status = 'decided' AND outcome = 'granted'"),
        ("instant and concluded", "SELECT COUNT(*) FROM cases WHERE instant = 1 AND status = 'concluded'"),
        ("on commitment, verification pending", "SELECT COUNT(*) FROM cases WHERE verification = 'pending' AND outcome = 'granted'"),
        ("on commitment, verified", "SELECT COUNT(*) FROM cases WHERE verification = 'confirmed'"),
        ("on commitment, voided", "SELECT COUNT(*) FROM cases WHERE outcome = 'voided'"),
        ("extended", "SELECT COUNT(*) FROM cases WHERE extension = 'approved'"),
        ("extension requested", "SELECT COUNT(*) FROM cases WHERE extension = 'requested'"),
        ("registered at the counter", "SELECT COUNT(*) FROM cases WHERE channel = 'counter'"),
        ("applied for by an enterprise", "SELECT COUNT(*) FROM cases WHERE enterprise_id IS NOT NULL"),
        ("sent back once", "SELECT COUNT(*) FROM case_tasks WHERE result = 'send_back'"),
        ("resumed after a special procedure", "SELECT COUNT(*) FROM case_events WHERE action = 'special_end'"),
        ("resubmitted after a supplement", "SELECT COUNT(*) FROM case_events WHERE action = 'resubmit'"),
        (
            "in parallel review with one branch done",
            "SELECT COUNT(*) FROM cases c WHERE c.status = 'in_review'
               AND EXISTS (SELECT 1 FROM case_tasks t WHERE t.case_id = c.id AND t.step_kind = 'review' AND t.status = 'done')
               AND EXISTS (SELECT 1 FROM case_tasks t WHERE t.case_id = c.id AND t.step_kind = 'review' AND t.status = 'open')",
        ),
    ] {
        let found = count(&t.db, sql).await;
        assert!(found >= 1, "no demo case is {what}");
    }
    // Every deadline colour is visible today, on cases whose clock runs.
    for warning in ["none", "yellow", "red", "overdue"] {
        let sql = format!(
            "SELECT COUNT(*) FROM cases WHERE status IN ('submitted', 'in_review') AND warning = '{warning}'"
        );
        let found = count(&t.db, &sql).await;
        assert!(found >= 1, "no running demo case is {warning}");
    }
    // History, audit and notifications came from the engine.
    at_least(
        "SELECT COUNT(*) FROM case_events WHERE action = 'warning'",
        1,
    )
    .await;
    at_least(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'case.grant'",
        10,
    )
    .await;
    at_least("SELECT COUNT(*) FROM jobs WHERE kind = 'cases.notify'", 300).await;
    // The demo citizen has cases of her own.
    at_least(
        "SELECT COUNT(*) FROM cases c JOIN persons p ON p.id = c.applicant_person_id WHERE p.name = '张晓明'",
        5,
    )
    .await;
}

#[test]
fn staff_create_command_sets_up_the_first_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    assert!(
        yiwang(&["demo", "--data-dir", d, "--no-serve"], &[])
            .status
            .success()
    );
    let args = [
        "--data-dir",
        d,
        "staff",
        "create",
        "--department",
        "hf-sjzyj",
        "--employee-no",
        "PA0009",
        "--name",
        "林海",
        "--mobile",
        "13900000999",
        "--role",
        "platform_admin",
    ];
    let created = yiwang(&args, &[("YIWANG_STAFF_PASSWORD", "Admin#2026")]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(
        stdout(&created)
            .contains("created staff PA0009 林海 in hf-sjzyj with roles [platform_admin]")
    );
    let again = yiwang(&args, &[("YIWANG_STAFF_PASSWORD", "Admin#2026")]);
    assert!(!again.status.success(), "the employee number is taken");
    let weak = yiwang(
        &[
            "--data-dir",
            d,
            "staff",
            "create",
            "--department",
            "hf-sjzyj",
            "--employee-no",
            "PA0010",
            "--name",
            "林海",
            "--mobile",
            "13900000998",
        ],
        &[("YIWANG_STAFF_PASSWORD", "short")],
    );
    assert!(!weak.status.success());
    assert!(
        stderr(&weak).contains("password: the password must have at least 8 characters"),
        "{}",
        stderr(&weak)
    );
    assert!(
        yiwang(&["--data-dir", d, "audit", "verify"], &[])
            .status
            .success()
    );
}

/// `yiwang demo` loads into the configured database: the SQLite file in the data directory by default,
/// a fresh PostgreSQL database when `database_url` names one; a second run changes nothing.
async fn demo_command_prints_its_result_and_is_repeatable(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // On SQLite the default (no database_url) is what is tested; on PostgreSQL the configured URL.
    let env: Vec<(&str, &str)> = match t.db.backend() {
        yiwang_db::Backend::Sqlite => Vec::new(),
        yiwang_db::Backend::Postgres => vec![("YIWANG_DATABASE_URL", t.url.as_str())],
    };
    let first = yiwang(&["demo", "--data-dir", d, "--no-serve"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("departments created"));
    let second = yiwang(&["demo", "--data-dir", d, "--no-serve"], &env);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("0 regions changed, 0 departments created, 0 updated"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains(", 0 demo cases created"),
        "{}",
        stdout(&second)
    );
    let sqlite_file = Path::new(d).join("yiwang.db");
    match t.db.backend() {
        yiwang_db::Backend::Sqlite => {
            assert!(sqlite_file.exists(), "SQLite file in the data directory");
        }
        yiwang_db::Backend::Postgres => {
            assert!(
                !sqlite_file.exists(),
                "nothing goes to SQLite when PostgreSQL is configured"
            );
            assert_eq!(
                count(&t.db, "SELECT COUNT(*) FROM persons WHERE name = '张晓明'").await,
                1
            );
            assert!(count(&t.db, "SELECT COUNT(*) FROM cases").await >= 250);
            let verified = yiwang(&["--data-dir", d, "audit", "verify"], &env);
            assert!(verified.status.success(), "{}", stdout(&verified));
        }
    }
}
db_test!(demo_command_prints_its_result_and_is_repeatable);

async fn http_get(addr: &str, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

/// `yiwang serve` answers, and stops cleanly (exit 0) on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "--data-dir",
            dir.path().to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = line
        .strip_prefix("Yiwang is serving on http://")
        .and_then(|rest| rest.strip_suffix('/'))
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let health = http_get(&addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let home = http_get(&addr, "/").await;
    assert!(home.starts_with("HTTP/1.1 200") && home.contains("一网通办政务服务平台"));

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stops in time")
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert!(err.contains("shutdown requested"), "{err}");
}

/// Records the messages a sender was given.
#[derive(Debug, Default)]
struct Capture {
    sent: std::sync::Mutex<Vec<(String, String)>>,
}

impl yiwang_notify::MessageSender for Capture {
    fn send_sms<'a>(&'a self, sms: &'a yiwang_notify::Sms) -> yiwang_notify::SendFuture<'a> {
        Box::pin(async move {
            self.sent
                .lock()
                .unwrap()
                .push((sms.to.as_str().to_owned(), sms.text.clone()));
            Ok(())
        })
    }

    fn send_email<'a>(&'a self, _email: &'a yiwang_notify::Email) -> yiwang_notify::SendFuture<'a> {
        Box::pin(async {
            Err(yiwang_notify::SendError::Gateway(
                "no email expected".into(),
            ))
        })
    }
}

/// A booking's reminder job, run by the server's handlers, texts the person's own mobile number.
async fn appointment_reminders_go_by_sms(t: &TestDb) {
    use chrono::TimeZone as _;
    use yiwang_appointments::model::{
        BookRequest, DayRule, GroupKind, NewGroup, NewResource, Period, Schedule,
    };
    use yiwang_identity::policy::Principal;

    // Monday 2026-03-02, 10:00 China time.
    let clock = yiwang_kernel::TestClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 3, 2, 2, 0, 0)
            .single()
            .unwrap(),
    );
    let shared: SharedClock = Arc::new(clock.clone());
    let org = yiwang_identity::service::parse_org(&yiwang_demo::org_data().unwrap()).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &org, "system:test")
        .await
        .unwrap();
    let pii = Arc::new(
        yiwang_identity::pii::PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap(),
    );
    let accounts = yiwang_identity::Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii.clone(),
        yiwang_identity::password::PasswordCost::TEST,
        yiwang_identity::SessionPolicy::default(),
    )
    .unwrap();
    let registration =
        yiwang_identity::model::Registration::parse(&yiwang_identity::model::RawRegistration {
            name: "乌云其木格".into(),
            resident_id: "150603199001010012".into(),
            mobile: "13947701234".into(),
            password: "Yiwang#2026".into(),
        })
        .unwrap();
    let person = accounts
        .register_person(
            &registration,
            &yiwang_identity::model::ClientMeta::default(),
            &mut rand::make_rng::<rand::rngs::StdRng>(),
        )
        .await
        .unwrap();

    let appointments = yiwang_appointments::Appointments::new(
        t.db.clone(),
        shared.clone(),
        Arc::new(yiwang_kernel::WorkCalendar::builtin()),
        yiwang_appointments::AppointmentsConfig::default(),
    );
    let origin = yiwang_appointments::Origin::new("test");
    let hospital = yiwang_identity::service::department(&t.db, "kbs-rmyy")
        .await
        .unwrap();
    let group = appointments
        .create_group(
            &Principal::System,
            &hospital,
            &NewGroup {
                code: "kbs-rmyy-ek".into(),
                kind: GroupKind::HospitalDepartment,
                name: "儿科".into(),
                address: "康巴什区人民医院门诊楼三层".into(),
                policy: None,
            },
            &origin,
        )
        .await
        .unwrap();
    let doctor = appointments
        .add_resource(
            &Principal::System,
            group.id,
            &NewResource {
                code: "dr-bao".into(),
                name: "包晓燕".into(),
                title: "副主任医师".into(),
                ..NewResource::default()
            },
            &origin,
        )
        .await
        .unwrap();
    let at = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
    let schedule = Schedule {
        days: DayRule::EveryDay,
        periods: vec![Period {
            start: at(8, 0),
            end: at(9, 0),
        }],
        slot_minutes: 30,
        capacity: 5,
        valid_from: None,
        valid_until: None,
    };
    appointments
        .set_schedule(&Principal::System, doctor.id, Some(&schedule), &origin)
        .await
        .unwrap();
    appointments
        .generate_slots(&Principal::System, group.id, 3, &origin)
        .await
        .unwrap();
    // Wednesday 2026-03-04, 08:00.
    let wednesday = appointments.today() + chrono::Duration::days(2);
    let slot = appointments
        .available_slots(group.id, wednesday, wednesday)
        .await
        .unwrap()[0]
        .slot
        .id;
    let booking = appointments
        .book(
            &Principal::Person(person.id),
            &BookRequest {
                slot: Some(slot),
                item_code: None,
                idempotency_key: None,
            },
            &origin,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
        )
        .await
        .unwrap();

    let capture = Arc::new(Capture::default());
    let queue = yiwang_db::jobs::JobQueue::new(t.db.clone(), shared.clone(), "test");
    let mut worker = yiwang_db::jobs::Worker::new(queue);
    yiwang_appointments::register_handlers(
        &mut worker,
        appointments.clone(),
        Arc::new(yiwang_server::SmsNotifier::new(
            t.db.clone(),
            pii,
            capture.clone(),
        )),
    );
    while worker.run_once().await.unwrap() > 0 {}
    assert!(
        capture.sent.lock().unwrap().is_empty(),
        "the reminder waits until a day before the slot"
    );
    // The reminder is due 24 hours before the slot: Tuesday 08:00.
    clock.advance(chrono::Duration::hours(23));
    while worker.run_once().await.unwrap() > 0 {}
    let sent = capture.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "13947701234");
    assert!(sent[0].1.starts_with("【一网】您预约的"), "{}", sent[0].1);
    assert!(sent[0].1.contains("包晓燕") && sent[0].1.contains(booking.booking.code.as_str()));
}
db_test!(appointment_reminders_go_by_sms);

// ---------------------------------------------------------------- backups, anchors, file modes

const AUDIT_KEY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Every file under `dir` is 0600 and every directory 0700 (nothing readable by other users).
#[cfg(unix)]
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", dir.display());
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            assert_private(&entry.path());
        } else {
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", entry.path().display());
        }
    }
}

/// Rewrite the audit chain from entry `from` on, consistently (every hash recomputed, the head too),
/// as someone with write access to the database could.
async fn rewrite_audit_tail(db: &yiwang_db::Db, from: i64) {
    let drop = match db.backend() {
        yiwang_db::Backend::Sqlite => "DROP TRIGGER audit_log_no_update",
        yiwang_db::Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    db.conn().execute_unprepared(drop).await.unwrap();
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.conn(),
            "SELECT seq, at, actor, action, resource, source, detail, prev_hash FROM audit_log
             WHERE seq >= $1 ORDER BY seq",
            [from.into()],
        ))
        .await
        .unwrap();
    let mut prev: Option<String> = None;
    for row in rows {
        let seq: i64 = row.try_get("", "seq").unwrap();
        let at: String = row.try_get("", "at").unwrap();
        let get = |c: &str| row.try_get::<String>("", c).unwrap();
        let actor = if seq == from {
            "staff:999".to_owned()
        } else {
            get("actor")
        };
        let prev_hash = prev.unwrap_or_else(|| get("prev_hash"));
        let hash = yiwang_db::audit::entry_hash(
            &prev_hash,
            seq,
            &at,
            [
                &actor,
                &get("action"),
                &get("resource"),
                &get("source"),
                &get("detail"),
            ],
        );
        db.conn()
            .execute_raw(stmt(
                db.conn(),
                "UPDATE audit_log SET actor = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                [
                    actor.into(),
                    prev_hash.into(),
                    hash.clone().into(),
                    seq.into(),
                ],
            ))
            .await
            .unwrap();
        prev = Some(hash);
    }
    db.conn()
        .execute_raw(stmt(
            db.conn(),
            "UPDATE audit_head SET hash = $1 WHERE id = 1",
            [prev.unwrap().into()],
        ))
        .await
        .unwrap();
}

/// `backup` then `restore` into an empty place gives the same rows and files and an intact, anchored
/// audit chain; a consistent rewrite of the restored chain's tail is caught by `audit verify` with the
/// key (and only with it). Every file the commands create is private.
async fn backup_and_restore_round_trip(t: &TestDb) {
    let clock: SharedClock = Arc::new(SystemClock);
    let (config, files_dir) = test_config();
    yiwang_demo::load(&demo_setup(t, &clock, &config))
        .await
        .unwrap();
    let source = files_dir.path().to_str().unwrap();
    let env = [
        ("YIWANG_DATABASE_URL", t.url.as_str()),
        ("YIWANG_AUDIT_KEY", AUDIT_KEY),
    ];
    let anchored = yiwang(&["--data-dir", source, "audit", "anchor"], &env);
    assert!(anchored.status.success(), "{}", stderr(&anchored));
    assert!(
        stdout(&anchored).contains("audit chain anchored at entry"),
        "{}",
        stdout(&anchored)
    );

    let work = tempfile::tempdir().unwrap();
    let backup_dir = work.path().join("backup-1");
    let backup = backup_dir.to_str().unwrap();
    let made = yiwang(&["--data-dir", source, "backup", backup], &env);
    assert!(made.status.success(), "{}", stderr(&made));
    assert!(
        stdout(&made).contains("backup written to"),
        "{}",
        stdout(&made)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(backup_dir.join("manifest.json")).unwrap())
            .unwrap();
    let files = manifest["files"].as_u64().unwrap();
    assert!(files > 0, "the demo's material files are in the backup");
    assert!(manifest["tables"]["cases"].as_i64().unwrap() >= 250);
    #[cfg(unix)]
    assert_private(&backup_dir);
    let again = yiwang(&["--data-dir", source, "backup", backup], &env);
    assert!(!again.status.success(), "a backup never overwrites another");

    // Restore into an empty place: a new data directory, and on PostgreSQL a new database.
    let target_dir = work.path().join("restored");
    let target = target_dir.to_str().unwrap();
    let empty_pg = match t.db.backend() {
        yiwang_db::Backend::Sqlite => None,
        yiwang_db::Backend::Postgres => {
            Some(yiwang_db::testing::postgres_empty().await.unwrap().unwrap())
        }
    };
    let mut restore_env = vec![("YIWANG_AUDIT_KEY", AUDIT_KEY)];
    if let Some(pg) = &empty_pg {
        restore_env.push(("YIWANG_DATABASE_URL", pg.url.as_str()));
    }
    let restored = yiwang(&["--data-dir", target, "restore", backup], &restore_env);
    assert!(restored.status.success(), "{}", stderr(&restored));
    let text = stdout(&restored);
    assert!(
        text.contains("match the backup, audit chain intact") && text.contains("1 anchors checked"),
        "{text}"
    );
    let twice = yiwang(&["--data-dir", target, "restore", backup], &restore_env);
    assert!(!twice.status.success(), "a restore never overwrites data");

    // Counted independently of the command: the same tables and rows.
    let restored_url = match &empty_pg {
        Some(pg) => pg.url.clone(),
        None => yiwang_db::sqlite_url_in(&target_dir),
    };
    let restored_db = yiwang_db::Db::connect(&restored_url).await.unwrap();
    assert_eq!(
        yiwang_db::backup::table_counts(restored_db.conn())
            .await
            .unwrap(),
        yiwang_db::backup::table_counts(t.db.conn()).await.unwrap()
    );
    #[cfg(unix)]
    if empty_pg.is_none() {
        assert_private(&target_dir);
    }

    // The restored chain verifies with its anchor; rewriting its tail consistently is caught by the
    // anchor, and the hash chain alone cannot see it.
    let mut verify_env = restore_env.clone();
    if empty_pg.is_none() {
        verify_env.push(("YIWANG_DATABASE_URL", restored_url.as_str()));
    }
    let intact = yiwang(&["--data-dir", target, "audit", "verify"], &verify_env);
    assert!(intact.status.success(), "{}", stdout(&intact));
    assert!(
        stdout(&intact).contains("1 anchors checked"),
        "{}",
        stdout(&intact)
    );
    rewrite_audit_tail(&restored_db, 3).await;
    restored_db.close().await.unwrap();
    let caught = yiwang(&["--data-dir", target, "audit", "verify"], &verify_env);
    assert!(!caught.status.success(), "{}", stdout(&caught));
    assert!(
        stdout(&caught).contains("anchored hash"),
        "{}",
        stdout(&caught)
    );
    let keyless: Vec<(&str, &str)> = verify_env
        .iter()
        .copied()
        .filter(|(k, _)| *k != "YIWANG_AUDIT_KEY")
        .collect();
    let blind = yiwang(&["--data-dir", target, "audit", "verify"], &keyless);
    assert!(
        blind.status.success() && stdout(&blind).contains("anchors not checked"),
        "without the key the rewrite is invisible: {}",
        stdout(&blind)
    );
    if let Some(pg) = empty_pg {
        pg.finish().await;
    }
}
db_test!(backup_and_restore_round_trip);
