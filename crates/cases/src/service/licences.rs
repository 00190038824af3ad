//! Cases and e-licences (电子证照). Cases call the licence domain inside their own transactions:
//!
//! * a case concluding **granted** whose item produces a licence type gets its licence issued in the
//!   same transaction (or a pending issuance, Art. 44);
//! * decision notices (受理通知书, 不予受理决定书, 准予/不予许可决定书) are **sealed** when decided: the
//!   canonical statement below is signed with the department's SM2 key and stored with the case;
//! * **免提交**: a mandatory material that a licence type replaces is fulfilled by the applicant's
//!   valid licence of that type (the person's, or the represented enterprise's); the application
//!   records which licence and creates a usage grant for the reviewing department in the same
//!   transaction, and the reviewer reads the licence through it (logged with the case);
//! * the guide's list of materials that need no paper, and the form prefill.
//!
//! Notice statement (what a notice seal signs): the compact JSON of [`NoticeStatement`], members in
//! declared order, no whitespace. Notice QR statement: `YWN1\n<case no>\n<notice>\n<sealed at,
//! RFC 3339 UTC to the second>\n`, carried as `YWN1.<case no>.<notice>.<sealed at YYYYMMDDhhmmss
//! UTC>.<key id>.<base64url signature>` (case numbers and key ids have no dots), so an offline
//! verifier rebuilds the statement from the payload alone.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use yiwang_catalog::model::ItemId;
use yiwang_db::{ConnectionTrait, DatabaseTransaction};
use yiwang_identity::model::{EnterpriseId, PersonId};
use yiwang_identity::policy::Principal;
use yiwang_licenses::Licenses;
use yiwang_licenses::document::PublishedKey;
use yiwang_licenses::service::{CaseFacts, CaseIssue, MaterialReplacement, Prefilled};

use super::{Cases, person_of, staff_of};
use crate::CaseError;
use crate::model::{Case, CaseId, CaseStatus, Outcome};
use crate::repo::{self, NoticeSeal};

/// The `format` member of notice statements.
pub const NOTICE_FORMAT: &str = "yiwang-notice/1";

/// The notices a case can have, by code.
pub const NOTICES: [(&str, &str); 4] = [
    ("acceptance", "受理通知书"),
    ("decline", "不予受理决定书"),
    ("grant", "准予行政许可决定书"),
    ("deny", "不予行政许可决定书"),
];

/// What a notice seal signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeStatement {
    pub format: String,
    /// `acceptance`, `decline`, `grant` or `deny`.
    pub notice: String,
    pub title: String,
    pub case_no: String,
    pub item_code: String,
    pub item_name: String,
    pub applicant: String,
    /// Masked resident ID or USCC.
    pub applicant_id: String,
    pub department: String,
    /// The decision's wording (reasons, conditions); empty for acceptance.
    pub note: String,
    pub decided_at: DateTime<Utc>,
}

impl NoticeSeal {
    /// The notice's QR payload (`YWN1.<case no>.<notice>.<sealed at>.<key id>.<signature>`).
    pub fn qr_payload(&self, case_no: &str) -> String {
        format!(
            "{NOTICE_QR_PREFIX}{case_no}.{}.{}.{}.{}",
            self.notice,
            self.sealed_at.format("%Y%m%d%H%M%S"),
            self.key_id,
            self.qr_signature
        )
    }
}

/// How a sealed notice's QR payload starts.
pub const NOTICE_QR_PREFIX: &str = "YWN1.";

/// The short statement a notice QR signs (the time to the second, as the payload carries it).
pub fn notice_qr_statement(case_no: &str, notice: &str, sealed_at: DateTime<Utc>) -> String {
    format!(
        "YWN1\n{case_no}\n{notice}\n{}\n",
        sealed_at.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

/// A sealed notice's QR payload, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticePayload {
    pub case_no: String,
    /// `acceptance`, `decline`, `grant` or `deny`.
    pub notice: String,
    pub sealed_at: DateTime<Utc>,
    pub key_id: String,
    /// `r ‖ s`, 64 bytes.
    pub signature: Vec<u8>,
}

impl NoticePayload {
    /// Parses `YWN1.<case no>.<notice>.<YYYYMMDDhhmmss>.<key id>.<base64url r‖s>`; `None` when
    /// it is not one (wrong shape, unknown notice, bad time or signature encoding).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix(NOTICE_QR_PREFIX)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [case_no, notice, sealed_at, key_id, signature] = parts.as_slice() else {
            return None;
        };
        let plain = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if !plain(case_no) || !plain(key_id) || !NOTICES.iter().any(|(code, _)| code == notice) {
            return None;
        }
        let sealed_at = chrono::NaiveDateTime::parse_from_str(sealed_at, "%Y%m%d%H%M%S")
            .ok()?
            .and_utc();
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        (signature.len() == 64).then(|| NoticePayload {
            case_no: (*case_no).to_owned(),
            notice: (*notice).to_owned(),
            sealed_at,
            key_id: (*key_id).to_owned(),
            signature,
        })
    }

    /// The notice's title (受理通知书 …).
    pub fn title(&self) -> &'static str {
        notice_title(&self.notice)
    }

    /// Offline verification with the published keys: the key exists, was in use when the notice
    /// was sealed, and its SM2 signature over the rebuilt statement holds. The key's department on
    /// success, what failed otherwise.
    pub fn verify_offline<'k>(
        &self,
        keys: &'k [PublishedKey],
    ) -> Result<&'k PublishedKey, &'static str> {
        let key = keys
            .iter()
            .find(|k| k.key_id == self.key_id)
            .ok_or("unknown key")?;
        if self.sealed_at < key.not_before || key.not_after.is_some_and(|end| self.sealed_at > end)
        {
            return Err("the key was not in use when the notice was sealed");
        }
        let statement = notice_qr_statement(&self.case_no, &self.notice, self.sealed_at);
        yiwang_kernel::sm2_verify(&key.public_key, statement.as_bytes(), &self.signature)
            .map_err(|_| "the signature does not match")?;
        Ok(key)
    }
}

/// The title of a notice code, or the code itself when unknown.
pub fn notice_title(notice: &str) -> &'static str {
    NOTICES
        .iter()
        .find(|(code, _)| *code == notice)
        .map_or("", |(_, title)| *title)
}

/// What the public verification of a sealed notice says, with only what may be public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeVerdict {
    /// Authentic and the platform holds the same seal.
    pub genuine: bool,
    /// Why not, when not genuine.
    pub reason: String,
    pub case_no: String,
    pub title: &'static str,
    /// Filled only when genuine.
    pub item_name: Option<String>,
    pub department_name: Option<String>,
    pub sealed_at: Option<DateTime<Utc>>,
}

impl Cases {
    /// Cases with e-licences: granted cases issue licences, notices are sealed, licences replace
    /// materials. Without it (older set-ups, some tests) none of that happens.
    #[must_use]
    pub fn with_licenses(mut self, licenses: Licenses) -> Self {
        self.licenses = Some(licenses);
        self
    }

    pub fn licenses(&self) -> Option<&Licenses> {
        self.licenses.as_ref()
    }

    /// The materials of the item a licence of the applicant fulfils (empty without licences).
    pub(super) async fn licensed_materials<C: ConnectionTrait>(
        &self,
        conn: &C,
        item_code: &str,
        person: PersonId,
        enterprise: Option<EnterpriseId>,
    ) -> Result<Vec<MaterialReplacement>, CaseError> {
        match &self.licenses {
            Some(l) => Ok(l
                .replacements_in(conn, item_code, Some((person, enterprise)))
                .await?),
            None => Ok(Vec::new()),
        }
    }

    /// The guide page's list: which materials of an item need no paper — in general, or for the
    /// logged-in person (applying for themselves or for an enterprise they act for, by public id).
    pub async fn paperless_materials(
        &self,
        principal: &Principal,
        item: ItemId,
        enterprise: Option<&str>,
    ) -> Result<Vec<MaterialReplacement>, CaseError> {
        let Some(licenses) = &self.licenses else {
            return Ok(Vec::new());
        };
        let item = self.catalog.item(item).await?;
        let applicant = match principal {
            Principal::Person(person) => {
                let applicant = self.applicant(*person, enterprise).await?;
                Some((*person, applicant.enterprise_id))
            }
            _ => None,
        };
        Ok(licenses
            .materials_without_paper(&item.impl_code, applicant)
            .await?)
    }

    /// The form fields the platform already knows for the caller (and the enterprise they apply
    /// for), marked verified. Empty without licences.
    pub async fn prefill(
        &self,
        principal: &Principal,
        enterprise: Option<&str>,
    ) -> Result<Vec<Prefilled>, CaseError> {
        let person = person_of(principal)?;
        let Some(licenses) = &self.licenses else {
            return Ok(Vec::new());
        };
        let applicant = self.applicant(person, enterprise).await?;
        Ok(licenses
            .prefill_in(self.db.conn(), person, applicant.enterprise_id)
            .await?)
    }

    /// Inside a submission: every mandatory material without a file that a licence of the applicant
    /// replaces is fulfilled by it — the licence is recorded with the case and a usage grant for
    /// the case's department is created. Returns the materials fulfilled.
    pub(super) async fn use_licences(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        case: &Case,
        attached: &[String],
        source: &str,
    ) -> Result<Vec<String>, CaseError> {
        let Some(licenses) = &self.licenses else {
            return Ok(Vec::new());
        };
        let Some(case_no) = case.case_no.as_deref() else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let mut used = Vec::new();
        for r in self
            .licensed_materials(
                tx,
                &case.item_code,
                case.applicant.person_id,
                case.applicant.enterprise_id,
            )
            .await?
        {
            let Some(identifier) = r.identifier.as_deref() else {
                continue;
            };
            if attached.contains(&r.material) || used.contains(&r.material) {
                continue;
            }
            let (licence, grant) = licenses
                .use_for_case_in(
                    tx,
                    principal,
                    case.applicant.person_id,
                    identifier,
                    case.department_id,
                    case_no,
                    &case.item_name,
                    source,
                )
                .await?;
            repo::insert_case_licence(tx, case.id, &r.material, licence.id.get(), grant.get(), now)
                .await?;
            used.push(r.material);
        }
        Ok(used)
    }

    /// After a transition is settled: seal the notice it decides and, for a grant, issue the
    /// licences the item produces.
    pub(super) async fn after_transition(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        case: &Case,
        event: &str,
        decided: bool,
        source: &str,
    ) -> Result<Vec<CaseIssue>, CaseError> {
        let Some(licenses) = &self.licenses else {
            return Ok(Vec::new());
        };
        let mut notices = Vec::new();
        if event == "accept" && case.accepted_at.is_some() {
            notices.push("acceptance");
        }
        if case.status == CaseStatus::Declined && event == "decline" {
            notices.push("decline");
        }
        if decided {
            match case.outcome {
                Some(Outcome::Granted) => notices.push("grant"),
                Some(Outcome::Denied) => notices.push("deny"),
                _ => {}
            }
        }
        for notice in notices {
            self.seal_notice(tx, licenses, case, notice).await?;
        }
        if decided && case.outcome == Some(Outcome::Granted) {
            let answers = self.open_form(&repo::case_form(tx, case.id).await?)?;
            let issued = licenses
                .issue_for_case_in(
                    tx,
                    principal,
                    &CaseFacts {
                        case_no: case.case_no.as_deref().unwrap_or_default(),
                        item_code: &case.item_code,
                        department: case.department_id,
                        applicant: case.applicant.person_id,
                        enterprise: case.applicant.enterprise_id,
                        answers: &answers,
                        decided_at: case.decided_at.unwrap_or_else(|| self.clock.now()),
                    },
                    source,
                )
                .await?;
            return Ok(issued);
        }
        Ok(Vec::new())
    }

    async fn seal_notice(
        &self,
        tx: &DatabaseTransaction,
        licenses: &Licenses,
        case: &Case,
        notice: &str,
    ) -> Result<(), CaseError> {
        let Some(case_no) = case.case_no.as_deref() else {
            return Ok(());
        };
        // To the second: the QR payload carries the time the notice was sealed at that precision.
        let now = self.clock.now().trunc_subsecs(0);
        let title = notice_title(notice);
        let statement = NoticeStatement {
            format: NOTICE_FORMAT.to_owned(),
            notice: notice.to_owned(),
            title: title.to_owned(),
            case_no: case_no.to_owned(),
            item_code: case.item_code.clone(),
            item_name: case.item_name.clone(),
            applicant: case.applicant.name.clone(),
            applicant_id: case.applicant.id_masked.clone(),
            department: case.department_name.clone(),
            note: case.decision_note.clone(),
            decided_at: now,
        };
        let bytes = serde_json::to_vec(&statement)
            .map_err(|e| CaseError::Corrupt(format!("notice statement: {e}")))?;
        let (key_id, signature) = licenses.seal_in(tx, case.department_id, &bytes).await?;
        let (qr_key, qr_signature) = licenses
            .seal_in(
                tx,
                case.department_id,
                notice_qr_statement(case_no, notice, now).as_bytes(),
            )
            .await?;
        debug_assert_eq!(key_id, qr_key);
        let qr_signature = URL_SAFE_NO_PAD
            .encode(hex::decode(&qr_signature).map_err(|e| CaseError::Corrupt(e.to_string()))?);
        repo::insert_seal(
            tx,
            case.id,
            &NoticeSeal {
                notice: notice.to_owned(),
                statement: String::from_utf8(bytes)
                    .map_err(|e| CaseError::Corrupt(e.to_string()))?,
                signature,
                key_id,
                qr_signature,
                sealed_at: now,
            },
        )
        .await
    }

    /// The public verification of a sealed notice's QR payload: the SM2 signature with the
    /// published keys (as an offline verifier checks it), then that the platform sealed that very
    /// notice. `None` when the text is not a notice payload.
    pub async fn verify_notice(&self, text: &str) -> Result<Option<NoticeVerdict>, CaseError> {
        let Some(payload) = NoticePayload::parse(text) else {
            return Ok(None);
        };
        let forged = |reason: &str| NoticeVerdict {
            genuine: false,
            reason: reason.to_owned(),
            case_no: payload.case_no.clone(),
            title: payload.title(),
            item_name: None,
            department_name: None,
            sealed_at: None,
        };
        let Some(licenses) = &self.licenses else {
            return Ok(Some(forged("the platform seals no notices")));
        };
        let keys = licenses.published_keys().await?;
        if let Err(reason) = payload.verify_offline(&keys) {
            return Ok(Some(forged(reason)));
        }
        let conn = self.db.conn();
        let Some(case) = repo::case_by_no(conn, &payload.case_no).await? else {
            return Ok(Some(forged("the platform has no such case")));
        };
        let stored = repo::seal_of(conn, case.id, &payload.notice).await?;
        let same = stored.as_ref().is_some_and(|seal| {
            seal.key_id == payload.key_id
                && seal.sealed_at == payload.sealed_at
                && URL_SAFE_NO_PAD.decode(&seal.qr_signature).ok().as_deref()
                    == Some(payload.signature.as_slice())
        });
        if !same {
            return Ok(Some(forged("the platform sealed no such notice")));
        }
        Ok(Some(NoticeVerdict {
            genuine: true,
            reason: String::new(),
            case_no: payload.case_no.clone(),
            title: payload.title(),
            item_name: Some(case.item_name),
            department_name: Some(case.department_name),
            sealed_at: Some(payload.sealed_at),
        }))
    }

    /// The seal of a case's notice (`acceptance`, `decline`, `grant`, `deny`) for whoever may see
    /// the case; `None` until the notice is decided.
    pub async fn notice_seal(
        &self,
        principal: &Principal,
        id: CaseId,
        notice: &str,
    ) -> Result<Option<NoticeSeal>, CaseError> {
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.authorize_view(principal, &case)
            .await
            .map_err(|_| CaseError::CaseNotFound)?;
        repo::seal_of(self.db.conn(), id, notice).await
    }

    /// The licences that fulfil materials of a case: (material, licence identifier).
    pub async fn case_licences(
        &self,
        principal: &Principal,
        id: CaseId,
    ) -> Result<Vec<(String, String)>, CaseError> {
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.authorize_view(principal, &case)
            .await
            .map_err(|_| CaseError::CaseNotFound)?;
        repo::case_licences(self.db.conn(), id).await
    }

    /// A reviewer reads the licence that fulfils a material of a case they may see, through the
    /// grant the application made (the read is logged with the case number).
    pub async fn read_case_licence(
        &self,
        principal: &Principal,
        id: CaseId,
        material: &str,
        source: &str,
    ) -> Result<yiwang_licenses::License, CaseError> {
        staff_of(principal)?;
        let licenses = self.licenses.as_ref().ok_or(CaseError::FileNotFound)?;
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.authorize_view(principal, &case)
            .await
            .map_err(|_| CaseError::CaseNotFound)?;
        let identifier = repo::case_licences(self.db.conn(), id)
            .await?
            .into_iter()
            .find(|(m, _)| m == material)
            .map(|(_, identifier)| identifier)
            .ok_or(CaseError::FileNotFound)?;
        Ok(licenses
            .read_licence(
                principal,
                &identifier,
                &format!("审查“{}”材料：{material}", case.item_name),
                case.case_no.as_deref(),
                source,
            )
            .await?)
    }
}
