//! Verification online: published keys, documents, the signed revocation list, and the public
//! verdict for an identifier or QR payload (the same pure check as offline, fed with the platform's
//! own keys and list, plus what only the platform knows: 已换发).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use yiwang_identity::policy::Principal;

use super::{Licenses, person_of};
use crate::LicenseError;
use crate::document::{
    OfflineBundle, PLATFORM_DEPARTMENT, PublishedKey, QrPayload, REVOCATIONS_FORMAT,
    RevocationStatement, SignedDocument, SignedRevocations,
};
use crate::model::{License, LicenseStatus};
use crate::repo;
use crate::verify::{OfflineInput, Outcome, Verdict, verify_offline};

/// The longest text the public verification accepts (an identifier or a QR payload).
pub const MAX_VERIFY_CHARS: usize = 400;
/// The longest base64 `signed` member a document verification accepts (licence statements are a
/// few kilobytes; 64 KiB leaves room for the longest data).
pub const MAX_DOCUMENT_CHARS: usize = 64 * 1024;

impl Licenses {
    /// Every seal key with its validity period (`GET /api/v1/licences/keys`).
    pub async fn published_keys(&self) -> Result<Vec<PublishedKey>, LicenseError> {
        repo::published_keys(self.db.conn()).await
    }

    /// The holder's signed document of one of their licences.
    pub async fn document(
        &self,
        principal: &Principal,
        identifier: &str,
    ) -> Result<SignedDocument, LicenseError> {
        let person = person_of(principal)?;
        let licence = self.by_identifier(self.db.conn(), identifier).await?;
        if !self.holds(self.db.conn(), person, &licence).await? {
            // Someone else's licence is answered like one that does not exist.
            return Err(LicenseError::NotFound);
        }
        Ok(licence.document())
    }

    /// The holder's self-contained download: the document, every published key and a fresh
    /// signed revocation list (`yiwang licence verify FILE` checks it without the network).
    pub async fn offline_bundle(
        &self,
        principal: &Principal,
        identifier: &str,
    ) -> Result<OfflineBundle, LicenseError> {
        let document = self.document(principal, identifier).await?;
        let revocations = self.revocation_list().await?;
        Ok(OfflineBundle {
            document,
            keys: self.published_keys().await?,
            revocations: Some(revocations),
        })
    }

    /// The revocation list, signed now by the platform key (created on first use).
    pub async fn revocation_list(&self) -> Result<SignedRevocations, LicenseError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let statement = RevocationStatement {
            format: REVOCATIONS_FORMAT.to_owned(),
            issued_at: now,
            entries: repo::listed(&tx).await?,
        };
        let (key_id, pair) = self.signer_in(&tx, PLATFORM_DEPARTMENT, None, now).await?;
        let bytes = statement.canonical_bytes();
        let signature = pair.sign(&bytes);
        tx.commit().await?;
        Ok(SignedRevocations {
            key_id,
            signed: STANDARD.encode(&bytes),
            signature: hex::encode(signature),
        })
    }

    /// The public verification of an identifier or a QR payload: valid, revoked, expired, replaced
    /// or forged, with only the public fields.
    pub async fn verify(&self, text: &str) -> Result<Verdict, LicenseError> {
        let text = text.trim();
        if text.chars().nth(MAX_VERIFY_CHARS).is_some() {
            return Err(LicenseError::TooLong("identifier"));
        }
        let now = self.clock.now();
        let conn = self.db.conn();
        let keys = repo::published_keys(conn).await?;
        let revocations = RevocationStatement {
            format: REVOCATIONS_FORMAT.to_owned(),
            issued_at: now,
            entries: repo::listed(conn).await?,
        };
        let (input, identifier) = if text.starts_with(crate::document::QR_PREFIX) {
            let payload = QrPayload::parse(text)?;
            let identifier = payload.identifier.to_string();
            (OfflineInput::Payload(text.to_owned()), identifier)
        } else {
            let licence = self.by_identifier(conn, text).await?;
            (
                OfflineInput::Document(licence.document()),
                licence.identifier.to_string(),
            )
        };
        let mut verdict = verify_offline(&input, &keys, Some(&revocations), now);
        if verdict.outcome == Outcome::Forged {
            return Ok(verdict);
        }
        // A genuine QR payload still names a licence the platform must know; enrich it with the
        // public fields of the stored document (whose own signature is checked the same way).
        let Some(licence) = repo::licence_by_identifier(conn, &identifier).await? else {
            return Ok(Verdict {
                outcome: Outcome::Forged,
                reason: "the platform has no licence with this identifier".to_owned(),
                ..verdict
            });
        };
        if matches!(input, OfflineInput::Payload(_)) {
            let full = verify_offline(
                &OfflineInput::Document(licence.document()),
                &keys,
                Some(&revocations),
                now,
            );
            if full.expires_on != verdict.expires_on {
                return Ok(Verdict {
                    outcome: Outcome::Forged,
                    reason: "the QR payload's expiry differs from the licence".to_owned(),
                    ..verdict
                });
            }
            verdict = full;
        }
        if licence.status == LicenseStatus::Replaced {
            verdict.outcome = Outcome::Replaced;
            "replaced by a newer version (已换发)".clone_into(&mut verdict.reason);
        }
        Ok(verdict)
    }

    /// The public verification of a whole licence document (as `…/document` serves it): the
    /// signature over its exact bytes with the published keys, then the platform's revocations,
    /// expiry and 已换发 — the same verdict an offline verifier reaches, plus what only the
    /// platform knows.
    pub async fn verify_document(
        &self,
        document: &SignedDocument,
    ) -> Result<Verdict, LicenseError> {
        if document.signed.len() > MAX_DOCUMENT_CHARS
            || document.signature.len() > 200
            || document.key_id.len() > 64
            || document.identifier.len() > MAX_VERIFY_CHARS
        {
            return Err(LicenseError::TooLong("document"));
        }
        let now = self.clock.now();
        let conn = self.db.conn();
        let keys = repo::published_keys(conn).await?;
        let revocations = RevocationStatement {
            format: REVOCATIONS_FORMAT.to_owned(),
            issued_at: now,
            entries: repo::listed(conn).await?,
        };
        let mut verdict = verify_offline(
            &OfflineInput::Document(document.clone()),
            &keys,
            Some(&revocations),
            now,
        );
        if verdict.outcome == Outcome::Forged {
            return Ok(verdict);
        }
        let identifier = verdict.identifier.clone().unwrap_or_default();
        match repo::licence_by_identifier(conn, &identifier).await? {
            None => {
                verdict.outcome = Outcome::Forged;
                "the platform has no licence with this identifier".clone_into(&mut verdict.reason);
            }
            Some(licence) if licence.status == LicenseStatus::Replaced => {
                if verdict.outcome == Outcome::Valid {
                    verdict.outcome = Outcome::Replaced;
                    "replaced by a newer version (已换发)".clone_into(&mut verdict.reason);
                }
            }
            Some(_) => {}
        }
        Ok(verdict)
    }

    /// A licence's QR payload, for its holder (the wallet shows it as a QR code).
    pub async fn qr_payload(
        &self,
        principal: &Principal,
        identifier: &str,
    ) -> Result<String, LicenseError> {
        let person = person_of(principal)?;
        let licence: License = self.by_identifier(self.db.conn(), identifier).await?;
        if !self.holds(self.db.conn(), person, &licence).await? {
            return Err(LicenseError::NotFound);
        }
        Ok(licence.qr_payload())
    }
}
