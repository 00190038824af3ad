//! Demo data: the organisation of 合肥市 (province → city → districts → streets → communities, and the
//! city's departments) and of 鄂尔多斯市康巴什区. Loading is idempotent: a second load changes nothing.

use yiwang_db::Db;
use yiwang_identity::model::{OrgData, RawDepartment, RawRegion};
use yiwang_identity::service::{self, LoadReport};
use yiwang_kernel::SharedClock;

const REGIONS: &str = include_str!("../demo/regions.json");
const DEPARTMENTS: &str = include_str!("../demo/departments.json");

/// The embedded demo organisation data.
pub fn org_data() -> anyhow::Result<OrgData> {
    let regions: Vec<RawRegion> = serde_json::from_str(REGIONS)?;
    let departments: Vec<RawDepartment> = serde_json::from_str(DEPARTMENTS)?;
    Ok(OrgData {
        regions,
        departments,
    })
}

/// Load (or refresh) every piece of demo data.
pub async fn load(db: &Db, clock: &SharedClock) -> anyhow::Result<LoadReport> {
    let parsed = service::parse_org(&org_data()?)?;
    Ok(service::load_org(db, clock, &parsed, "system:demo").await?)
}
