//! The holder's wallet (我的证照): their licences and those of the enterprises they represent, 亮证
//! show codes, usage grants (用证授权), and every read of their licences. Staff read a licence only
//! with a grant, a legal basis recorded for the type, a show code, or as its issuer; every read is
//! logged, and a read without any of these is logged as refused.

use chrono::{DateTime, Duration, Utc};
use rand::RngExt as _;
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::policy::Principal;
use yiwang_kernel::crypto::sm3_hex;
use yiwang_kernel::{Page, PageRequest, new_public_id};

use super::{Licenses, MAX_REASON_CHARS, actor, audit_in, bounded, fresh_rng, person_of, staff_of};
use crate::LicenseError;
use crate::model::{
    Grant, GrantId, GrantScope, Holder, License, LicenseRead, LicenseStatus, ReadBasis, ShowCode,
};
use crate::repo::{self, NewGrant};

/// How long a 亮证 code lives.
pub const SHOW_CODE_MINUTES: i64 = 5;
/// The longest a usage grant may last, in days.
pub const MAX_GRANT_DAYS: u32 = 365;

/// A holder's grant to a department.
#[derive(Debug, Clone, Default)]
pub struct GrantRequest {
    /// The department's code.
    pub department: String,
    pub purpose: String,
    /// One licence by identifier…
    pub identifier: Option<String>,
    /// …or every licence of the holder of this type (exactly one of the two).
    pub type_code: Option<String>,
    /// 1 to [`MAX_GRANT_DAYS`].
    pub days: u32,
}

impl Licenses {
    /// The licences of the caller and of the enterprises they represent or act for, newest first.
    pub async fn my_licences(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<License>, LicenseError> {
        let person = person_of(principal)?;
        let conn = self.db.conn();
        let enterprises = self.enterprises_of(conn, person).await?;
        let (items, total) =
            repo::licences_of_holders(conn, person, &enterprises, page.limit(), page.offset())
                .await?;
        Ok(Page::new(items, total, page))
    }

    /// One of the caller's licences with its history.
    pub async fn my_licence(
        &self,
        principal: &Principal,
        identifier: &str,
    ) -> Result<(License, Vec<crate::model::LicenseEvent>), LicenseError> {
        let person = person_of(principal)?;
        let conn = self.db.conn();
        let licence = self.by_identifier(conn, identifier).await?;
        if !self.holds(conn, person, &licence).await? {
            return Err(LicenseError::NotFound);
        }
        let history = repo::history(conn, &licence).await?;
        Ok((licence, history))
    }

    /// The holder creates a 亮证 code for one valid licence: 6 digits to read out and a token for
    /// the QR, valid [`SHOW_CODE_MINUTES`] minutes, usable once.
    pub async fn create_show_code(
        &self,
        principal: &Principal,
        identifier: &str,
        source: &str,
    ) -> Result<ShowCode, LicenseError> {
        let person = person_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let licence = self.by_identifier(&tx, identifier).await?;
        if !self.holds(&tx, person, &licence).await? {
            return Err(LicenseError::NotFound);
        }
        if licence.status != LicenseStatus::Valid {
            return Err(LicenseError::WrongStatus {
                status: licence.status,
                action: "shown",
            });
        }
        let mut rng = fresh_rng();
        let mut digits = String::new();
        // Digits unique among live codes, so a clerk typing them reaches exactly this licence.
        for _ in 0..20 {
            let candidate = format!("{:06}", rng.random_range(0..1_000_000_u32));
            if !repo::live_digits_taken(&tx, &sm3_hex(candidate.as_bytes()), now).await? {
                digits = candidate;
                break;
            }
        }
        if digits.is_empty() {
            return Err(LicenseError::Conflict);
        }
        let token = new_public_id(&mut rng);
        let expires_at = now + Duration::minutes(SHOW_CODE_MINUTES);
        repo::insert_show_code(
            &tx,
            licence.id,
            &sm3_hex(digits.as_bytes()),
            &sm3_hex(token.as_bytes()),
            expires_at,
            now,
        )
        .await?;
        audit_in(
            &tx,
            now,
            &actor(principal),
            "licence.show_code",
            format!("licence:{}", licence.identifier),
            source,
            json!({ "expires_at": yiwang_db::ts(expires_at) }),
        )
        .await?;
        tx.commit().await?;
        Ok(ShowCode {
            digits,
            token,
            identifier: licence.identifier.to_string(),
            expires_at,
        })
    }

    /// Staff redeem a show code (the 6 digits or the QR token) and see the licence; the read is
    /// logged. An unknown, used or expired code is refused and shows nothing.
    pub async fn redeem_show_code(
        &self,
        principal: &Principal,
        code: &str,
        source: &str,
    ) -> Result<License, LicenseError> {
        let staff = staff_of(principal)?;
        let code = code.trim();
        if code.is_empty() || code.len() > 64 {
            return Err(LicenseError::ShowCodeInvalid);
        }
        let is_digits = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::redeem_show_code(
            &tx,
            !is_digits,
            &sm3_hex(code.as_bytes()),
            &staff.actor(),
            now,
        )
        .await?
        .ok_or(LicenseError::ShowCodeInvalid)?;
        let licence = self.load(&tx, id).await?;
        self.log_read(
            &tx,
            principal,
            &licence,
            ReadBasis::ShowCode,
            None,
            "亮证",
            None,
            true,
            source,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(licence)
    }

    /// The holder grants a department the use of a licence (or of every licence of a type) for a
    /// purpose until an expiry.
    pub async fn grant(
        &self,
        principal: &Principal,
        request: &GrantRequest,
        source: &str,
    ) -> Result<Grant, LicenseError> {
        let person = person_of(principal)?;
        let purpose = request.purpose.trim();
        bounded("purpose", purpose, MAX_REASON_CHARS)?;
        if purpose.is_empty() {
            return Err(LicenseError::ReasonRequired);
        }
        if !(1..=MAX_GRANT_DAYS).contains(&request.days) {
            return Err(LicenseError::DataInvalid(vec![
                crate::error::FieldProblem {
                    field: "days".to_owned(),
                    code: "field_out_of_range",
                    message: format!("a grant lasts 1 to {MAX_GRANT_DAYS} days"),
                },
            ]));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let department = repo::department_by_code(&tx, request.department.trim())
            .await?
            .ok_or(LicenseError::NotIssuingDepartment)?;
        let (scope, licence, type_code, holder) =
            match (request.identifier.as_deref(), request.type_code.as_deref()) {
                (Some(identifier), None) => {
                    let licence = self.by_identifier(&tx, identifier).await?;
                    if !self.holds(&tx, person, &licence).await? {
                        return Err(LicenseError::NotFound);
                    }
                    let holder = licence.holder;
                    (GrantScope::License, Some(licence), None, holder)
                }
                (None, Some(code)) => {
                    let t = repo::type_by_code(&tx, code)
                        .await?
                        .ok_or(LicenseError::TypeNotFound)?;
                    // A type grant covers the person's own licences of a person type; for an
                    // enterprise type, those of the enterprise they represent (the first one).
                    let holder = match t.holder {
                        crate::model::HolderKind::Person => Holder::Person(person),
                        crate::model::HolderKind::Enterprise => Holder::Enterprise(
                            *self
                                .enterprises_of(&tx, person)
                                .await?
                                .first()
                                .ok_or(LicenseError::HolderNotFound)?,
                        ),
                    };
                    (GrantScope::Type, None, Some(t.code), holder)
                }
                _ => {
                    return Err(LicenseError::DataInvalid(vec![
                        crate::error::FieldProblem {
                            field: "scope".to_owned(),
                            code: "licence_grant_scope",
                            message: "a grant names one licence or one licence type".to_owned(),
                        },
                    ]));
                }
            };
        let grant = self
            .write_grant(
                &tx,
                principal,
                NewGrant {
                    public_id: &new_public_id(&mut fresh_rng()),
                    grantor: person,
                    holder,
                    department: department.id,
                    purpose,
                    scope,
                    licence: licence.as_ref().map(|l| l.id),
                    type_code: type_code.as_deref(),
                    case_no: None,
                    expires_at: now + Duration::days(i64::from(request.days)),
                    now,
                },
                source,
            )
            .await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// Writes a grant with its audit entry and returns it as stored.
    pub(crate) async fn write_grant(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        grant: NewGrant<'_>,
        source: &str,
    ) -> Result<Grant, LicenseError> {
        repo::insert_grant(tx, &grant).await?;
        audit_in(
            tx,
            grant.now,
            &actor(principal),
            "licence.grant",
            format!("licence_grant:{}", grant.public_id),
            source,
            json!({
                "department_id": grant.department.get(),
                "scope": grant.scope.code(),
                "case_no": grant.case_no,
                "expires_at": yiwang_db::ts(grant.expires_at),
            }),
        )
        .await?;
        Ok(repo::grant_by_public_id(tx, grant.public_id)
            .await?
            .ok_or(LicenseError::GrantNotFound)?
            .0)
    }

    /// The holder withdraws a grant.
    pub async fn revoke_grant(
        &self,
        principal: &Principal,
        public_id: &str,
        source: &str,
    ) -> Result<(), LicenseError> {
        let person = person_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (grant, grantor) = repo::grant_by_public_id(&tx, public_id.trim())
            .await?
            .ok_or(LicenseError::GrantNotFound)?;
        let holds = match grant.holder {
            Holder::Person(p) => p == person,
            Holder::Enterprise(e) => self.enterprises_of(&tx, person).await?.contains(&e),
        };
        if grantor != person && !holds {
            return Err(LicenseError::GrantNotFound);
        }
        if !repo::revoke_grant(&tx, grant.id, now).await? {
            return Err(LicenseError::GrantNotFound);
        }
        audit_in(
            &tx,
            now,
            &actor(principal),
            "licence.grant_revoke",
            format!("licence_grant:{}", grant.public_id),
            source,
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The grants over the caller's licences (and their enterprises'), newest first.
    pub async fn my_grants(&self, principal: &Principal) -> Result<Vec<Grant>, LicenseError> {
        let person = person_of(principal)?;
        let conn = self.db.conn();
        let enterprises = self.enterprises_of(conn, person).await?;
        repo::grants_of_holders(conn, person, &enterprises).await
    }

    /// Staff read a licence for a purpose (and a case): allowed as its issuer, with a legal basis
    /// recorded for the type, or with the holder's live grant to the staff member's department.
    /// Every read is logged; one without any ground is logged as refused and answered `forbidden`.
    pub async fn read_licence(
        &self,
        principal: &Principal,
        identifier: &str,
        purpose: &str,
        case_no: Option<&str>,
        source: &str,
    ) -> Result<License, LicenseError> {
        let staff = staff_of(principal)?;
        let purpose = purpose.trim();
        bounded("purpose", purpose, MAX_REASON_CHARS)?;
        if purpose.is_empty() {
            return Err(LicenseError::ReasonRequired);
        }
        if let Some(case_no) = case_no {
            bounded("case_no", case_no, 64)?;
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let licence = self.by_identifier(&tx, identifier).await?;
        let dept = self.department_of(&tx, staff).await?;
        let t = repo::type_by_code(&tx, &licence.type_code)
            .await?
            .ok_or(LicenseError::TypeNotFound)?;
        // The holder's grant is named first when there is one (the log then shows the case it
        // serves), then the issuer's own access, then a legal basis.
        let (basis, grant) =
            if let Some(grant) = repo::usable_grant(&tx, dept.id, &licence, case_no, now).await? {
                (ReadBasis::Grant, Some(grant))
            } else if dept.id == licence.department_id {
                (ReadBasis::Issuer, None)
            } else if t.basis_for(&dept.code).is_some() {
                (ReadBasis::LegalBasis, None)
            } else {
                (ReadBasis::None, None)
            };
        let allowed = basis != ReadBasis::None;
        self.log_read(
            &tx, principal, &licence, basis, grant, purpose, case_no, allowed, source, now,
        )
        .await?;
        tx.commit().await?;
        if allowed {
            Ok(licence)
        } else {
            Err(LicenseError::ReadRefused)
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "everything a read log line records"
    )]
    pub(crate) async fn log_read(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        licence: &License,
        basis: ReadBasis,
        grant: Option<GrantId>,
        purpose: &str,
        case_no: Option<&str>,
        allowed: bool,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LicenseError> {
        let who = actor(principal);
        let department = match principal {
            Principal::Staff(s) => Some(s.department),
            _ => None,
        };
        repo::insert_read(
            tx, licence.id, now, department, &who, purpose, case_no, basis, grant, allowed,
        )
        .await?;
        audit_in(
            tx,
            now,
            &who,
            if allowed {
                "licence.read"
            } else {
                "licence.read_refused"
            },
            format!("licence:{}", licence.identifier),
            source,
            json!({ "basis": basis.code(), "purpose": purpose, "case_no": case_no }),
        )
        .await
    }

    /// Who read the caller's licences (and their enterprises'), when and why, newest first.
    pub async fn reads_of_mine(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<LicenseRead>, LicenseError> {
        let person = person_of(principal)?;
        let conn = self.db.conn();
        let enterprises = self.enterprises_of(conn, person).await?;
        let (items, total) =
            repo::reads_of_holders(conn, person, &enterprises, page.limit(), page.offset()).await?;
        Ok(Page::new(items, total, page))
    }

    /// Staff of a department list its licences (search by holder name, identifier or type name).
    pub async fn department_licences(
        &self,
        principal: &Principal,
        text: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<License>, LicenseError> {
        let staff = staff_of(principal)?;
        if let Some(text) = text {
            bounded("q", text, MAX_REASON_CHARS)?;
        }
        if !staff.roles.iter().any(|r| {
            matches!(
                r,
                yiwang_identity::model::Role::WindowStaff
                    | yiwang_identity::model::Role::Approver
                    | yiwang_identity::model::Role::DepartmentAdmin
            )
        }) {
            return Err(IdentityError::Forbidden.into());
        }
        let (items, total) = repo::department_licences(
            self.db.conn(),
            staff.department,
            text,
            page.limit(),
            page.offset(),
        )
        .await?;
        Ok(Page::new(items, total, page))
    }

    /// The logged reads of one licence (for its issuer's staff and tests): (basis, allowed, case).
    pub async fn reads_of_licence(
        &self,
        identifier: &str,
    ) -> Result<Vec<(ReadBasis, bool, Option<String>)>, LicenseError> {
        let licence = self.by_identifier(self.db.conn(), identifier).await?;
        repo::reads_of_licence(self.db.conn(), licence.id).await
    }
}
