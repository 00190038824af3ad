//! Issuing: by staff by hand, for a granted case (or a pending issuance completed later), and by
//! bulk import of existing paper licences. Every licence is signed when it is written.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::model::{EnterpriseId, PersonId};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ResidentId, Uscc, china_date};

use super::{Licenses, actor, audit_in, check_holder_kind, may_issue, staff_of};
use crate::LicenseError;
use crate::document::{
    HolderStatement, IssuerStatement, LICENCE_FORMAT, LicenseStatement, field_statements,
    qr_statement,
};
use crate::error::RowProblem;
use crate::identifier::LicenseIdentifier;
use crate::model::{
    Holder, License, LicenseId, LicenseStatus, LicenseType, PendingId, PendingIssuance, Source,
};
use crate::repo::{self, Dept, NewLicense};

/// Largest import file, in bytes.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;
/// Most rows in one import.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// Who a licence is for, as staff name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HolderRef {
    /// A registered person, by resident ID.
    ResidentId(String),
    /// A registered enterprise, by USCC.
    Uscc(String),
    Person(PersonId),
    Enterprise(EnterpriseId),
}

/// A licence issued by staff by hand.
#[derive(Debug, Clone, Default)]
pub struct IssueRequest {
    pub type_code: String,
    pub holder: Option<HolderRef>,
    pub data: BTreeMap<String, String>,
    /// The first day of validity (default: today).
    pub valid_from: Option<NaiveDate>,
    /// The issuing department's code when the platform itself issues (demo, CLI); staff always
    /// issue for their own department and this is ignored.
    pub department: Option<String>,
}

/// What an import stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub issued: Vec<String>,
}

/// What [`Licenses::write_licence`] needs.
pub(crate) struct Draft<'a> {
    pub t: &'a LicenseType,
    pub dept: &'a Dept,
    pub holder: Holder,
    pub data: BTreeMap<String, String>,
    pub valid_from: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub source: Source,
    pub case_no: Option<&'a str>,
    /// The version replaced (renewal): the new one keeps its serial with the next version.
    pub previous: Option<&'a License>,
}

impl Licenses {
    /// Resolves a staff member's holder reference.
    async fn resolve_holder(
        &self,
        tx: &DatabaseTransaction,
        holder: &HolderRef,
    ) -> Result<Holder, LicenseError> {
        Ok(match holder {
            HolderRef::Person(p) => Holder::Person(*p),
            HolderRef::Enterprise(e) => Holder::Enterprise(*e),
            HolderRef::ResidentId(text) => {
                let rid = ResidentId::parse(text).map_err(|_| LicenseError::HolderNotFound)?;
                let person = yiwang_identity::reads::person_by_resident_id_in(tx, &self.pii, &rid)
                    .await?
                    .ok_or(LicenseError::HolderNotFound)?;
                Holder::Person(person.id)
            }
            HolderRef::Uscc(text) => {
                let uscc = Uscc::parse(text).map_err(|_| LicenseError::HolderNotFound)?;
                Holder::Enterprise(
                    repo::enterprise_id_by_uscc(tx, &uscc)
                        .await?
                        .ok_or(LicenseError::HolderNotFound)?,
                )
            }
        })
    }

    /// Signs and writes one licence version with its history line and audit entry.
    pub(crate) async fn write_licence(
        &self,
        tx: &DatabaseTransaction,
        draft: Draft<'_>,
        principal: &Principal,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<License, LicenseError> {
        let identifier = if let Some(prev) = draft.previous {
            prev.identifier.next_version()?
        } else {
            let n = repo::next_serial(tx, &draft.t.code, draft.dept.id).await?;
            LicenseIdentifier::new(&draft.t.code, &draft.dept.uscc, &format!("{n:08}"), 1)?
        };
        let (holder_name, holder_id) = self.holder_facts(tx, draft.holder).await?;
        let (key_id, pair) = self
            .signer_in(tx, &draft.dept.code, Some(draft.dept.id), now)
            .await?;
        let statement = LicenseStatement {
            format: LICENCE_FORMAT.to_owned(),
            identifier: identifier.to_string(),
            type_code: draft.t.code.clone(),
            type_name: draft.t.name.clone(),
            version: identifier.version(),
            holder: HolderStatement {
                kind: draft.holder.kind().code().to_owned(),
                name: holder_name.clone(),
                id: holder_id.clone(),
            },
            issuer: IssuerStatement {
                department: draft.dept.code.clone(),
                name: draft.dept.name.clone(),
                uscc: draft.dept.uscc.as_str().to_owned(),
            },
            fields: field_statements(&draft.t.fields, &draft.data),
            issued_on: china_date(now),
            valid_from: draft.valid_from,
            expires_on: draft.expires_on,
            signed_at: now,
            key_id: key_id.clone(),
        };
        let bytes = statement.canonical_bytes();
        let signed = String::from_utf8(bytes.clone())
            .map_err(|e| LicenseError::Corrupt(format!("statement is not UTF-8: {e}")))?;
        let signature = hex::encode(pair.sign(&bytes));
        let qr = URL_SAFE_NO_PAD
            .encode(pair.sign(qr_statement(identifier.as_str(), draft.expires_on).as_bytes()));
        let id = repo::insert_licence(
            tx,
            &NewLicense {
                identifier: &identifier,
                department: draft.dept.id,
                holder: draft.holder,
                holder_name: &holder_name,
                holder_id: &holder_id,
                data: &draft.data,
                issued_on: china_date(now),
                valid_from: draft.valid_from,
                expires_on: draft.expires_on,
                source: draft.source,
                case_no: draft.case_no,
                previous: draft.previous.map(|p| p.id),
                signed: &signed,
                signature: &signature,
                key_id: &key_id,
                qr_signature: &qr,
                now,
            },
        )
        .await?;
        let who = actor(principal);
        repo::insert_event(
            tx,
            id,
            now,
            &who,
            draft.source.code(),
            None,
            LicenseStatus::Valid,
            "",
        )
        .await?;
        audit_in(
            tx,
            now,
            &who,
            "licence.issue",
            format!("licence:{identifier}"),
            source,
            json!({
                "type": draft.t.code,
                "source": draft.source.code(),
                "case_no": draft.case_no,
                "key_id": key_id,
            }),
        )
        .await?;
        self.load(tx, id).await
    }

    /// The department a principal acts for: staff's own; for the platform itself, the one named.
    pub(crate) async fn acting_department(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        named: Option<&str>,
    ) -> Result<Dept, LicenseError> {
        if principal == &Principal::System {
            repo::department_by_code(tx, named.unwrap_or_default())
                .await?
                .ok_or(LicenseError::NotIssuingDepartment)
        } else {
            let staff = staff_of(principal)?;
            self.department_of(tx, staff).await
        }
    }

    pub(crate) async fn load<C: yiwang_db::ConnectionTrait>(
        &self,
        conn: &C,
        id: LicenseId,
    ) -> Result<License, LicenseError> {
        repo::licence_by_id(conn, id)
            .await?
            .ok_or(LicenseError::NotFound)
    }

    /// Staff of an issuing department issue a licence by hand.
    #[tracing::instrument(skip_all, err)]
    pub async fn issue(
        &self,
        principal: &Principal,
        request: &IssueRequest,
        source: &str,
    ) -> Result<License, LicenseError> {
        if !matches!(principal, Principal::System) {
            staff_of(principal)?;
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let t = repo::type_by_code(&tx, &request.type_code)
            .await?
            .ok_or(LicenseError::TypeNotFound)?;
        let dept = self
            .acting_department(&tx, principal, request.department.as_deref())
            .await?;
        may_issue(principal, Some(&dept), &t)?;
        let holder = match &request.holder {
            Some(h) => self.resolve_holder(&tx, h).await?,
            None => return Err(LicenseError::HolderNotFound),
        };
        check_holder_kind(&t, holder)?;
        let data = t
            .check_data(&request.data)
            .map_err(LicenseError::DataInvalid)?;
        let valid_from = request.valid_from.unwrap_or_else(|| china_date(now));
        let licence = self
            .write_licence(
                &tx,
                Draft {
                    t: &t,
                    dept: &dept,
                    holder,
                    data,
                    valid_from,
                    expires_on: t.validity.expires_on(valid_from),
                    source: Source::Staff,
                    case_no: None,
                    previous: None,
                },
                principal,
                source,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(licence)
    }

    /// The open pending issuances of the staff member's department (most urgent first).
    pub async fn pending(
        &self,
        principal: &Principal,
    ) -> Result<Vec<PendingIssuance>, LicenseError> {
        let staff = staff_of(principal)?;
        if !staff.roles.iter().any(|r| {
            matches!(
                r,
                yiwang_identity::model::Role::WindowStaff
                    | yiwang_identity::model::Role::Approver
                    | yiwang_identity::model::Role::DepartmentAdmin
            )
        }) {
            return Err(yiwang_identity::IdentityError::Forbidden.into());
        }
        repo::open_pending(self.db.conn(), staff.department).await
    }

    /// Completes a pending issuance with the missing data: the licence is issued.
    #[tracing::instrument(skip_all, err)]
    pub async fn complete_pending(
        &self,
        principal: &Principal,
        id: PendingId,
        data: &BTreeMap<String, String>,
        source: &str,
    ) -> Result<License, LicenseError> {
        let staff = staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (pending, holder) = repo::pending_by_id(&tx, id)
            .await?
            .filter(|(p, _)| p.department_id == staff.department && p.licence.is_none())
            .ok_or(LicenseError::PendingNotFound)?;
        let t = repo::type_by_code(&tx, &pending.type_code)
            .await?
            .ok_or(LicenseError::TypeNotFound)?;
        let dept = self.department_of(&tx, staff).await?;
        may_issue(principal, Some(&dept), &t)?;
        let mut merged = pending.data.clone();
        merged.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
        let data = t.check_data(&merged).map_err(LicenseError::DataInvalid)?;
        let valid_from = china_date(now);
        let licence = self
            .write_licence(
                &tx,
                Draft {
                    t: &t,
                    dept: &dept,
                    holder,
                    data,
                    valid_from,
                    expires_on: t.validity.expires_on(valid_from),
                    source: Source::Case,
                    case_no: Some(&pending.case_no),
                    previous: None,
                },
                principal,
                source,
                now,
            )
            .await?;
        if !repo::close_pending(&tx, id, licence.id).await? {
            return Err(LicenseError::PendingNotFound);
        }
        tx.commit().await?;
        Ok(licence)
    }

    /// Imports existing paper licences of one type from CSV (UTF-8, header row). Columns:
    /// `holder` (resident ID or USCC), `valid_from` (YYYY-MM-DD), `expires_on` (YYYY-MM-DD or
    /// empty for the type's rule), then one column per data field by name. All or nothing: every
    /// bad row is named with its line and reason and nothing is stored.
    #[tracing::instrument(skip_all, err)]
    pub async fn import_csv(
        &self,
        principal: &Principal,
        type_code: &str,
        text: &str,
        source: &str,
    ) -> Result<ImportReport, LicenseError> {
        let staff = staff_of(principal)?;
        if text.len() > MAX_IMPORT_BYTES {
            return Err(LicenseError::ImportTooLarge);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let t = repo::type_by_code(&tx, type_code)
            .await?
            .ok_or(LicenseError::TypeNotFound)?;
        let dept = self.department_of(&tx, staff).await?;
        may_issue(principal, Some(&dept), &t)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| {
                LicenseError::ImportInvalid(vec![RowProblem {
                    line: 1,
                    reason: format!("the header cannot be read: {e}"),
                }])
            })?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect();
        let mut problems = Vec::new();
        for required in ["holder", "valid_from"] {
            if !headers.iter().any(|h| h == required) {
                problems.push(RowProblem {
                    line: 1,
                    reason: format!("the header has no {required} column"),
                });
            }
        }
        for h in &headers {
            if !["holder", "valid_from", "expires_on"].contains(&h.as_str())
                && !t.fields.iter().any(|f| &f.name == h)
            {
                problems.push(RowProblem {
                    line: 1,
                    reason: format!("{h:?} is not a field of {}", t.name),
                });
            }
        }
        if !problems.is_empty() {
            return Err(LicenseError::ImportInvalid(problems));
        }
        let mut rows = Vec::new();
        for (index, record) in reader.records().enumerate() {
            let line = index as u64 + 2;
            if index >= MAX_IMPORT_ROWS {
                problems.push(RowProblem {
                    line,
                    reason: format!("an import has at most {MAX_IMPORT_ROWS} rows"),
                });
                break;
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    problems.push(RowProblem {
                        line,
                        reason: format!("the row cannot be read: {e}"),
                    });
                    continue;
                }
            };
            match self.import_row(&tx, &t, &headers, &record).await {
                Ok(row) => rows.push(row),
                Err(reason) => problems.push(RowProblem { line, reason }),
            }
        }
        if rows.is_empty() && problems.is_empty() {
            problems.push(RowProblem {
                line: 2,
                reason: "the file has no rows".to_owned(),
            });
        }
        if !problems.is_empty() {
            return Err(LicenseError::ImportInvalid(problems));
        }
        let mut issued = Vec::with_capacity(rows.len());
        for (holder, data, valid_from, expires_on) in rows {
            let licence = self
                .write_licence(
                    &tx,
                    Draft {
                        t: &t,
                        dept: &dept,
                        holder,
                        data,
                        valid_from,
                        expires_on,
                        source: Source::Import,
                        case_no: None,
                        previous: None,
                    },
                    principal,
                    source,
                    now,
                )
                .await?;
            issued.push(licence.identifier.to_string());
        }
        audit_in(
            &tx,
            now,
            &actor(principal),
            "licence.import",
            format!("licence_type:{}", t.code),
            source,
            json!({ "rows": issued.len() }),
        )
        .await?;
        tx.commit().await?;
        Ok(ImportReport { issued })
    }

    /// One import row checked: the holder exists and is of the type's kind, dates parse, the data
    /// fits the type. The error is the row's reason.
    async fn import_row(
        &self,
        tx: &DatabaseTransaction,
        t: &LicenseType,
        headers: &[String],
        record: &csv::StringRecord,
    ) -> Result<
        (
            Holder,
            BTreeMap<String, String>,
            NaiveDate,
            Option<NaiveDate>,
        ),
        String,
    > {
        let mut data = BTreeMap::new();
        let mut holder_text = "";
        let mut valid_from = "";
        let mut expires = "";
        for (h, value) in headers.iter().zip(record.iter()) {
            match h.as_str() {
                "holder" => holder_text = value.trim(),
                "valid_from" => valid_from = value.trim(),
                "expires_on" => expires = value.trim(),
                field => {
                    data.insert(field.to_owned(), value.to_owned());
                }
            }
        }
        let holder_ref = match t.holder {
            crate::model::HolderKind::Person => HolderRef::ResidentId(holder_text.to_owned()),
            crate::model::HolderKind::Enterprise => HolderRef::Uscc(holder_text.to_owned()),
        };
        let holder = self.resolve_holder(tx, &holder_ref).await.map_err(|_| {
            format!(
                "holder {holder_text:?} is not a registered {}",
                t.holder.zh()
            )
        })?;
        let valid_from = NaiveDate::parse_from_str(valid_from, "%Y-%m-%d")
            .map_err(|_| format!("valid_from {valid_from:?} is not a date (YYYY-MM-DD)"))?;
        let expires_on = if expires.is_empty() {
            t.validity.expires_on(valid_from)
        } else {
            let day = NaiveDate::parse_from_str(expires, "%Y-%m-%d")
                .map_err(|_| format!("expires_on {expires:?} is not a date (YYYY-MM-DD)"))?;
            if day < valid_from {
                return Err("expires_on is before valid_from".to_owned());
            }
            Some(day)
        };
        let data = t.check_data(&data).map_err(|problems| {
            problems
                .iter()
                .map(|p| p.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        Ok((holder, data, valid_from, expires_on))
    }
}
