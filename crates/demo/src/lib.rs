//! Yiwang demo data, by domain: the organisation and its people ([`org`]), the service catalog
//! ([`catalog`]), workflows and cases ([`cases`]) and appointments ([`appointments`]). The server's
//! `demo` command loads it into the configured database (SQLite or PostgreSQL) and the benchmarks build
//! their data from it.
//!
//! Loading is idempotent: a second load into the same database changes nothing.

pub mod appointments;
pub mod cases;
pub mod catalog;
pub mod licenses;
pub mod org;
pub mod ratings;
pub mod register;
pub mod requests;
pub mod surveys;

use std::sync::Arc;

use yiwang_cases::{Cases, DeadlinePolicy, Deadlines, FileStore};
use yiwang_catalog::Catalog;
use yiwang_db::Db;
use yiwang_identity::Accounts;
use yiwang_identity::model::ClientMeta;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::service::LoadReport;
use yiwang_kernel::{SharedClock, WorkCalendar};

pub use appointments::{AppointmentsReport, DEMO_APPOINTMENT_STAFF, HALL_CODE};
pub use cases::{DemoCasesReport, SHOWCASES, demo_pdf};
pub use catalog::{CatalogReport, load_catalog};
pub use org::{
    DEMO_ENTERPRISE, DEMO_LOGINS, DEMO_PASSWORD, DEMO_STAFF, DemoLogin, DemoStaff, org_data,
};

/// What the demo is loaded with: the database, "now", and the parts of the installation the services
/// need (the server builds it from its configuration, a benchmark from its own).
#[derive(Debug, Clone)]
pub struct DemoSetup {
    pub db: Db,
    pub clock: SharedClock,
    pub accounts: Accounts,
    /// The PII key the installation seals personal data with.
    pub pii: Arc<PiiProtector>,
    /// Where material files of the demo cases go.
    pub files: FileStore,
    /// The working-day calendar case deadlines count on.
    pub calendar: WorkCalendar,
    /// The platform code in case numbers.
    pub platform_code: String,
    /// The key sealing the licence seal keys' private keys.
    pub seals: yiwang_licenses::SealCipher,
}

impl DemoSetup {
    /// The case service on `clock` (the demo replays its history on a clock of its own).
    pub fn cases(&self, clock: &SharedClock, catalog: &Catalog) -> Cases {
        Cases::new(
            self.db.clone(),
            clock.clone(),
            catalog.clone(),
            Deadlines::new(self.calendar.clone(), DeadlinePolicy::default()),
            Arc::clone(&self.pii),
            self.files.clone(),
            &self.platform_code,
        )
        .with_licenses(self.licenses(clock))
    }

    /// The licence service on `clock`.
    pub fn licenses(&self, clock: &SharedClock) -> yiwang_licenses::Licenses {
        yiwang_licenses::Licenses::new(
            self.db.clone(),
            clock.clone(),
            self.seals.clone(),
            self.calendar.clone(),
            Arc::clone(&self.pii),
        )
    }
}

/// What a demo load did.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoReport {
    pub org: LoadReport,
    pub catalog: CatalogReport,
    pub persons_created: usize,
    pub staff_created: usize,
    pub enterprises_created: usize,
    pub appointments: AppointmentsReport,
    pub licenses: licenses::LicensesReport,
    pub cases: DemoCasesReport,
    pub surveys: surveys::SurveysReport,
    pub requests: requests::RequestsReport,
}

/// Load (or refresh) every piece of demo data. Loading twice gives the same data.
pub async fn load(setup: &DemoSetup) -> anyhow::Result<DemoReport> {
    let (db, clock, accounts) = (&setup.db, &setup.clock, &setup.accounts);
    let org = org::load_org(db, clock, "system:demo").await?;
    let mut rng: rand::rngs::StdRng = rand::make_rng();
    let meta = ClientMeta {
        ip: "demo".to_owned(),
        user_agent: String::new(),
    };
    let persons_created = org::register_people(accounts, &meta, &mut rng).await?;
    let staff_created = org::load_staff(accounts, &meta, &mut rng).await?;
    let enterprises_created = org::load_enterprise(accounts, &meta, &mut rng).await?;
    let catalog = load_catalog(db, clock).await?;
    let appointments = appointments::load(db, clock, accounts, &mut rng).await?;
    // Licence types before the case replay (which issues licences for granted cases and uses held
    // ones instead of uploads), the holdings after it (see `licenses.rs`).
    let licence_service = setup.licenses(clock);
    let types_defined = licenses::define_types(&licence_service).await?;
    let cases = cases::load(setup).await?;
    let licenses = licenses::load(&licence_service, types_defined).await?;
    let surveys = surveys::load(setup).await?;
    let request_service = requests::service(db, clock, &setup.calendar, &setup.pii);
    let requests = requests::load(&request_service, accounts, &setup.pii, &mut rng).await?;
    Ok(DemoReport {
        org,
        catalog,
        persons_created,
        staff_created,
        enterprises_created,
        appointments,
        licenses,
        cases,
        surveys,
        requests,
    })
}
