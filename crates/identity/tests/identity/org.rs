//! Organisation data: parsing refuses bad input entry by entry; loading is idempotent and audited.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use yiwang_db::testing::TestDb;
use yiwang_db::{audit, db_test};
use yiwang_identity::model::{OrgData, RawDepartment, RawRegion};
use yiwang_identity::service::{self, parse_org};
use yiwang_kernel::{SharedClock, TestClock, Uscc};

fn region(code: &str, name: &str, level: &str, parent: Option<&str>) -> RawRegion {
    RawRegion {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(Into::into),
    }
}

fn dept(code: &str, name: &str, region: &str) -> RawDepartment {
    RawDepartment {
        code: code.into(),
        name: name.into(),
        short_name: name.into(),
        region: region.into(),
        uscc: Uscc::complete(&format!("11{region}MB0000001"))
            .unwrap()
            .as_str()
            .into(),
        kind: "government".into(),
        former_names: vec![],
        phone: "12345".into(),
        address: String::new(),
    }
}

/// The organisation used by other test modules: two 合肥 departments and one in 康巴什区.
pub fn fixture_org() -> OrgData {
    let mut org = base();
    org.regions
        .push(region("150000", "内蒙古自治区", "province", None));
    org.regions
        .push(region("150600", "鄂尔多斯市", "city", Some("150000")));
    org.regions
        .push(region("150603", "康巴什区", "district", Some("150600")));
    org.departments.push(RawDepartment {
        uscc: Uscc::complete("11340100MB0000002").unwrap().as_str().into(),
        ..dept("hf-scjgj", "合肥市市场监督管理局", "340100")
    });
    org.departments.push(RawDepartment {
        uscc: Uscc::complete("11150603MB0000003").unwrap().as_str().into(),
        ..dept("kbs-mzj", "鄂尔多斯市康巴什区民政局", "150603")
    });
    org
}

fn base() -> OrgData {
    OrgData {
        regions: vec![
            region("340000", "安徽省", "province", None),
            region("340100", "合肥市", "city", Some("340000")),
            region("340104", "蜀山区", "district", Some("340100")),
            region("340104001000", "三里庵街道", "street", Some("340104")),
            region(
                "340104001001",
                "梅山路社区",
                "community",
                Some("340104001000"),
            ),
        ],
        departments: vec![dept("hf-mzj", "合肥市民政局", "340100")],
    }
}

fn error_of(data: &OrgData) -> String {
    parse_org(data).unwrap_err().to_string()
}

#[test]
fn valid_data_parses() {
    let parsed = parse_org(&base()).unwrap();
    assert_eq!(parsed.regions.len(), 5);
    assert_eq!(parsed.departments[0].uscc.region().as_str(), "340100");
}

#[test]
fn every_problem_names_its_entry() {
    let mut data = base();
    data.regions[2].level = "county".into();
    assert_eq!(
        error_of(&data),
        "invalid organisation data at region 340104 (蜀山区): unknown level \"county\""
    );

    let mut data = base();
    data.regions[3].code = "340104001".into();
    assert!(error_of(&data).contains("a street code has 12 digits"));

    let mut data = base();
    data.regions[4].parent = Some("340104002000".into());
    assert!(error_of(&data).contains("parent 340104002000 is not listed before it"));

    let mut data = base();
    data.regions[3].parent = Some("340100".into());
    assert!(error_of(&data).contains("parent 340100 is a city, expected a district"));

    let mut data = base();
    data.regions.push(region(
        "340104002000",
        "稻香村街道",
        "street",
        Some("340104"),
    ));
    data.regions.push(region(
        "340104001002",
        "绩溪路社区",
        "community",
        Some("340104002000"),
    ));
    assert!(error_of(&data).contains("must start with its street's code 340104002"));

    let mut data = base();
    data.regions
        .push(region("340100", "合肥市", "city", Some("340000")));
    assert!(error_of(&data).contains("listed twice"));

    let mut data = base();
    let mut bad = data.departments[0].uscc.clone();
    bad.replace_range(17..18, if bad.ends_with('0') { "1" } else { "0" });
    data.departments[0].uscc = bad;
    let text = error_of(&data);
    assert!(
        text.starts_with("invalid organisation data at department hf-mzj (合肥市民政局): USCC:"),
        "{text}"
    );

    let mut data = base();
    data.departments[0].region = "340111".into();
    assert!(error_of(&data).contains("region 340111 is not in the region list"));

    let mut data = base();
    data.departments[0].kind = "ministry".into();
    assert!(error_of(&data).contains("unknown kind"));

    let mut data = base();
    data.departments.push(dept("hf-mzj", "重复", "340100"));
    assert!(error_of(&data).contains("listed twice"));

    let mut data = base();
    data.departments
        .push(dept("hf-gaj", "合肥市公安局", "340100"));
    assert!(
        error_of(&data).contains("belongs to another department"),
        "same USCC twice"
    );

    let mut data = base();
    data.regions[2].code = "350104".into();
    assert!(error_of(&data).contains("must start with its parent's 3401"));
}

fn clock() -> (TestClock, SharedClock) {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    (clock, shared)
}

async fn loading_is_idempotent_and_audited(t: &TestDb) {
    let (_, shared) = clock();
    let parsed = parse_org(&base()).unwrap();
    let first = service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    assert_eq!(first.regions_changed, 5);
    assert_eq!(first.departments_created, 1);
    let second = service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    assert_eq!(second.regions_changed, 0);
    assert_eq!(second.departments_unchanged, 1);
    assert_eq!(
        audit::verify(&t.db).await.unwrap().checked,
        1,
        "an unchanged load writes no audit entry"
    );

    let mut changed = base();
    changed.departments[0].phone = "0551-12345".into();
    let parsed = parse_org(&changed).unwrap();
    let third = service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    assert_eq!(third.departments_updated, 1);
    let history = audit::for_resource(t.db.conn(), "department:hf-mzj", 10)
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["department.update", "department.create"]
    );
    assert_eq!(
        service::department(&t.db, "hf-mzj").await.unwrap().phone,
        "0551-12345"
    );

    let path = service::region_path(&t.db, "340104001001").await.unwrap();
    assert_eq!(
        path.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["安徽省", "合肥市", "蜀山区", "三里庵街道", "梅山路社区"]
    );
    let children = service::region_children(&t.db, Some("340104"))
        .await
        .unwrap();
    assert_eq!(children.len(), 1);
    let found = service::search_org(&t.db, "梅山", 10).await.unwrap();
    assert_eq!(found.regions.len(), 1);
    let found = service::search_org(&t.db, "民政", 10).await.unwrap();
    assert_eq!(found.departments.len(), 1);
    let found = service::search_org(&t.db, "[", 10).await.unwrap();
    assert!(
        found.departments.is_empty(),
        "JSON punctuation does not match the stored list"
    );
    assert!(matches!(
        service::department(&t.db, "nope").await,
        Err(yiwang_identity::IdentityError::DepartmentNotFound(_))
    ));
}
db_test!(loading_is_idempotent_and_audited);
