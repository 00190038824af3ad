//! Catalog tests on SQLite and (when configured) PostgreSQL: search relevance over the demo catalog,
//! filters, import and export, the version workflow with review and effective dates, and keeping other
//! nodes' indexes fresh through the outbox.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_catalog::model::{AdminLevel, ItemRecord, LifeEventRecord, VersionState};
use yiwang_catalog::search::{AudienceGroup, SearchParams};
use yiwang_catalog::service::register_index_handler;
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{Catalog, CatalogError, Origin};
use yiwang_db::db_test;
use yiwang_db::jobs::{JobQueue, Worker};
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{ClientMeta, NewStaff, RawDepartment, RawNewStaff, RawRegion};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError, OrgData, SessionPolicy};
use yiwang_kernel::{PageRequest, SharedClock, TestClock};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");
const ITEMS: &str = include_str!("../../../demo/data/catalog/items.json");
const LIFE_EVENTS: &str = include_str!("../../../demo/data/catalog/life_events.json");
const PASSWORD: &str = "Catalog#2026";

fn t0() -> chrono::DateTime<Utc> {
    // 2026-03-02 10:00 China time, a Monday.
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).single().unwrap()
}

struct Setup {
    catalog: Catalog,
    clock: TestClock,
    accounts: Accounts,
    rng: StdRng,
}

fn origin() -> Origin {
    Origin {
        ip: "test".to_owned(),
    }
}

async fn setup(t: &TestDb, with_items: bool) -> Setup {
    let clock = TestClock::new(t0());
    let shared: SharedClock = Arc::new(clock.clone());
    let org = OrgData {
        regions: serde_json::from_str::<Vec<RawRegion>>(REGIONS).unwrap(),
        departments: serde_json::from_str::<Vec<RawDepartment>>(DEPARTMENTS).unwrap(),
    };
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    let catalog = Catalog::new(t.db.clone(), shared.clone()).unwrap();
    if with_items {
        catalog
            .import(
                &Principal::System,
                Format::Json,
                ITEMS.as_bytes(),
                &origin(),
            )
            .await
            .unwrap();
        let events: Vec<LifeEventRecord> = serde_json::from_str(LIFE_EVENTS).unwrap();
        catalog
            .import_life_events(&Principal::System, &events, &origin())
            .await
            .unwrap();
    }
    catalog.rebuild_index().await.unwrap();
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared,
        pii,
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    Setup {
        catalog,
        clock,
        accounts,
        rng: StdRng::seed_from_u64(7),
    }
}

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "test".to_owned(),
        user_agent: "test".to_owned(),
    }
}

/// Create a staff member and return their principal.
async fn staff(s: &mut Setup, dept: &str, no: &str, mobile: &str, roles: &[&str]) -> Principal {
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: staff_name(no).to_owned(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: vec![],
    })
    .unwrap();
    s.accounts
        .create_staff(
            &Principal::System,
            "system:test",
            dept,
            &new,
            &meta(),
            &mut s.rng,
        )
        .await
        .unwrap();
    let done = s
        .accounts
        .staff_login(no, PASSWORD, &meta(), &mut s.rng)
        .await
        .unwrap();
    s.accounts.principal(Some(&done.session)).await.unwrap()
}

fn staff_name(no: &str) -> &'static str {
    match no {
        "SCT001" => "钱立新",
        "SCT201" => "孙晓梅",
        "SCT301" => "李建国",
        "MZT001" => "周海燕",
        _ => "吴志强",
    }
}

fn search(catalog: &Catalog, q: &str) -> Vec<String> {
    catalog
        .search(&SearchParams {
            q: q.to_owned(),
            page: PageRequest::new(Some(1), Some(10)).unwrap(),
            ..SearchParams::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|h| h.name)
        .collect()
}

/// Queries people type and the item each must bring to the top (rank 1) or into the top 3.
const RELEVANCE: &[(&str, &str, usize)] = &[
    // Chinese, official wording
    ("结婚登记", "内地居民结婚登记", 1),
    ("离婚", "内地居民离婚登记", 1),
    ("户口迁移", "户口迁移", 1),
    ("居住证签注", "居住证签注", 1),
    ("出生医学证明", "出生医学证明首次签发", 3),
    ("食品经营许可", "食品经营许可（新办）", 3),
    ("企业设立登记", "企业设立登记", 1),
    ("公共场所卫生许可", "公共场所卫生许可", 1),
    ("医疗机构执业登记", "医疗机构执业登记", 1),
    ("建设工程规划许可证", "建设工程规划许可证核发", 1),
    ("最低生活保障", "最低生活保障审核确认", 1),
    ("社会保障卡", "社会保障卡申领", 1),
    ("住房公积金提取", "住房公积金提取", 3),
    ("不动产登记", "不动产", 3),
    // pinyin: initials and full spelling
    ("jhdj", "内地居民结婚登记", 1),
    ("JHDJ", "内地居民结婚登记", 1),
    ("jiehundengji", "内地居民结婚登记", 1),
    ("jiehun", "结婚登记", 3),
    ("shipinjingying", "食品经营许可", 3),
    ("gjjtq", "住房公积金提取", 3),
    ("sbk", "社会保障卡申领", 3),
    ("zuidishenghuobaozhang", "最低生活保障审核确认", 1),
    // colloquial
    ("开饭店", "食品经营许可（新办）", 3),
    ("我想开个餐馆", "食品经营许可（新办）", 3),
    ("办营业执照", "设立登记", 3),
    ("开公司", "企业设立登记", 3),
    ("低保", "最低生活保障审核确认", 1),
    ("取公积金", "住房公积金提取", 3),
    ("社保卡", "社会保障卡申领", 1),
    ("上户口", "出生登记", 3),
    ("生孩子", "出生医学证明首次签发", 3),
    ("房产证过户", "不动产转移登记（存量房买卖）", 3),
    ("身份证丢了", "居民身份证补领", 3),
    ("失业金", "失业保险金申领", 3),
    ("刻公章", "公章刻制备案", 1),
];

async fn search_ranks_what_people_mean(t: &TestDb) {
    let s = setup(t, true).await;
    let mut failures = Vec::new();
    for (query, expected, within) in RELEVANCE {
        let names = search(&s.catalog, query);
        let rank = names.iter().position(|n| n.contains(expected));
        if rank.is_none_or(|r| r >= *within) {
            failures.push(format!(
                "{query:?}: expected {expected:?} in the top {within}, got {:?}",
                &names[..names.len().min(5)]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "relevance failures:\n{}",
        failures.join("\n")
    );
    // Words narrow rather than widen: 结婚登记 finds the marriage items, not every 登记.
    let marriage = s
        .catalog
        .search(&SearchParams {
            q: "结婚登记".to_owned(),
            ..SearchParams::default()
        })
        .unwrap();
    assert!(
        (2..=6).contains(&marriage.total),
        "结婚登记 found {} items",
        marriage.total
    );
    // Nonsense finds nothing rather than everything.
    assert!(search(&s.catalog, "量子纠缠火箭发射").is_empty());
    // Suggestions while typing, for Chinese prefixes and pinyin initials alike.
    let suggestions = s.catalog.suggest("jh", 8).unwrap();
    assert!(
        suggestions.iter().any(|h| h.name.contains("结婚登记")),
        "{suggestions:?}"
    );
    let suggestions = s.catalog.suggest("食品", 8).unwrap();
    assert!(suggestions.iter().all(|h| h.name.contains("食品")) && !suggestions.is_empty());
}
db_test!(search_ranks_what_people_mean);

async fn filters_and_listing(t: &TestDb) {
    let s = setup(t, true).await;
    let all_page = |page: u32| PageRequest::new(Some(page), Some(100)).unwrap();
    // No text: every item in effect, in pinyin order, paginated.
    let first = s
        .catalog
        .search(&SearchParams {
            page: all_page(1),
            ..SearchParams::default()
        })
        .unwrap();
    assert_eq!(first.total, 121);
    assert_eq!(first.items.len(), 100);
    let second = s
        .catalog
        .search(&SearchParams {
            page: all_page(2),
            ..SearchParams::default()
        })
        .unwrap();
    assert_eq!(second.items.len(), 21);
    // Filters combine.
    let food = s
        .catalog
        .search(&SearchParams {
            audience: Some(AudienceGroup::Legal),
            theme: Some("food".to_owned()),
            page: all_page(1),
            ..SearchParams::default()
        })
        .unwrap();
    assert!(food.total >= 5);
    assert!(
        food.items
            .iter()
            .all(|h| h.themes.contains(&"food".to_owned()))
    );
    let kbs = s
        .catalog
        .search(&SearchParams {
            department: Some("kbs-mzj".to_owned()),
            page: all_page(1),
            ..SearchParams::default()
        })
        .unwrap();
    assert_eq!(kbs.total, 6);
    assert!(kbs.items.iter().all(|h| h.department_code == "kbs-mzj"));
    let online_marriage = s
        .catalog
        .search(&SearchParams {
            q: "结婚".to_owned(),
            online: Some(true),
            level: Some(AdminLevel::County),
            page: all_page(1),
            ..SearchParams::default()
        })
        .unwrap();
    assert!(
        online_marriage
            .items
            .iter()
            .all(|h| h.online && h.level == AdminLevel::County)
    );
    let zone = s
        .catalog
        .search(&SearchParams {
            small_business: true,
            page: all_page(1),
            ..SearchParams::default()
        })
        .unwrap();
    assert!(zone.total > 10);
    // Life events combine their items.
    let restaurant = s.catalog.life_event("restaurant").await.unwrap();
    assert_eq!(restaurant.items.len(), restaurant.event.item_ids.len());
    assert!(
        restaurant
            .items
            .iter()
            .any(|i| i.content.name.contains("食品经营许可"))
    );
    assert!(matches!(
        s.catalog.life_event("nonsense").await,
        Err(CatalogError::LifeEventNotFound)
    ));
}
db_test!(filters_and_listing);

const CSV_HEADER: &str = "impl_code,department,name,base_code,kind,level,audience,conditions,legal_limit,promised_limit,case_type,handling_forms,phone,status,legal_basis,materials";

async fn import_is_all_or_nothing(t: &TestDb) {
    let s = setup(t, false).await;
    let good = "11111111111111111111111111111111111A,hf-scjgj,小餐饮备案（测试）,011200004000,10,4,1;2,有固定经营场所的小餐饮经营者,,1 working_days,1,1;2,0551-12345,在用,《安徽省食品安全条例》第四十条,\"[{\"\"name\"\":\"\"小餐饮备案表\"\",\"\"original\"\":1}]\"";
    let bad_department = "22222222222222222222222222222222222B,hf-nowhere,个体工商户设立登记（测试）,011200002000,01,4,1,条件,20 working_days,3 working_days,2,1,0551-12345,在用,依据,";
    let bad_kind_and_limit = "33333333333333333333333333333333333C,hf-scjgj,食品经营许可（测试）,011200003001,99,4,2,条件,20 working_days,30 working_days,2,1,0551-12345,在用,依据,";
    let promise_over_law = "44444444444444444444444444444444444D,hf-scjgj,食品经营许可（延续测试）,011200003002,01,4,2,条件,20 working_days,30 working_days,2,1,0551-12345,在用,依据,";
    let csv = format!(
        "{CSV_HEADER}\n{good}\n{bad_department}\n{bad_kind_and_limit}\n{promise_over_law}\n{good}\n"
    );
    let err = s
        .catalog
        .import(&Principal::System, Format::Csv, csv.as_bytes(), &origin())
        .await
        .unwrap_err();
    let CatalogError::ImportRejected(rows) = err else {
        panic!("expected every bad row, got {err:?}");
    };
    let described: Vec<(usize, &str)> = rows.iter().map(|r| (r.row, r.field.as_str())).collect();
    assert!(described.contains(&(2, "department")), "{rows:#?}");
    assert!(
        rows.iter().any(|r| r.row == 3 && r.message.contains("99")),
        "{rows:#?}"
    );
    assert!(described.contains(&(4, "promised_limit")), "{rows:#?}");
    assert!(
        described.contains(&(5, "impl_code")),
        "duplicate code: {rows:#?}"
    );
    assert!(
        !rows.iter().any(|r| r.row == 1),
        "the good row is not reported"
    );
    // Nothing was imported.
    let all = s.catalog.search(&SearchParams::default()).unwrap();
    assert_eq!(all.total, 0);
    assert!(matches!(
        s.catalog
            .item_by_impl_code("11111111111111111111111111111111111A")
            .await,
        Err(CatalogError::ItemNotFound)
    ));
    // Unreadable files say why.
    for (format, bytes) in [
        (Format::Json, &b"{\"not\": \"an array\"}"[..]),
        (Format::Json, &b"[1, 2"[..]),
        (Format::Csv, &b"name,oops\nx,y\n"[..]),
        (Format::Csv, &b"\xff\xfe"[..]),
    ] {
        assert!(matches!(
            s.catalog
                .import(&Principal::System, format, bytes, &origin())
                .await,
            Err(CatalogError::Unreadable(_))
        ));
    }
    // Only platform administrators (or the system) import.
    let mut s = s;
    let editor = staff(
        &mut s,
        "hf-scjgj",
        "SCT001",
        "13900001001",
        &["department_admin"],
    )
    .await;
    assert!(matches!(
        s.catalog
            .import(&editor, Format::Csv, csv.as_bytes(), &origin())
            .await,
        Err(CatalogError::Identity(IdentityError::Forbidden))
    ));
    // The good row alone imports.
    let report = s
        .catalog
        .import(
            &Principal::System,
            Format::Csv,
            format!("{CSV_HEADER}\n{good}\n").as_bytes(),
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (1, 0, 0)
    );
    assert_eq!(search(&s.catalog, "小餐饮备案"), ["小餐饮备案（测试）"]);
}
db_test!(import_is_all_or_nothing);

async fn export_round_trips(t: &TestDb) {
    let s = setup(t, true).await;
    for format in [Format::Json, Format::Csv] {
        let bytes = s.catalog.export(format).await.unwrap();
        let report = s
            .catalog
            .import(&Principal::System, format, &bytes, &origin())
            .await
            .unwrap();
        assert_eq!(
            (report.created, report.updated, report.unchanged),
            (0, 0, 121),
            "{format:?} export re-imports unchanged"
        );
    }
    let json = s.catalog.export(Format::Json).await.unwrap();
    let records: Vec<ItemRecord> = serde_json::from_slice(&json).unwrap();
    let originals: Vec<ItemRecord> = serde_json::from_str(ITEMS).unwrap();
    assert_eq!(records.len(), originals.len());
    for original in &originals {
        let exported = records
            .iter()
            .find(|r| r.impl_code == original.impl_code)
            .unwrap();
        assert_eq!(exported, original);
    }
}
db_test!(export_round_trips);

async fn versions_are_reviewed_and_take_effect_on_their_date(t: &TestDb) {
    let mut s = setup(t, true).await;
    let author = staff(&mut s, "hf-scjgj", "SCT201", "13900002001", &["approver"]).await;
    let reviewer = staff(
        &mut s,
        "hf-scjgj",
        "SCT001",
        "13900002002",
        &["department_admin"],
    )
    .await;
    let other_dept = staff(
        &mut s,
        "hf-mzj",
        "MZT001",
        "13900002003",
        &["department_admin"],
    )
    .await;
    let window = staff(
        &mut s,
        "hf-scjgj",
        "SCT301",
        "13900002004",
        &["window_staff"],
    )
    .await;
    let item = s
        .catalog
        .item_by_impl_code("01120000300134010011340100MB8434305B")
        .await
        .unwrap();
    assert_eq!(item.current_version, Some(1));

    // Only the department's editors draft.
    for outsider in [&other_dept, &window, &Principal::Anonymous] {
        assert!(
            s.catalog
                .start_draft(outsider, item.id, &origin())
                .await
                .is_err()
        );
    }
    let draft = s
        .catalog
        .start_draft(&author, item.id, &origin())
        .await
        .unwrap();
    assert_eq!((draft.version_no, draft.state), (2, VersionState::Draft));
    // A second start returns the same open draft.
    let again = s
        .catalog
        .start_draft(&author, item.id, &origin())
        .await
        .unwrap();
    assert_eq!(again.id, draft.id);

    // Bad content is refused with every problem, and nothing changes.
    let mut bad = draft.content.clone();
    "食".clone_into(&mut bad.name);
    bad.audience.clear();
    let Err(CatalogError::Invalid(problems)) = s
        .catalog
        .save_draft(&author, item.id, &bad, "", &origin())
        .await
    else {
        panic!("invalid content accepted");
    };
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
    assert!(
        fields.contains(&"name") && fields.contains(&"audience"),
        "{fields:?}"
    );

    let mut changed = draft.content.clone();
    "食品经营许可（新办·告知承诺）".clone_into(&mut changed.name);
    changed.promised_limit = Some(yiwang_kernel::TimeLimit::working_days(3));
    s.catalog
        .save_draft(
            &author,
            item.id,
            &changed,
            "承诺时限压缩至3个工作日",
            &origin(),
        )
        .await
        .unwrap();
    // Review needs a submitted version.
    assert!(matches!(
        s.catalog
            .approve(&reviewer, item.id, Some(t0().date_naive()), "", &origin())
            .await,
        Err(CatalogError::WrongState { .. })
    ));
    s.catalog.submit(&author, item.id, &origin()).await.unwrap();
    assert!(matches!(
        s.catalog.submit(&author, item.id, &origin()).await,
        Err(CatalogError::WrongState { .. })
    ));
    // Edits wait for the review.
    assert!(matches!(
        s.catalog
            .save_draft(&author, item.id, &changed, "", &origin())
            .await,
        Err(CatalogError::WrongState { .. })
    ));
    // The author cannot review their own version; another department cannot either.
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert!(matches!(
        s.catalog
            .approve(&author, item.id, Some(today), "", &origin())
            .await,
        Err(CatalogError::SelfReview)
    ));
    assert!(
        s.catalog
            .approve(&other_dept, item.id, Some(today), "", &origin())
            .await
            .is_err()
    );
    assert!(matches!(
        s.catalog.reject(&reviewer, item.id, "  ", &origin()).await,
        Err(CatalogError::NoteRequired)
    ));
    assert!(matches!(
        s.catalog
            .approve(
                &reviewer,
                item.id,
                Some(today - Duration::days(1)),
                "",
                &origin()
            )
            .await,
        Err(CatalogError::EffectiveInPast)
    ));
    // Sent back, edited, resubmitted, published from tomorrow.
    s.catalog
        .reject(&reviewer, item.id, "请补充告知承诺的适用条件", &origin())
        .await
        .unwrap();
    let mut revised = changed.clone();
    revised
        .conditions
        .push_str("（申请人可自愿选择告知承诺方式办理）");
    s.catalog
        .save_draft(&author, item.id, &revised, "补充告知承诺条件", &origin())
        .await
        .unwrap();
    s.catalog.submit(&author, item.id, &origin()).await.unwrap();
    let tomorrow = today + Duration::days(1);
    let published = s
        .catalog
        .approve(&reviewer, item.id, Some(tomorrow), "同意", &origin())
        .await
        .unwrap();
    assert_eq!(published, 2);

    // Until tomorrow the old version stays in effect, in the guide and in search.
    let guide = s.catalog.guide(item.id, None).await.unwrap();
    assert_eq!(guide.version.version_no, 1);
    assert_eq!(
        search(&s.catalog, "告知承诺")
            .iter()
            .filter(|n| n.contains("新办·告知承诺"))
            .count(),
        0
    );
    // The new version is readable by number already, and its history shows both.
    let next = s.catalog.guide(item.id, Some(2)).await.unwrap();
    assert!(!next.in_effect);
    s.clock.advance(Duration::days(1));
    s.catalog.catch_up_index().await.unwrap();
    let guide = s.catalog.guide(item.id, None).await.unwrap();
    assert_eq!(guide.version.version_no, 2);
    assert_eq!(guide.version.effective_from, Some(tomorrow));
    assert_eq!(
        guide.version.reviewer.as_ref().map(|r| r.name.as_str()),
        Some("钱立新")
    );
    assert!(
        search(&s.catalog, "告知承诺")
            .iter()
            .any(|n| n.contains("新办·告知承诺"))
    );
    let (_, history) = s.catalog.history(item.id).await.unwrap();
    assert_eq!(
        history.iter().map(|v| v.version_no).collect::<Vec<_>>(),
        [2, 1]
    );
    let differences = s.catalog.compare(item.id, 1, 2, false).await.unwrap();
    let fields: Vec<&str> = differences.iter().map(|c| c.field).collect();
    assert_eq!(fields, ["name", "conditions", "promised_limit"]);
    let name = &differences[0];
    assert_eq!(name.before, "食品经营许可（新办）");
    assert_eq!(name.after, "食品经营许可（新办·告知承诺）");
    // Every step is in the audit log.
    let actions: Vec<String> =
        yiwang_db::audit::for_resource(t.db.conn(), &format!("item:{}", item.id), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    for expected in [
        "catalog.version.draft",
        "catalog.version.save",
        "catalog.version.submit",
        "catalog.version.reject",
        "catalog.version.publish",
        "catalog.version.effective",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing: {actions:?}"
        );
    }
    // Another domain reads a version and its item inside its own transaction (the cross-domain reads).
    let (_, history) = s.catalog.history(item.id).await.unwrap();
    let tx = t.db.begin().await.unwrap();
    for version in &history {
        let read = yiwang_catalog::reads::version_in(&tx, version.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (read.version_no, read.state, read.content.name.as_str()),
            (
                version.version_no,
                version.state,
                version.content.name.as_str()
            )
        );
    }
    let read_item = yiwang_catalog::reads::item_in(&tx, item.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_item.impl_code, item.impl_code);
    assert_eq!(read_item.current_version, Some(2));
    tx.rollback().await.unwrap();
}
db_test!(versions_are_reviewed_and_take_effect_on_their_date);

async fn other_nodes_catch_up_through_the_outbox(t: &TestDb) {
    let mut s = setup(t, true).await;
    let author = staff(&mut s, "hf-mzj", "MZT201", "13900003001", &["approver"]).await;
    let reviewer = staff(
        &mut s,
        "hf-mzj",
        "MZT001",
        "13900003002",
        &["department_admin"],
    )
    .await;
    // A second node with its own index, built before the change.
    let clock: SharedClock = Arc::new(s.clock.clone());
    let other_node = Catalog::new(t.db.clone(), clock.clone()).unwrap();
    other_node.rebuild_index().await.unwrap();
    let item = s
        .catalog
        .item_by_impl_code("07010000100134010011340100MB6481191H")
        .await
        .unwrap();
    s.catalog
        .start_draft(&author, item.id, &origin())
        .await
        .unwrap();
    let mut content = s
        .catalog
        .guide(item.id, None)
        .await
        .unwrap()
        .version
        .content;
    content.keywords.push("登记结婚预约".to_owned());
    "内地居民结婚登记（含颁证服务）".clone_into(&mut content.name);
    s.catalog
        .save_draft(&author, item.id, &content, "增加颁证服务", &origin())
        .await
        .unwrap();
    s.catalog.submit(&author, item.id, &origin()).await.unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    s.catalog
        .approve(&reviewer, item.id, Some(today), "", &origin())
        .await
        .unwrap();
    // This node sees it at once; the other node after its worker runs the reindex job.
    assert!(
        search(&s.catalog, "颁证服务")
            .iter()
            .any(|n| n.contains("含颁证服务"))
    );
    assert!(
        !search(&other_node, "颁证服务")
            .iter()
            .any(|n| n.contains("含颁证服务"))
    );
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), clock, "node-2".to_owned()));
    register_index_handler(&mut worker, other_node.clone());
    while worker.run_once().await.unwrap() > 0 {}
    assert!(
        search(&other_node, "颁证服务")
            .iter()
            .any(|n| n.contains("含颁证服务"))
    );
}
db_test!(other_nodes_catch_up_through_the_outbox);
