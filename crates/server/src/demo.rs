//! Demo data: the organisation of 合肥市 (province → city → districts → streets → communities, and the
//! city's departments) and of 鄂尔多斯市康巴什区. Loading is idempotent: a second load changes nothing.

use yiwang_db::Db;
use yiwang_identity::model::{
    ClientMeta, OrgData, RawDepartment, RawRegion, RawRegistration, Registration,
};
use yiwang_identity::service::{self, LoadReport};
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::{ResidentId, SharedClock};

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

/// A demo account, printed by `yiwang demo`.
#[derive(Debug, Clone, Copy)]
pub struct DemoLogin {
    pub role: &'static str,
    pub name: &'static str,
    /// First 17 characters of the resident ID; the check character is computed.
    pub resident_id_17: &'static str,
    pub mobile: &'static str,
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "Yiwang#2026";

/// Citizens of 合肥市蜀山区 and 康巴什区 (made-up people with well-formed identifiers).
pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        role: "citizen",
        name: "张晓明",
        resident_id_17: "34010419850612013",
        mobile: "13800000001",
    },
    DemoLogin {
        role: "citizen",
        name: "王丽华",
        resident_id_17: "15060319920315002",
        mobile: "15047700002",
    },
];

/// What a demo load did.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoReport {
    pub org: LoadReport,
    pub persons_created: usize,
}

/// Load (or refresh) every piece of demo data. Loading twice gives the same data.
pub async fn load(db: &Db, clock: &SharedClock, accounts: &Accounts) -> anyhow::Result<DemoReport> {
    let parsed = service::parse_org(&org_data()?)?;
    let org = service::load_org(db, clock, &parsed, "system:demo").await?;
    let mut persons_created = 0;
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let meta = ClientMeta {
        ip: "demo".to_owned(),
        user_agent: String::new(),
    };
    for login in DEMO_LOGINS {
        let raw = RawRegistration {
            name: login.name.to_owned(),
            resident_id: ResidentId::complete(login.resident_id_17)?
                .as_str()
                .to_owned(),
            mobile: login.mobile.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        };
        let registration = Registration::parse(&raw).map_err(|errors| {
            anyhow::anyhow!("demo person {} is invalid: {errors:?}", login.name)
        })?;
        match accounts
            .register_person(&registration, &meta, &mut rng)
            .await
        {
            Ok(_) => persons_created += 1,
            Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(DemoReport {
        org,
        persons_created,
    })
}
