//! Offline verification: a pure function of the document (or QR payload), the published keys, the
//! revocation list and "now". Used by `yiwang licence verify FILE` and by the online verification,
//! which feeds it the platform's own keys and list.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yiwang_kernel::sm2_verify;

use crate::document::{
    LicenseStatement, PLATFORM_DEPARTMENT, PublishedKey, QrPayload, REVOCATIONS_FORMAT,
    RevocationStatement, SignedDocument, SignedRevocations, mask_name,
};

/// What is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfflineInput {
    /// A licence document (the API's `…/document` answer or a downloaded bundle).
    Document(SignedDocument),
    /// A QR payload (`YWL1.…`).
    Payload(String),
}

/// The verdict's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Authentic, in force, not on the revocation list.
    Valid,
    /// Authentic but revoked (吊销) or cancelled (注销).
    Revoked,
    /// Authentic but past its expiry date.
    Expired,
    /// Not authentic: bad signature, unknown key, altered bytes, or a key used outside its period.
    Forged,
    /// Authentic but superseded by a newer version (已换发); only the platform knows this, so only
    /// online verification says it.
    Replaced,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Revoked => "revoked",
            Outcome::Expired => "expired",
            Outcome::Forged => "forged",
            Outcome::Replaced => "replaced",
        }
    }
}

/// The result of a verification, with only what a public page may show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Why (for forged: what failed; for revoked: the status and time).
    pub reason: String,
    pub identifier: Option<String>,
    pub type_name: Option<String>,
    /// Masked for persons, in full for enterprises.
    pub holder: Option<String>,
    pub issuer: Option<String>,
    pub expires_on: Option<NaiveDate>,
    /// (label, value) of the fields the type makes public.
    pub public_fields: Vec<(String, String)>,
    /// When the revocation list used was issued (`None`: no list, so revocations are unknown).
    pub revocations_issued_at: Option<DateTime<Utc>>,
}

impl Verdict {
    fn forged(identifier: Option<String>, reason: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Forged,
            reason: reason.into(),
            identifier,
            type_name: None,
            holder: None,
            issuer: None,
            expires_on: None,
            public_fields: Vec::new(),
            revocations_issued_at: None,
        }
    }
}

/// Why a revocation list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationListError {
    #[error("the revocation list's key {0} is not a published platform key")]
    UnknownKey(String),
    #[error("the revocation list's signature does not verify")]
    BadSignature,
    #[error("the revocation list is malformed: {0}")]
    Malformed(String),
}

/// Checks a revocation list's signature with the platform key among `keys` and reads it.
pub fn open_revocations(
    list: &SignedRevocations,
    keys: &[PublishedKey],
) -> Result<RevocationStatement, RevocationListError> {
    let key = keys
        .iter()
        .find(|k| k.key_id == list.key_id && k.department == PLATFORM_DEPARTMENT)
        .ok_or_else(|| RevocationListError::UnknownKey(list.key_id.clone()))?;
    let bytes = STANDARD
        .decode(list.signed.trim())
        .map_err(|_| RevocationListError::Malformed("signed is not base64".to_owned()))?;
    let signature = hex::decode(list.signature.trim())
        .map_err(|_| RevocationListError::Malformed("signature is not hex".to_owned()))?;
    sm2_verify(&key.public_key, &bytes, &signature)
        .map_err(|_| RevocationListError::BadSignature)?;
    let statement: RevocationStatement = serde_json::from_slice(&bytes)
        .map_err(|e| RevocationListError::Malformed(e.to_string()))?;
    if statement.format != REVOCATIONS_FORMAT {
        return Err(RevocationListError::Malformed(format!(
            "unknown format {:?}",
            statement.format
        )));
    }
    Ok(statement)
}

/// The key `key_id` if it belongs to `department` (when given) and was in its signing period at
/// `at`.
fn key_for<'a>(
    keys: &'a [PublishedKey],
    key_id: &str,
    department: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Result<&'a PublishedKey, String> {
    let key = keys
        .iter()
        .find(|k| k.key_id == key_id)
        .ok_or_else(|| format!("key {key_id} is not a published key"))?;
    if key.department == PLATFORM_DEPARTMENT {
        return Err(format!(
            "key {key_id} is the platform's, not a department's"
        ));
    }
    if let Some(department) = department
        && key.department != department
    {
        return Err(format!(
            "key {key_id} belongs to {}, not to the issuer {department}",
            key.department
        ));
    }
    if let Some(at) = at
        && (at < key.not_before || key.not_after.is_some_and(|end| at > end))
    {
        return Err(format!(
            "key {key_id} was not in use when the licence was signed"
        ));
    }
    Ok(key)
}

/// Verifies a licence document or QR payload without the network.
///
/// The signature is checked first (anything that does not verify is [`Outcome::Forged`]); then the
/// revocation list (if given) and then the expiry against `now`'s China date.
pub fn verify_offline(
    input: &OfflineInput,
    keys: &[PublishedKey],
    revocations: Option<&RevocationStatement>,
    now: DateTime<Utc>,
) -> Verdict {
    let today = yiwang_kernel::china_date(now);
    let mut verdict = match input {
        OfflineInput::Document(doc) => verify_document(doc, keys),
        OfflineInput::Payload(text) => verify_payload(text, keys),
    };
    if verdict.outcome == Outcome::Forged {
        return verdict;
    }
    verdict.revocations_issued_at = revocations.map(|r| r.issued_at);
    let identifier = verdict.identifier.clone().unwrap_or_default();
    if let Some(entry) =
        revocations.and_then(|r| r.entries.iter().find(|e| e.identifier == identifier))
    {
        verdict.outcome = Outcome::Revoked;
        verdict.reason = format!(
            "{} at {}",
            entry.status,
            entry.at.format("%Y-%m-%d %H:%M UTC")
        );
        return verdict;
    }
    if verdict.expires_on.is_some_and(|last| today > last) {
        verdict.outcome = Outcome::Expired;
        "past its expiry date".clone_into(&mut verdict.reason);
    }
    verdict
}

fn verify_document(doc: &SignedDocument, keys: &[PublishedKey]) -> Verdict {
    let claimed = Some(doc.identifier.clone());
    let Some(bytes) = doc.signed_bytes() else {
        return Verdict::forged(claimed, "signed is not base64");
    };
    let Ok(signature) = hex::decode(doc.signature.trim()) else {
        return Verdict::forged(claimed, "signature is not hex");
    };
    // Parse first only to learn the issuer and signing time the key must match; nothing read is
    // trusted until the signature over these exact bytes verifies.
    let Ok(statement) = LicenseStatement::from_bytes(&bytes) else {
        return Verdict::forged(claimed, "the signed bytes are not a licence statement");
    };
    let key = match key_for(
        keys,
        &doc.key_id,
        Some(&statement.issuer.department),
        Some(statement.signed_at),
    ) {
        Ok(key) => key,
        Err(reason) => return Verdict::forged(claimed, reason),
    };
    if sm2_verify(&key.public_key, &bytes, &signature).is_err() {
        return Verdict::forged(claimed, "the signature does not verify");
    }
    if statement.identifier != doc.identifier || statement.key_id != doc.key_id {
        return Verdict::forged(
            claimed,
            "the document names another licence or key than it signs",
        );
    }
    if crate::identifier::LicenseIdentifier::parse(&statement.identifier).is_err() {
        return Verdict::forged(claimed, "the signed identifier is malformed");
    }
    Verdict {
        outcome: Outcome::Valid,
        reason: String::new(),
        identifier: Some(statement.identifier.clone()),
        type_name: Some(statement.type_name.clone()),
        holder: Some(if statement.holder.kind == "person" {
            mask_name(&statement.holder.name)
        } else {
            statement.holder.name.clone()
        }),
        issuer: Some(statement.issuer.name.clone()),
        expires_on: statement.expires_on,
        public_fields: statement.public_fields(),
        revocations_issued_at: None,
    }
}

fn verify_payload(text: &str, keys: &[PublishedKey]) -> Verdict {
    let payload = match QrPayload::parse(text) {
        Ok(p) => p,
        Err(e) => return Verdict::forged(None, e.to_string()),
    };
    let claimed = Some(payload.identifier.to_string());
    // The payload has no signing time; the key must be a published department key whose
    // department holds the identifier's issuer code is checked online. Offline: any published
    // department key with that id.
    let key = match key_for(keys, &payload.key_id, None, None) {
        Ok(key) => key,
        Err(reason) => return Verdict::forged(claimed, reason),
    };
    if sm2_verify(
        &key.public_key,
        payload.statement().as_bytes(),
        &payload.signature,
    )
    .is_err()
    {
        return Verdict::forged(claimed, "the signature does not verify");
    }
    Verdict {
        outcome: Outcome::Valid,
        reason: String::new(),
        identifier: claimed,
        type_name: None,
        holder: None,
        issuer: Some(key.department.clone()),
        expires_on: payload.expires_on,
        public_fields: Vec::new(),
        revocations_issued_at: None,
    }
}
