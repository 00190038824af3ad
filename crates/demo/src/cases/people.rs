//! The demo's people: staff on the posts the workflows name, and generated applicants (persons and
//! firms) from both demo regions.

use std::collections::{HashMap, HashSet};
use yiwang_identity::service::enterprise::EnterpriseRegistration;

use anyhow::anyhow;
use chrono::NaiveDate;
use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use yiwang_cases::Cases;
use yiwang_db::Db;
use yiwang_identity::model::{NewStaff, PersonId, RawNewStaff, RawRegistration, Registration};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::{RegionCode, ResidentId, Uscc};

use super::{
    DEPARTMENT_POSTS, FIRM_TRADES, FIRM_WORDS_HEFEI, FIRM_WORDS_KANGBASHI, GIVEN_FEMALE,
    GIVEN_MALE, HEFEI_DISTRICTS, KANGBASHI_COMMUNITIES, KANGBASHI_ROADS, MOBILE_PREFIXES,
    MONGOLIAN, STAFF_PREFIXES, SURNAMES, USCC_ALPHABET, item_departments, meta,
};
use crate::org::{DEMO_ENTERPRISE, DEMO_LOGINS, DEMO_PASSWORD, DEMO_STAFF};
/// Who holds each post (`department/post`), and each department's administrator.
#[derive(Debug, Default)]
pub(crate) struct StaffDirectory {
    pub(crate) posts: HashMap<String, StaffPrincipal>,
    pub(crate) admins: HashMap<String, StaffPrincipal>,
}

impl StaffDirectory {
    pub(crate) fn post(&self, post: &str) -> anyhow::Result<&StaffPrincipal> {
        self.posts
            .get(post)
            .ok_or_else(|| anyhow!("nobody holds the demo post {post}"))
    }
}

pub(crate) async fn principal_of(
    db: &Db,
    employee_no: &str,
) -> anyhow::Result<(StaffPrincipal, Vec<String>)> {
    let staff = yiwang_identity::reads::staff_by_employee_no_in(db.conn(), employee_no)
        .await?
        .ok_or_else(|| anyhow!("demo staff {employee_no} is missing"))?;
    let posts = staff
        .posts
        .iter()
        .map(|p| format!("{}/{}", staff.department_code, p.code))
        .collect();
    Ok((
        StaffPrincipal {
            id: staff.id,
            public_id: staff.public_id,
            department: staff.department_id,
            region: RegionCode::parse(&staff.region_code)?,
            roles: staff.roles,
        },
        posts,
    ))
}

pub(crate) fn person_name(rng: &mut StdRng, mongolian: bool) -> (String, bool) {
    if mongolian && rng.random_bool(0.4) {
        let (name, male) = *MONGOLIAN.choose(rng).unwrap_or(&MONGOLIAN[0]);
        return (name.to_owned(), male);
    }
    let male = rng.random_bool(0.5);
    let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    (
        format!(
            "{}{}",
            SURNAMES.choose(rng).unwrap_or(&"王"),
            given.choose(rng).unwrap_or(&"伟")
        ),
        male,
    )
}

/// Staff for every department post no entry of `DEMO_STAFF` holds: a window clerk, a reviewer and a
/// decider per department.
pub(crate) async fn load_staff(
    db: &Db,
    accounts: &Accounts,
    rng: &mut StdRng,
) -> anyhow::Result<(StaffDirectory, usize)> {
    let mut directory = StaffDirectory::default();
    let mut numbers: HashSet<String> = DEMO_STAFF
        .iter()
        .map(|s| s.employee_no.to_owned())
        .collect();
    for staff in DEMO_STAFF {
        let (principal, posts) = principal_of(db, staff.employee_no).await?;
        if staff.roles.contains(&"department_admin") {
            directory
                .admins
                .insert(staff.department.to_owned(), principal.clone());
        }
        for post in posts {
            directory
                .posts
                .entry(post)
                .or_insert_with(|| principal.clone());
        }
    }
    let mut created = 0;
    let mut engine_rng: StdRng = rand::make_rng();
    for (index, department) in item_departments()?.iter().enumerate() {
        let prefix = STAFF_PREFIXES
            .iter()
            .find(|(d, _)| d == department)
            .map(|(_, p)| *p)
            .ok_or_else(|| anyhow!("no employee-number prefix for {department}"))?;
        for (post_no, (post, _, _)) in DEPARTMENT_POSTS.iter().enumerate() {
            let key = format!("{department}/{post}");
            if directory.posts.contains_key(&key) {
                continue;
            }
            let mut k = 1;
            let employee_no = loop {
                let candidate = format!("{prefix}{:02}{k:02}", post_no + 1);
                if numbers.insert(candidate.clone()) {
                    break candidate;
                }
                k += 1;
            };
            let (name, _) = person_name(
                rng,
                department.starts_with("kbs") || department.starts_with("eeds"),
            );
            let raw = RawNewStaff {
                employee_no: employee_no.clone(),
                name,
                mobile: format!("1395510{index:02}{post_no}{k}"),
                password: DEMO_PASSWORD.to_owned(),
                roles: vec![
                    if *post == "window" {
                        "window_staff"
                    } else {
                        "approver"
                    }
                    .to_owned(),
                ],
                posts: vec![(*post).to_owned()],
            };
            let new = NewStaff::parse(&raw)
                .map_err(|errors| anyhow!("demo staff {employee_no} is invalid: {errors:?}"))?;
            match accounts
                .create_staff(
                    &Principal::System,
                    "system:demo",
                    department,
                    &new,
                    &meta(),
                    &mut engine_rng,
                )
                .await
            {
                Ok(_) => created += 1,
                Err(IdentityError::Duplicate { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            let (principal, _) = principal_of(db, &employee_no).await?;
            directory.posts.insert(key, principal);
        }
    }
    Ok((directory, created))
}

// ------------------------------------------------------------------------------------- applicants

/// A person who applies.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub(crate) id: PersonId,
    pub(crate) name: String,
    pub(crate) resident_id: String,
    pub(crate) mobile: String,
    pub(crate) address: String,
    pub(crate) hefei: bool,
}

/// An enterprise that applies through its representative (or an agent).
#[derive(Debug, Clone)]
pub(crate) struct Firm {
    pub(crate) public_id: String,
    pub(crate) name: String,
    pub(crate) uscc: String,
    pub(crate) address: String,
    /// The person who applies for it.
    pub(crate) applicant: usize,
    /// Its legal representative.
    pub(crate) representative: usize,
    pub(crate) hefei: bool,
}

#[derive(Debug, Default)]
pub(crate) struct People {
    pub(crate) persons: Vec<Person>,
    pub(crate) firms: Vec<Firm>,
    pub(crate) registered: usize,
}

/// Persons from 合肥 and 康巴什 applying in the demo (beside the two demo citizens).
pub(crate) const GENERATED_PERSONS: (usize, usize) = (44, 14);
/// Enterprises registered by generated persons: (合肥, 康巴什).
pub(crate) const GENERATED_FIRMS: (usize, usize) = (7, 3);

pub(crate) fn address(rng: &mut StdRng, hefei: bool) -> (String, &'static str) {
    if hefei {
        let (code, district, roads) = HEFEI_DISTRICTS.choose(rng).unwrap_or(&HEFEI_DISTRICTS[0]);
        (
            format!(
                "安徽省合肥市{district}{}{}号{}栋{}室",
                roads.choose(rng).unwrap_or(&"长江西路"),
                rng.random_range(1..400),
                rng.random_range(1..30),
                rng.random_range(1..=33) * 100 + rng.random_range(1..=4)
            ),
            code,
        )
    } else {
        (
            format!(
                "内蒙古自治区鄂尔多斯市康巴什区{}{}号{}小区{}号楼{}室",
                KANGBASHI_ROADS.choose(rng).unwrap_or(&"康和路"),
                rng.random_range(1..200),
                KANGBASHI_COMMUNITIES.choose(rng).unwrap_or(&"康城"),
                rng.random_range(1..20),
                rng.random_range(1..=18) * 100 + rng.random_range(1..=4)
            ),
            "150603",
        )
    }
}

pub(crate) fn mobile(rng: &mut StdRng, taken: &mut HashSet<String>) -> String {
    loop {
        let number = format!(
            "{}{:08}",
            MOBILE_PREFIXES.choose(rng).unwrap_or(&"138"),
            rng.random_range(0..100_000_000_u32)
        );
        if taken.insert(number.clone()) {
            return number;
        }
    }
}

pub(crate) fn resident_id(rng: &mut StdRng, region: &str, male: bool) -> anyhow::Result<String> {
    let year = rng.random_range(1952..=2004);
    let birth = NaiveDate::from_ymd_opt(year, rng.random_range(1..=12), rng.random_range(1..=28))
        .ok_or_else(|| anyhow!("bad birth date"))?;
    let sequence = rng.random_range(0..500_u32) * 2 + u32::from(male);
    Ok(
        ResidentId::complete(&format!("{region}{}{sequence:03}", birth.format("%Y%m%d")))?
            .as_str()
            .to_owned(),
    )
}

pub(crate) async fn load_applicants(
    db: &Db,
    accounts: &Accounts,
    cases: &Cases,
    rng: &mut StdRng,
) -> anyhow::Result<People> {
    let mut people = People::default();
    let mut engine_rng: StdRng = rand::make_rng();
    let mut mobiles: HashSet<String> = DEMO_LOGINS.iter().map(|l| l.mobile.to_owned()).collect();
    let mut ids = HashSet::new();
    for login in DEMO_LOGINS {
        let rid = ResidentId::complete(login.resident_id_17)?;
        let id = cases.person_by_resident_id(&rid).await?;
        let hefei = rid.as_str().starts_with("34");
        let (address, _) = address(rng, hefei);
        ids.insert(rid.as_str().to_owned());
        people.persons.push(Person {
            id,
            name: login.name.to_owned(),
            resident_id: rid.as_str().to_owned(),
            mobile: login.mobile.to_owned(),
            address,
            hefei,
        });
    }
    let (hefei_n, kbs_n) = GENERATED_PERSONS;
    for n in 0..hefei_n + kbs_n {
        let hefei = n < hefei_n;
        let (name, male) = person_name(rng, !hefei);
        let (address, region) = address(rng, hefei);
        let rid = loop {
            let candidate = resident_id(rng, region, male)?;
            if ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        let mobile = mobile(rng, &mut mobiles);
        let registration = Registration::parse(&RawRegistration {
            name: name.clone(),
            resident_id: rid.clone(),
            mobile: mobile.clone(),
            password: DEMO_PASSWORD.to_owned(),
        })
        .map_err(|errors| anyhow!("demo applicant {name} is invalid: {errors:?}"))?;
        let id = match accounts
            .register_person(&registration, &meta(), &mut engine_rng)
            .await
        {
            Ok(person) => {
                people.registered += 1;
                person.id
            }
            Err(IdentityError::Duplicate { .. }) => {
                cases
                    .person_by_resident_id(&ResidentId::parse(&rid)?)
                    .await?
            }
            Err(other) => return Err(other.into()),
        };
        people.persons.push(Person {
            id,
            name,
            resident_id: rid,
            mobile,
            address,
            hefei,
        });
    }
    // The demo enterprise: 张晓明 represents it and applies for it.
    let zhang = people.persons[0].id;
    let (uscc17, firm_name) = DEMO_ENTERPRISE;
    let demo_uscc = Uscc::complete(uscc17)?;
    let firm = yiwang_identity::reads::enterprises_of_person_in(db.conn(), zhang)
        .await?
        .into_iter()
        .find(|(e, _)| e.uscc == demo_uscc)
        .map(|(e, _)| e)
        .ok_or_else(|| anyhow!("the demo enterprise {firm_name} is not registered"))?;
    people.firms.push(Firm {
        public_id: firm.public_id,
        name: firm.name,
        uscc: demo_uscc.as_str().to_owned(),
        address: "安徽省合肥市蜀山区潜山路320号新华国际广场B座12层".to_owned(),
        applicant: 0,
        representative: 0,
        hefei: true,
    });
    let (hefei_f, kbs_f) = GENERATED_FIRMS;
    for n in 0..hefei_f + kbs_f {
        let hefei = n < hefei_f;
        // Representatives are the generated persons of the right city, taken in order.
        let representative = if hefei {
            2 + n
        } else {
            2 + hefei_n + (n - hefei_f)
        };
        let (words, region, suffix, city) = if hefei {
            (FIRM_WORDS_HEFEI, "340100", "有限公司", "合肥")
        } else {
            (FIRM_WORDS_KANGBASHI, "150603", "有限责任公司", "鄂尔多斯市")
        };
        let name = format!(
            "{city}{}{}{suffix}",
            words[n % words.len()],
            FIRM_TRADES[(n * 3 + 1) % FIRM_TRADES.len()]
        );
        let org: String = (0..7)
            .map(|_| char::from(USCC_ALPHABET[rng.random_range(0..USCC_ALPHABET.len())]))
            .collect();
        let uscc = Uscc::complete(&format!("91{region}MA{org}"))?;
        let (address, _) = address(rng, hefei);
        let person = people.persons[representative].clone();
        let login = accounts
            .login(&person.mobile, DEMO_PASSWORD, &meta(), &mut engine_rng)
            .await?;
        // The generated firm enters the demo's register as it is made, so the claim is confirmed.
        let register = yiwang_identity::service::register::StaticRegister::new(vec![
            yiwang_identity::service::register::RegisterEntry {
                uscc: uscc.as_str().to_owned(),
                name: name.clone(),
                representative_name: person.name.clone(),
                representative_id: person.resident_id.clone(),
            },
        ])?;
        let enterprise = match accounts
            .with_register(std::sync::Arc::new(register))
            .register_enterprise(
                &login.session,
                uscc.as_str(),
                &name,
                &meta(),
                &mut engine_rng,
            )
            .await
        {
            Ok(EnterpriseRegistration::Registered(e)) => e,
            Ok(EnterpriseRegistration::Held(claim)) => {
                return Err(anyhow!(
                    "demo enterprise {name} was held for a clerk (claim {})",
                    claim.public_id
                ));
            }
            Err(IdentityError::Duplicate { .. }) => {
                yiwang_identity::reads::enterprises_of_person_in(db.conn(), person.id)
                    .await?
                    .into_iter()
                    .map(|(e, _)| e)
                    .find(|e| e.uscc == uscc)
                    .ok_or_else(|| anyhow!("demo enterprise {name} belongs to someone else"))?
            }
            Err(other) => return Err(other.into()),
        };
        accounts.logout(&login.session, &meta()).await?;
        people.firms.push(Firm {
            public_id: enterprise.public_id,
            name,
            uscc: uscc.as_str().to_owned(),
            address,
            applicant: representative,
            representative,
            hefei,
        });
    }
    Ok(people)
}
