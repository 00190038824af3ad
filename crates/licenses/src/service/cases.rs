//! What the cases domain calls, inside its own transactions (licences never depend on cases):
//! automatic issue when a case is granted, 免提交 (a licence fulfils a material, with a usage
//! grant for the reviewing department), the guide's "no paper needed" list, form prefill, and
//! seals of decision notices.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use yiwang_db::{ConnectionTrait, DatabaseTransaction};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{TimeLimit, china_date, new_public_id};

use super::issue::Draft;
use super::{Licenses, audit_in, fresh_rng};
use crate::LicenseError;
use crate::model::{GrantId, GrantScope, Holder, HolderKind, License, Source};
use crate::repo::{self, NewGrant};

/// Working days after the decision within which the licence is issued (行政许可法 Art. 44).
pub const ISSUE_WITHIN_WORKING_DAYS: u32 = 10;
/// How long the grant made by an application lasts (the case's whole life, bounded).
pub const CASE_GRANT_DAYS: i64 = 180;

/// The facts of a granted case, as the cases domain knows them.
#[derive(Debug, Clone)]
pub struct CaseFacts<'a> {
    pub case_no: &'a str,
    /// The item's implementation code.
    pub item_code: &'a str,
    /// The case's lead department (issues the licence when it issues the type).
    pub department: DepartmentId,
    pub applicant: PersonId,
    pub enterprise: Option<EnterpriseId>,
    /// The application form's answers by field name.
    pub answers: &'a BTreeMap<String, String>,
    pub decided_at: DateTime<Utc>,
}

/// What a granted case produced for one licence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseIssue {
    /// Issued now.
    Issued {
        type_code: String,
        identifier: String,
    },
    /// Recorded for staff to complete: required data is missing.
    Pending {
        type_code: String,
        missing: Vec<String>,
        due_at: DateTime<Utc>,
    },
}

/// A material of an item that a licence replaces for this applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replacement {
    pub material: String,
    pub type_code: String,
    pub type_name: String,
    /// The applicant's valid licence, when they hold one (`None` in the general guide).
    pub identifier: Option<String>,
}

/// A form field the platform already knows, marked verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prefilled {
    pub field: String,
    pub value: String,
    /// Where the value comes from: `account`, `enterprise_register` or a licence identifier.
    pub source: String,
    pub verified: bool,
}

impl Licenses {
    /// Issues, inside the case's transaction, every licence type the item produces; a type whose
    /// required data the answers lack is recorded as a pending issuance due 10 working days after
    /// the decision. Licence data fields are filled from the answers by field name.
    pub async fn issue_for_case_in(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        facts: &CaseFacts<'_>,
        source: &str,
    ) -> Result<Vec<CaseIssue>, LicenseError> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for t in repo::all_types(tx).await? {
            if !t.producing_items.iter().any(|i| i == facts.item_code) {
                continue;
            }
            let lead = repo::department_by_id(tx, facts.department).await?;
            let dept = match lead.filter(|d| t.departments.contains(&d.code)) {
                Some(d) => d,
                None => match t.departments.first() {
                    Some(code) => repo::department_by_code(tx, code)
                        .await?
                        .ok_or(LicenseError::NotIssuingDepartment)?,
                    None => continue,
                },
            };
            let holder = match (t.holder, facts.enterprise) {
                (HolderKind::Enterprise, Some(e)) => Holder::Enterprise(e),
                (HolderKind::Enterprise, None) => continue,
                (HolderKind::Person, _) => Holder::Person(facts.applicant),
            };
            let data: BTreeMap<String, String> = t
                .fields
                .iter()
                .filter_map(|f| {
                    facts
                        .answers
                        .get(&f.name)
                        .filter(|v| !v.trim().is_empty())
                        .map(|v| (f.name.clone(), v.trim().to_owned()))
                })
                .collect();
            let missing = t.missing_required(&data);
            let checked = if missing.is_empty() {
                t.check_data(&data).ok()
            } else {
                None
            };
            if let Some(data) = checked {
                let valid_from = china_date(now);
                let licence = self
                    .write_licence(
                        tx,
                        Draft {
                            t: &t,
                            dept: &dept,
                            holder,
                            data,
                            valid_from,
                            expires_on: t.validity.expires_on(valid_from),
                            source: Source::Case,
                            case_no: Some(facts.case_no),
                            previous: None,
                        },
                        principal,
                        source,
                        now,
                    )
                    .await?;
                out.push(CaseIssue::Issued {
                    type_code: t.code.clone(),
                    identifier: licence.identifier.to_string(),
                });
            } else {
                let (holder_name, _) = self.holder_facts(tx, holder).await?;
                let due_at = self.calendar.deadline(
                    facts.decided_at,
                    TimeLimit::working_days(ISSUE_WITHIN_WORKING_DAYS),
                );
                let missing = if missing.is_empty() {
                    // Present but malformed values count as missing: staff re-enter them.
                    t.check_data(&data)
                        .err()
                        .unwrap_or_default()
                        .into_iter()
                        .map(|p| p.field)
                        .collect()
                } else {
                    missing
                };
                repo::insert_pending(
                    tx,
                    facts.case_no,
                    &t.code,
                    dept.id,
                    holder,
                    &holder_name,
                    &data,
                    &missing,
                    due_at,
                    now,
                )
                .await?;
                audit_in(
                    tx,
                    now,
                    &super::actor(principal),
                    "licence.pending",
                    format!("case:{}", facts.case_no),
                    source,
                    serde_json::json!({ "type": t.code, "missing": missing }),
                )
                .await?;
                out.push(CaseIssue::Pending {
                    type_code: t.code.clone(),
                    missing,
                    due_at,
                });
            }
        }
        Ok(out)
    }

    /// The materials of an item that a licence type replaces; with an applicant, each names the
    /// applicant's valid licence of that type (the person's, or for enterprise types the
    /// enterprise's), and only those they hold are listed.
    pub async fn replacements_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        item_code: &str,
        applicant: Option<(PersonId, Option<EnterpriseId>)>,
    ) -> Result<Vec<Replacement>, LicenseError> {
        let today = china_date(self.clock.now());
        let mut out = Vec::new();
        for t in repo::all_types(conn).await? {
            for r in t.replaces.iter().filter(|r| r.item == item_code) {
                let identifier = match applicant {
                    None => None,
                    Some((person, enterprise)) => {
                        let (p, e): (PersonId, Vec<EnterpriseId>) = match t.holder {
                            HolderKind::Person => (person, Vec::new()),
                            HolderKind::Enterprise => match enterprise {
                                // Only the enterprise's licences, never the person's own.
                                Some(e) => (PersonId::new(-1), vec![e]),
                                None => continue,
                            },
                        };
                        match repo::valid_of_type(conn, p, &e, &t.code, today)
                            .await?
                            .into_iter()
                            .next()
                        {
                            Some(l) => Some(l.identifier.to_string()),
                            None => continue,
                        }
                    }
                };
                out.push(Replacement {
                    material: r.material.clone(),
                    type_code: t.code.clone(),
                    type_name: t.name.clone(),
                    identifier,
                });
            }
        }
        Ok(out)
    }

    /// The guide page's list: which materials of an item need no paper in general (a licence
    /// replaces them) and, for a logged-in applicant, which they hold.
    pub async fn materials_without_paper(
        &self,
        item_code: &str,
        applicant: Option<(PersonId, Option<EnterpriseId>)>,
    ) -> Result<Vec<Replacement>, LicenseError> {
        self.replacements_in(self.db.conn(), item_code, applicant)
            .await
    }

    /// 免提交 inside the application's transaction: records nothing itself but checks the
    /// licence belongs to the applicant and is valid, and creates the usage grant for the
    /// reviewing department with the case as purpose. Returns the licence and the grant.
    #[expect(
        clippy::too_many_arguments,
        reason = "the facts of one application's use of a licence"
    )]
    pub async fn use_for_case_in(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        applicant: PersonId,
        identifier: &str,
        department: DepartmentId,
        case_no: &str,
        item_name: &str,
        source: &str,
    ) -> Result<(License, GrantId), LicenseError> {
        let now = self.clock.now();
        let licence = self.by_identifier(tx, identifier).await?;
        if !self.holds(tx, applicant, &licence).await? {
            return Err(LicenseError::NotFound);
        }
        if licence.status != crate::model::LicenseStatus::Valid
            || licence.expires_on.is_some_and(|d| d < china_date(now))
        {
            return Err(LicenseError::WrongStatus {
                status: licence.status,
                action: "used",
            });
        }
        let public_id = new_public_id(&mut fresh_rng());
        let purpose = format!("办理“{item_name}”（办件编号{case_no}）");
        let grant = self
            .write_grant(
                tx,
                principal,
                NewGrant {
                    public_id: &public_id,
                    grantor: applicant,
                    holder: licence.holder,
                    department,
                    purpose: &purpose,
                    scope: GrantScope::License,
                    licence: Some(licence.id),
                    type_code: None,
                    case_no: Some(case_no),
                    expires_at: now + Duration::days(CASE_GRANT_DAYS),
                    now,
                },
                source,
            )
            .await?;
        Ok((licence, grant.id))
    }

    /// The form fields the platform already knows for an applicant (and the enterprise they apply
    /// for), marked verified: name, resident ID and mobile from the account; enterprise name, USCC
    /// and legal representative from the enterprise register; the address from a valid licence
    /// that has an `address` field (the enterprise's first, else the person's).
    pub async fn prefill_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        person: PersonId,
        enterprise: Option<EnterpriseId>,
    ) -> Result<Vec<Prefilled>, LicenseError> {
        let mut out = Vec::new();
        let mut push = |field: &str, value: String, source: &str| {
            if !value.is_empty() {
                out.push(Prefilled {
                    field: field.to_owned(),
                    value,
                    source: source.to_owned(),
                    verified: true,
                });
            }
        };
        if let Some((p, rid, mobile)) =
            yiwang_identity::reads::person_identity_in(conn, &self.pii, person).await?
        {
            push("applicant_name", p.name.clone(), "account");
            push("resident_id", rid.as_str().to_owned(), "account");
            push("mobile", mobile.as_str().to_owned(), "account");
        }
        let enterprises: Vec<EnterpriseId> = match enterprise {
            Some(e) if self.enterprises_of(conn, person).await?.contains(&e) => {
                if let Some(ent) = yiwang_identity::reads::enterprise_in(conn, e).await? {
                    push("enterprise_name", ent.name.clone(), "enterprise_register");
                    push("uscc", ent.uscc.as_str().to_owned(), "enterprise_register");
                    push(
                        "legal_representative",
                        ent.legal_representative_name.clone(),
                        "enterprise_register",
                    );
                }
                vec![e]
            }
            _ => Vec::new(),
        };
        let today = china_date(self.clock.now());
        let mut address = None;
        for t in repo::all_types(conn).await? {
            if !t.fields.iter().any(|f| f.name == "address") {
                continue;
            }
            let (p, e) = match t.holder {
                HolderKind::Enterprise if !enterprises.is_empty() => {
                    (PersonId::new(-1), enterprises.clone())
                }
                HolderKind::Person if enterprises.is_empty() => (person, Vec::new()),
                _ => continue,
            };
            if let Some(l) = repo::valid_of_type(conn, p, &e, &t.code, today)
                .await?
                .into_iter()
                .next()
                && let Some(a) = l.data.get("address")
            {
                address = Some((a.clone(), l.identifier.to_string()));
                break;
            }
        }
        if let Some((value, identifier)) = address {
            push("address", value, &identifier);
        }
        Ok(out)
    }

    /// Signs a statement (e.g. a decision notice) with the department's seal key inside the
    /// caller's transaction; returns the key id and the signature (hex `r ‖ s`).
    pub async fn seal_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        department: DepartmentId,
        statement: &[u8],
    ) -> Result<(String, String), LicenseError> {
        let now = self.clock.now();
        let dept = repo::department_by_id(conn, department)
            .await?
            .ok_or(LicenseError::NotIssuingDepartment)?;
        let (key_id, pair) = self.signer_in(conn, &dept.code, Some(dept.id), now).await?;
        Ok((key_id, hex::encode(pair.sign(statement))))
    }
}

impl Licenses {
    /// The newest valid licence of a type held by a person or an enterprise, if any (set-up code
    /// such as the demo uses it to stay idempotent).
    pub async fn valid_licence_of(
        &self,
        holder: Holder,
        type_code: &str,
    ) -> Result<Option<License>, LicenseError> {
        let today = china_date(self.clock.now());
        let (person, enterprises) = match holder {
            Holder::Person(p) => (p, Vec::new()),
            Holder::Enterprise(e) => (PersonId::new(-1), vec![e]),
        };
        Ok(
            repo::valid_of_type(self.db.conn(), person, &enterprises, type_code, today)
                .await?
                .into_iter()
                .next(),
        )
    }
}

impl Licenses {
    /// Whether a person or an enterprise holds (or held) any licence of a type, whatever its status.
    pub async fn holds_any(&self, holder: Holder, type_code: &str) -> Result<bool, LicenseError> {
        Ok(repo::count_of_type(self.db.conn(), holder, type_code).await? > 0)
    }
}
