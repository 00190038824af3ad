//! What is signed: the canonical bytes of a licence, of its QR statement and of the revocation
//! list, and the JSON shapes served to verifiers (the contract in docs/api.md).
//!
//! * **Licence document**: the compact JSON serialisation of [`LicenseStatement`] — members in the
//!   order declared here, no whitespace, strings escaped as JSON requires (`"`, `\` and control
//!   characters only; Chinese text as UTF-8), data fields in the type's order. Verifiers never
//!   rebuild these bytes: the document carries them (base64) next to the signature, so the check is
//!   SM2-verify(public key, bytes, signature) followed by reading the JSON.
//! * **QR statement** (offline, short): the UTF-8 text `YWL1\n<identifier>\n<expiry YYYY-MM-DD or
//!   ->\n`, carried in the payload `YWL1.<identifier>.<expiry YYYYMMDD or 0>.<key id>.<signature
//!   base64url, no padding>`; the verifier rebuilds the statement from the payload.
//! * **Revocation list**: the compact JSON of [`RevocationStatement`], signed by the platform key.
//!
//! Every signature is SM2 (GB/T 32918.2) with SM3 and the distinguishing identifier
//! `1234567812345678`, written as the 64 bytes `r ‖ s`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::LicenseError;
use crate::identifier::LicenseIdentifier;

/// The `format` member of a licence statement.
pub const LICENCE_FORMAT: &str = "yiwang-licence/1";
/// The `format` member of a revocation list.
pub const REVOCATIONS_FORMAT: &str = "yiwang-revocations/1";
/// The prefix of QR payloads (and the first line of the QR statement).
pub const QR_PREFIX: &str = "YWL1";
/// The department name of the platform's own key (revocation lists).
pub const PLATFORM_DEPARTMENT: &str = "platform";
/// The signature algorithm named in published keys.
pub const ALGORITHM: &str = "SM2";

/// The holder as printed on the licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderStatement {
    /// `person` or `enterprise`.
    pub kind: String,
    pub name: String,
    /// Masked resident ID (persons) or USCC (enterprises).
    pub id: String,
}

/// The issuing department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerStatement {
    /// The department's code (also the `department` of its keys).
    pub department: String,
    pub name: String,
    pub uscc: String,
}

/// One data field with its label and whether verification pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldStatement {
    pub name: String,
    pub label: String,
    pub value: String,
    pub public: bool,
}

/// The signed content of a licence version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseStatement {
    pub format: String,
    pub identifier: String,
    pub type_code: String,
    pub type_name: String,
    pub version: u16,
    pub holder: HolderStatement,
    pub issuer: IssuerStatement,
    pub fields: Vec<FieldStatement>,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    /// `null` for 长期有效.
    pub expires_on: Option<NaiveDate>,
    pub signed_at: DateTime<Utc>,
    pub key_id: String,
}

impl LicenseStatement {
    /// The exact bytes that are signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings, numbers and vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads signed bytes back (after their signature was checked).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LicenseError> {
        let statement: Self = serde_json::from_slice(bytes)
            .map_err(|e| LicenseError::Corrupt(format!("not a licence statement: {e}")))?;
        if statement.format != LICENCE_FORMAT {
            return Err(LicenseError::Corrupt(format!(
                "unknown statement format {:?}",
                statement.format
            )));
        }
        Ok(statement)
    }

    /// The (label, value) pairs a verification page may show.
    pub fn public_fields(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|f| f.public)
            .map(|f| (f.label.clone(), f.value.clone()))
            .collect()
    }
}

/// A licence document as `GET /api/v1/licences/{identifier}/document` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDocument {
    pub identifier: String,
    pub key_id: String,
    /// Base64 (standard alphabet, padded) of the exact bytes signed.
    pub signed: String,
    /// Hex of `r ‖ s` (64 bytes).
    pub signature: String,
    /// The licence's status when served (not signed: the revocation list is the signed word).
    pub status: String,
}

impl SignedDocument {
    pub fn new(
        identifier: &str,
        key_id: &str,
        signed: &[u8],
        signature: &[u8],
        status: &str,
    ) -> Self {
        Self {
            identifier: identifier.to_owned(),
            key_id: key_id.to_owned(),
            signed: STANDARD.encode(signed),
            signature: hex::encode(signature),
            status: status.to_owned(),
        }
    }

    /// The signed bytes, decoded.
    pub fn signed_bytes(&self) -> Option<Vec<u8>> {
        STANDARD.decode(self.signed.trim()).ok()
    }
}

/// A published public key (`GET /api/v1/licences/keys`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedKey {
    pub key_id: String,
    /// The department code, or `platform` for the key that signs revocation lists.
    pub department: String,
    pub algorithm: String,
    /// Hex of the uncompressed point `04 ‖ x ‖ y`.
    pub public_key: String,
    pub not_before: DateTime<Utc>,
    /// When the key stopped signing (rotated out); it still verifies what it signed before.
    pub not_after: Option<DateTime<Utc>>,
}

/// One revoked or cancelled licence in a revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationEntry {
    pub identifier: String,
    /// `revoked` (吊销) or `cancelled` (注销).
    pub status: String,
    pub at: DateTime<Utc>,
}

/// The signed content of a revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationStatement {
    pub format: String,
    pub issued_at: DateTime<Utc>,
    pub entries: Vec<RevocationEntry>,
}

impl RevocationStatement {
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A signed revocation list as served and bundled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRevocations {
    pub key_id: String,
    /// Base64 of the exact bytes of the [`RevocationStatement`] signed.
    pub signed: String,
    /// Hex of `r ‖ s`.
    pub signature: String,
}

/// The self-contained download for offline verification (`yiwang licence verify FILE`): the
/// document, plus the published keys and the revocation list when bundled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineBundle {
    #[serde(flatten)]
    pub document: SignedDocument,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<PublishedKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocations: Option<SignedRevocations>,
}

/// The short statement a QR payload signs.
pub fn qr_statement(identifier: &str, expires_on: Option<NaiveDate>) -> String {
    let expiry = expires_on.map_or_else(|| "-".to_owned(), |d| d.format("%Y-%m-%d").to_string());
    format!("{QR_PREFIX}\n{identifier}\n{expiry}\n")
}

/// The QR payload: `YWL1.<identifier>.<YYYYMMDD or 0>.<key id>.<base64url signature>`.
pub fn qr_payload(
    identifier: &str,
    expires_on: Option<NaiveDate>,
    key_id: &str,
    signature: &[u8],
) -> String {
    let expiry = expires_on.map_or_else(|| "0".to_owned(), |d| d.format("%Y%m%d").to_string());
    format!(
        "{QR_PREFIX}.{identifier}.{expiry}.{key_id}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A QR payload taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrPayload {
    pub identifier: LicenseIdentifier,
    pub expires_on: Option<NaiveDate>,
    pub key_id: String,
    pub signature: Vec<u8>,
}

impl QrPayload {
    /// Parses a payload; the identifier is checked (check character included).
    pub fn parse(text: &str) -> Result<Self, LicenseError> {
        let bad = |m: &str| LicenseError::BadIdentifier(format!("not a licence QR payload: {m}"));
        let text = text.trim();
        if text.len() > 400 {
            return Err(bad("too long"));
        }
        let rest = text
            .strip_prefix(QR_PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| bad("it starts with YWL1."))?;
        let mut parts = rest.rsplitn(4, '.');
        let (Some(sig), Some(key_id), Some(expiry), Some(identifier)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it has identifier, expiry, key id and signature"));
        };
        let signature = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| bad("the signature is not base64url"))?;
        let expires_on = if expiry == "0" {
            None
        } else {
            Some(
                NaiveDate::parse_from_str(expiry, "%Y%m%d")
                    .map_err(|_| bad("the expiry is not YYYYMMDD"))?,
            )
        };
        if key_id.is_empty() || key_id.len() > 64 {
            return Err(bad("the key id is missing"));
        }
        Ok(Self {
            identifier: LicenseIdentifier::parse(identifier)?,
            expires_on,
            key_id: key_id.to_owned(),
            signature,
        })
    }

    /// The statement its signature covers.
    pub fn statement(&self) -> String {
        qr_statement(self.identifier.as_str(), self.expires_on)
    }
}

/// A person's name masked for public pages (张三 → 张*, 欧阳娜娜 → 欧***).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count();
            format!("{first}{}", "*".repeat(rest.max(1)))
        }
        None => String::new(),
    }
}

/// Data fields in the type's order with labels.
pub fn field_statements(
    fields: &[crate::model::FieldDef],
    data: &BTreeMap<String, String>,
) -> Vec<FieldStatement> {
    fields
        .iter()
        .filter_map(|f| {
            data.get(&f.name).map(|value| FieldStatement {
                name: f.name.clone(),
                label: f.label.clone(),
                value: value.clone(),
                public: f.public,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payload_round_trip() {
        let id = LicenseIdentifier::new(
            "JYXK",
            &yiwang_kernel::Uscc::complete("11340100MB8434305").unwrap(),
            "00000042",
            2,
        )
        .unwrap();
        let day = NaiveDate::from_ymd_opt(2031, 5, 6).unwrap();
        let text = qr_payload(id.as_str(), Some(day), "hf-scjgj-k1", &[7; 64]);
        let parsed = QrPayload::parse(&text).unwrap();
        assert_eq!(parsed.identifier, id);
        assert_eq!(parsed.expires_on, Some(day));
        assert_eq!(parsed.key_id, "hf-scjgj-k1");
        assert_eq!(parsed.signature, vec![7; 64]);
        assert_eq!(
            parsed.statement(),
            format!("YWL1\n{}\n2031-05-06\n", id.as_str())
        );
        let forever = qr_payload(id.as_str(), None, "k", &[1; 64]);
        assert_eq!(QrPayload::parse(&forever).unwrap().expires_on, None);
        let bad = text.replace(".20310506.", ".2031-05-06.");
        for bad in ["", "YWL2.x", "YWL1.a.b", bad.as_str()] {
            assert!(QrPayload::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masks_names() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_name(""), "");
    }
}
