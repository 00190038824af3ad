//! Licence use cases. Every state change runs in one transaction: authorize → load the facts →
//! the rules ([`crate::machine`]) → rows + history line + audit entry (+ outbox rows).
//!
//! - [`types`](Licenses::define_type): the licence catalog (证照目录).
//! - `issue.rs`: staff issue, automatic issue for granted cases, pending issuances, bulk import.
//! - `status.rs`: renew (换发), revoke (吊销), cancel (注销), the expiry job and renewal reminders.
//! - `verify.rs`: documents, published keys, the signed revocation list, online verification.
//! - `wallet.rs`: the holder's licences, 亮证 codes, usage grants, reads and their log.
//! - `cases.rs`: what the cases domain calls inside its own transactions (免提交, prefill, seals).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::{ConnectionTrait, DatabaseTransaction, Db};
use yiwang_identity::IdentityError;
use yiwang_identity::model::{EnterpriseId, PersonId, Role};
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::crypto::Sm2KeyPair;
use yiwang_kernel::{SharedClock, WorkCalendar};

use crate::LicenseError;
use crate::document::PLATFORM_DEPARTMENT;
use crate::model::{Holder, License, LicenseType};
use crate::repo::{self, Dept, KeyRow};
use crate::seal::SealCipher;

mod cases;
mod issue;
mod status;
mod verify;
mod wallet;

pub use cases::{CaseFacts, CaseIssue, Prefilled, Replacement as MaterialReplacement};
pub use issue::{HolderRef, ImportReport, IssueRequest, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS};
pub use status::{EXPIRY_BATCH, REMINDER_DAYS, REMINDER_TEMPLATE};
pub use verify::{MAX_DOCUMENT_CHARS, MAX_VERIFY_CHARS};
pub use wallet::{GrantRequest, MAX_GRANT_DAYS, SHOW_CODE_MINUTES};

/// Longest free text (reasons, purposes, search text) accepted, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// The e-licence service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Licenses {
    db: Db,
    clock: SharedClock,
    seals: Arc<SealCipher>,
    calendar: Arc<WorkCalendar>,
    pii: Arc<PiiProtector>,
}

/// A fresh cryptographic random generator (key pairs, codes, public ids).
pub(crate) fn fresh_rng() -> StdRng {
    rand::make_rng()
}

/// How audit entries and history lines name the actor.
pub(crate) fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::System => "system".to_owned(),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

pub(crate) fn staff_of(principal: &Principal) -> Result<&StaffPrincipal, LicenseError> {
    match principal {
        Principal::Staff(s) => Ok(s),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

pub(crate) fn person_of(principal: &Principal) -> Result<PersonId, LicenseError> {
    match principal {
        Principal::Person(p) => Ok(*p),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// `licence_text_too_long` for `what` when `text` has more than `max` characters.
pub(crate) fn bounded(what: &'static str, text: &str, max: usize) -> Result<(), LicenseError> {
    if text.chars().nth(max).is_some() {
        Err(LicenseError::TooLong(what))
    } else {
        Ok(())
    }
}

/// Appends an audit entry in the transaction.
pub(crate) async fn audit_in(
    tx: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    resource: String,
    source: &str,
    detail: serde_json::Value,
) -> Result<(), LicenseError> {
    audit::append(
        tx,
        now,
        &AuditEvent::new(actor, action, resource, source).detail(detail),
    )
    .await?;
    Ok(())
}

/// Policy of licence administration: staff of a department that issues the type (window staff,
/// approvers or the department's administrators). The platform itself (demo, CLI) may too.
pub(crate) fn may_issue(
    principal: &Principal,
    dept: Option<&Dept>,
    t: &LicenseType,
) -> Result<(), LicenseError> {
    match principal {
        Principal::System => match dept {
            Some(d) if t.departments.contains(&d.code) => Ok(()),
            _ => Err(LicenseError::NotIssuingDepartment),
        },
        Principal::Staff(staff) => {
            let role = [Role::WindowStaff, Role::Approver, Role::DepartmentAdmin]
                .into_iter()
                .any(|r| staff.has(r));
            if !role {
                return Err(IdentityError::Forbidden.into());
            }
            match dept {
                Some(d) if t.departments.contains(&d.code) => Ok(()),
                _ => Err(LicenseError::NotIssuingDepartment),
            }
        }
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        Principal::Person(_) => Err(IdentityError::Forbidden.into()),
    }
}

impl Licenses {
    pub fn new(
        db: Db,
        clock: SharedClock,
        seals: SealCipher,
        calendar: WorkCalendar,
        pii: Arc<PiiProtector>,
    ) -> Self {
        Self {
            db,
            clock,
            seals: Arc::new(seals),
            calendar: Arc::new(calendar),
            pii,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// "Now" on the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The staff member's department, read on `conn`.
    pub(crate) async fn department_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        staff: &StaffPrincipal,
    ) -> Result<Dept, LicenseError> {
        repo::department_by_id(conn, staff.department)
            .await?
            .ok_or_else(|| {
                LicenseError::Corrupt("the staff member's department is gone".to_owned())
            })
    }

    /// The holder's name and printed identifier (masked resident ID or USCC).
    pub(crate) async fn holder_facts<C: ConnectionTrait>(
        &self,
        conn: &C,
        holder: Holder,
    ) -> Result<(String, String), LicenseError> {
        match holder {
            Holder::Person(p) => {
                let person = yiwang_identity::reads::person_in(conn, p)
                    .await?
                    .ok_or(LicenseError::HolderNotFound)?;
                Ok((person.name, person.resident_id_masked))
            }
            Holder::Enterprise(e) => {
                let enterprise = yiwang_identity::reads::enterprise_in(conn, e)
                    .await?
                    .ok_or(LicenseError::HolderNotFound)?;
                Ok((enterprise.name, enterprise.uscc.as_str().to_owned()))
            }
        }
    }

    /// The enterprises a person represents or acts for.
    pub(crate) async fn enterprises_of<C: ConnectionTrait>(
        &self,
        conn: &C,
        person: PersonId,
    ) -> Result<Vec<EnterpriseId>, LicenseError> {
        Ok(
            yiwang_identity::reads::enterprises_of_person_in(conn, person)
                .await?
                .into_iter()
                .map(|(e, _)| e.id)
                .collect(),
        )
    }

    /// Whether `person` holds `licence` (as the person, or for an enterprise they represent or act
    /// for).
    pub(crate) async fn holds<C: ConnectionTrait>(
        &self,
        conn: &C,
        person: PersonId,
        licence: &License,
    ) -> Result<bool, LicenseError> {
        Ok(match licence.holder {
            Holder::Person(p) => p == person,
            Holder::Enterprise(e) => self.enterprises_of(conn, person).await?.contains(&e),
        })
    }

    /// The key an owner signs with now, created on first use.
    pub(crate) async fn signer_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        owner: &str,
        department: Option<yiwang_identity::DepartmentId>,
        now: DateTime<Utc>,
    ) -> Result<(String, Sm2KeyPair), LicenseError> {
        if let Some(key) = repo::active_key(conn, owner).await? {
            let pair = self.seals.open(&key.key_id, &key.secret_sealed)?;
            return Ok((key.key_id, pair));
        }
        self.create_key_in(conn, owner, department, now).await
    }

    async fn create_key_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        owner: &str,
        department: Option<yiwang_identity::DepartmentId>,
        now: DateTime<Utc>,
    ) -> Result<(String, Sm2KeyPair), LicenseError> {
        let n = repo::key_count(conn, owner).await? + 1;
        let key_id = format!("{owner}-k{n}");
        let mut rng = fresh_rng();
        let pair = Sm2KeyPair::generate(&mut rng);
        let row = KeyRow {
            key_id: key_id.clone(),
            owner: owner.to_owned(),
            public_key: pair.public_key_hex(),
            secret_sealed: self.seals.seal(&key_id, &pair, &mut rng),
            not_before: now,
            not_after: None,
        };
        repo::insert_key(conn, &row, department, now).await?;
        Ok((key_id, pair))
    }

    /// Makes sure a department (by code) has a seal key; the demo and `yiwang licence keys` call
    /// it. Returns the active key id.
    pub async fn ensure_key(
        &self,
        principal: &Principal,
        department_code: &str,
        source: &str,
    ) -> Result<String, LicenseError> {
        self.key_change(principal, department_code, false, source)
            .await
    }

    /// Rotates a department's seal key (or the platform's, `platform`): a new key pair signs from
    /// now on, the old one keeps verifying what it signed. The department's administrator, a
    /// platform administrator or the platform itself (CLI).
    pub async fn rotate_key(
        &self,
        principal: &Principal,
        department_code: &str,
        source: &str,
    ) -> Result<String, LicenseError> {
        self.key_change(principal, department_code, true, source)
            .await
    }

    async fn key_change(
        &self,
        principal: &Principal,
        owner: &str,
        rotate: bool,
        source: &str,
    ) -> Result<String, LicenseError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let dept = if owner == PLATFORM_DEPARTMENT {
            None
        } else {
            Some(
                repo::department_by_code(&tx, owner)
                    .await?
                    .ok_or(LicenseError::NotIssuingDepartment)?,
            )
        };
        let allowed = match principal {
            Principal::System => true,
            Principal::Staff(s) => {
                s.has(Role::PlatformAdmin)
                    || (s.has(Role::DepartmentAdmin)
                        && dept.as_ref().is_some_and(|d| d.id == s.department))
            }
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            Principal::Person(_) => false,
        };
        if !allowed {
            return Err(IdentityError::Forbidden.into());
        }
        let existing = repo::active_key(&tx, owner).await?;
        let key_id = match (existing, rotate) {
            (Some(k), false) => return Ok(k.key_id),
            (Some(_), true) => {
                repo::retire_keys(&tx, owner, now).await?;
                self.create_key_in(&tx, owner, dept.as_ref().map(|d| d.id), now)
                    .await?
                    .0
            }
            (None, _) => {
                self.create_key_in(&tx, owner, dept.as_ref().map(|d| d.id), now)
                    .await?
                    .0
            }
        };
        audit_in(
            &tx,
            now,
            &actor(principal),
            if rotate {
                "licence.key_rotate"
            } else {
                "licence.key_create"
            },
            format!("licence_key:{key_id}"),
            source,
            serde_json::json!({ "owner": owner }),
        )
        .await?;
        tx.commit().await?;
        Ok(key_id)
    }

    /// Defines or updates a licence type (platform administrators; the platform itself for the
    /// demo). Every problem of the definition is reported at once; unknown departments too.
    pub async fn define_type(
        &self,
        principal: &Principal,
        t: &LicenseType,
        source: &str,
    ) -> Result<bool, LicenseError> {
        match principal {
            Principal::System => {}
            Principal::Staff(s) if s.has(Role::PlatformAdmin) => {}
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        }
        let mut problems = t.problems();
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        for (i, code) in t
            .departments
            .iter()
            .chain(t.legal_basis.iter().map(|b| &b.department))
            .enumerate()
        {
            if repo::department_by_code(&tx, code).await?.is_none() {
                problems.push(crate::error::FieldProblem {
                    field: format!("departments[{i}]"),
                    code: "licence_department_unknown",
                    message: format!("no department {code}"),
                });
            }
        }
        if !problems.is_empty() {
            return Err(LicenseError::TypeInvalid(problems));
        }
        let changed = repo::upsert_type(&tx, t, now).await?;
        if changed {
            audit_in(
                &tx,
                now,
                &actor(principal),
                "licence.type_define",
                format!("licence_type:{}", t.code),
                source,
                serde_json::json!({ "name": t.name }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Every licence type, by code.
    pub async fn types(&self) -> Result<Vec<LicenseType>, LicenseError> {
        repo::all_types(self.db.conn()).await
    }

    /// The licence types the staff member's department issues, by code: the gate of the staff
    /// licence pages. `forbidden` for people, for staff without a licence role (window staff,
    /// approver, department administrator) and for staff of a department that issues no type.
    pub async fn issuing_types(
        &self,
        principal: &Principal,
    ) -> Result<Vec<LicenseType>, LicenseError> {
        let staff = staff_of(principal)?;
        if ![Role::WindowStaff, Role::Approver, Role::DepartmentAdmin]
            .into_iter()
            .any(|r| staff.has(r))
        {
            return Err(IdentityError::Forbidden.into());
        }
        let conn = self.db.conn();
        let dept = self.department_of(conn, staff).await?;
        let types: Vec<LicenseType> = repo::all_types(conn)
            .await?
            .into_iter()
            .filter(|t| t.departments.contains(&dept.code))
            .collect();
        if types.is_empty() {
            return Err(IdentityError::Forbidden.into());
        }
        Ok(types)
    }

    /// One licence type.
    pub async fn licence_type(&self, code: &str) -> Result<LicenseType, LicenseError> {
        repo::type_by_code(self.db.conn(), code)
            .await?
            .ok_or(LicenseError::TypeNotFound)
    }
}

/// The holder kind a type expects, checked against the holder given.
pub(crate) fn check_holder_kind(t: &LicenseType, holder: Holder) -> Result<(), LicenseError> {
    if t.holder == holder.kind() {
        Ok(())
    } else {
        Err(LicenseError::HolderNotFound)
    }
}
