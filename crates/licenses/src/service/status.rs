//! Status changes: renew (换发, a new version), revoke (吊销), cancel (注销), the expiry job (已过期)
//! and renewal reminders 30 days before expiry (行政许可法 Art. 50) through the outbox.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::policy::Principal;
use yiwang_kernel::china_date;
use yiwang_notify::{NOTICE_TEMPLATE, OutboxMessage, Recipient};

use super::issue::Draft;
use super::{Licenses, MAX_REASON_CHARS, actor, audit_in, bounded, fresh_rng, may_issue, staff_of};
use crate::LicenseError;
use crate::identifier::LicenseIdentifier;
use crate::machine::{self, Command};
use crate::model::{Holder, License, Source};
use crate::repo;

/// Days before the last day of validity that the holder is reminded to renew (Art. 50).
pub const REMINDER_DAYS: u64 = 30;
/// Licences the expiry job and the reminder job handle per run.
pub const EXPIRY_BATCH: u64 = 500;
/// The template of renewal reminders (the generic notice).
pub const REMINDER_TEMPLATE: &str = NOTICE_TEMPLATE;

impl Licenses {
    /// Loads a licence by identifier text (parsed first: a malformed one is `licence_bad_identifier`).
    pub(crate) async fn by_identifier<C: yiwang_db::ConnectionTrait>(
        &self,
        conn: &C,
        identifier: &str,
    ) -> Result<License, LicenseError> {
        let id = LicenseIdentifier::parse(identifier)?;
        repo::licence_by_identifier(conn, id.as_str())
            .await?
            .ok_or(LicenseError::NotFound)
    }

    /// Applies a status command written by staff of an issuing department, with its history line
    /// and audit entry; returns the transition.
    #[expect(
        clippy::too_many_arguments,
        reason = "the command, its actor and its transaction"
    )]
    async fn change(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        licence: &License,
        command: Command,
        reason: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<machine::Transition, LicenseError> {
        let transition = machine::decide(licence.status, command, !reason.is_empty())?;
        if !repo::set_status(tx, licence.id, transition.from, transition.to, reason, now).await? {
            return Err(LicenseError::Conflict);
        }
        let who = actor(principal);
        repo::insert_event(
            tx,
            licence.id,
            now,
            &who,
            command.code(),
            Some(transition.from),
            transition.to,
            reason,
        )
        .await?;
        audit_in(
            tx,
            now,
            &who,
            &format!("licence.{}", command.code()),
            format!("licence:{}", licence.identifier),
            source,
            json!({ "from": transition.from.code(), "to": transition.to.code(), "reason": reason }),
        )
        .await?;
        Ok(transition)
    }

    /// Loads a licence for staff of its issuing department (anyone else: not found / forbidden).
    async fn for_issuer(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        identifier: &str,
    ) -> Result<(License, crate::model::LicenseType, repo::Dept), LicenseError> {
        if !matches!(principal, Principal::System) {
            staff_of(principal)?;
        }
        let licence = self.by_identifier(tx, identifier).await?;
        let t = repo::type_by_code(tx, &licence.type_code)
            .await?
            .ok_or(LicenseError::TypeNotFound)?;
        let dept = if principal == &Principal::System {
            repo::department_by_id(tx, licence.department_id)
                .await?
                .ok_or(LicenseError::NotIssuingDepartment)?
        } else {
            let staff = staff_of(principal)?;
            self.department_of(tx, staff).await?
        };
        may_issue(principal, Some(&dept), &t)?;
        if dept.id != licence.department_id {
            return Err(LicenseError::NotIssuingDepartment);
        }
        Ok((licence, t, dept))
    }

    /// 吊销: staff of the issuing department revoke a valid licence, giving the reason.
    #[tracing::instrument(skip_all, err)]
    pub async fn revoke(
        &self,
        principal: &Principal,
        identifier: &str,
        reason: &str,
        source: &str,
    ) -> Result<License, LicenseError> {
        self.end(principal, identifier, Command::Revoke, reason, source)
            .await
    }

    /// 注销: staff of the issuing department cancel a licence (valid or expired), giving the reason.
    #[tracing::instrument(skip_all, err)]
    pub async fn cancel(
        &self,
        principal: &Principal,
        identifier: &str,
        reason: &str,
        source: &str,
    ) -> Result<License, LicenseError> {
        self.end(principal, identifier, Command::Cancel, reason, source)
            .await
    }

    async fn end(
        &self,
        principal: &Principal,
        identifier: &str,
        command: Command,
        reason: &str,
        source: &str,
    ) -> Result<License, LicenseError> {
        let reason = reason.trim();
        bounded("reason", reason, MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (licence, _, _) = self.for_issuer(&tx, principal, identifier).await?;
        self.change(&tx, principal, &licence, command, reason, source, now)
            .await?;
        let stored = self.load(&tx, licence.id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// 换发: a new version of the licence with the changed data (fields not given keep their
    /// values); the old version becomes 已换发. Validity starts again today.
    #[tracing::instrument(skip_all, err)]
    pub async fn renew(
        &self,
        principal: &Principal,
        identifier: &str,
        changes: &BTreeMap<String, String>,
        reason: &str,
        source: &str,
    ) -> Result<License, LicenseError> {
        let reason = reason.trim();
        bounded("reason", reason, MAX_REASON_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (licence, t, dept) = self.for_issuer(&tx, principal, identifier).await?;
        // Decide before anything is written: a revoked licence is refused here.
        machine::decide(licence.status, Command::Renew, true)?;
        let mut data = licence.data.clone();
        data.extend(changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        let data = t.check_data(&data).map_err(LicenseError::DataInvalid)?;
        self.change(
            &tx,
            principal,
            &licence,
            Command::Renew,
            reason,
            source,
            now,
        )
        .await?;
        let valid_from = china_date(now);
        let renewed = self
            .write_licence(
                &tx,
                Draft {
                    t: &t,
                    dept: &dept,
                    holder: licence.holder,
                    data,
                    valid_from,
                    expires_on: t.validity.expires_on(valid_from),
                    source: Source::Renewal,
                    case_no: licence.case_no.as_deref(),
                    previous: Some(&licence),
                },
                principal,
                source,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(renewed)
    }

    /// The expiry job: valid licences whose last day has passed become 已过期 (one batch; returns
    /// how many changed).
    #[tracing::instrument(skip_all, err)]
    pub async fn expire_due(&self) -> Result<usize, LicenseError> {
        let now = self.clock.now();
        let today = china_date(now);
        let tx = self.db.begin().await?;
        let due = repo::past_expiry(&tx, today, EXPIRY_BATCH).await?;
        let mut changed = 0;
        for licence in &due {
            let transition = machine::decide(licence.status, Command::Expire, false)?;
            if repo::set_status(&tx, licence.id, transition.from, transition.to, "", now).await? {
                repo::insert_event(
                    &tx,
                    licence.id,
                    now,
                    "system",
                    "expire",
                    Some(transition.from),
                    transition.to,
                    "",
                )
                .await?;
                audit_in(
                    &tx,
                    now,
                    "system",
                    "licence.expire",
                    format!("licence:{}", licence.identifier),
                    "worker",
                    json!({ "expires_on": licence.expires_on.map(|d| d.to_string()) }),
                )
                .await?;
                changed += 1;
            }
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Renewal reminders: every valid licence whose last day is within [`REMINDER_DAYS`] gets one
    /// SMS to its holder (a person, or an enterprise's legal representative) through the outbox,
    /// once per licence version. Returns how many were written.
    #[tracing::instrument(skip_all, err)]
    pub async fn remind_renewals(&self) -> Result<usize, LicenseError> {
        let now = self.clock.now();
        let today = china_date(now);
        let until = today
            .checked_add_days(Days::new(REMINDER_DAYS))
            .unwrap_or(today);
        let tx = self.db.begin().await?;
        let due = repo::due_for_reminder(&tx, today, until, EXPIRY_BATCH).await?;
        let mut written = 0;
        let mut rng = fresh_rng();
        for licence in &due {
            if !repo::mark_reminded(&tx, licence.id, now).await? {
                continue;
            }
            let person = match licence.holder {
                Holder::Person(p) => p,
                Holder::Enterprise(e) => {
                    match yiwang_identity::reads::enterprise_in(&tx, e).await? {
                        Some(enterprise) => enterprise.legal_representative,
                        None => continue,
                    }
                }
            };
            let Some(mobile) =
                yiwang_identity::reads::person_mobile_in(&tx, &self.pii, person).await?
            else {
                continue;
            };
            let last_day = licence
                .expires_on
                .map(|d| d.format("%Y年%m月%d日").to_string())
                .unwrap_or_default();
            let text = format!(
                "【一网通办】您的{}（证照编号{}）将于{}到期，请在到期前30日内向{}申请延续或换发。",
                licence.type_name, licence.identifier, last_day, licence.department_name
            );
            yiwang_notify::enqueue(
                &tx,
                now,
                &self.pii,
                &OutboxMessage::new(
                    Recipient::Sms(&mobile),
                    REMINDER_TEMPLATE,
                    json!({ "subject": format!("{}即将到期", licence.type_name), "text": text }),
                ),
                &mut rng,
            )
            .await?;
            audit_in(
                &tx,
                now,
                "system",
                "licence.remind",
                format!("licence:{}", licence.identifier),
                "worker",
                json!({ "expires_on": licence.expires_on.map(|d| d.to_string()) }),
            )
            .await?;
            written += 1;
        }
        tx.commit().await?;
        Ok(written)
    }
}
