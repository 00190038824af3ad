//! `yiwang licence verify FILE`: offline verification of a downloaded licence, without the network
//! or the database.
//!
//! FILE is either the self-contained download (the document as `GET /api/v1/licences/{identifier}
//! /document` serves it, plus `keys` and `revocations` bundled; see docs/api.md) or a QR payload
//! (`YWL1.…`) as text. Keys and the revocation list can also come from separate files (the answers
//! of `GET /api/v1/licences/keys` and `GET /api/v1/licences/revocations`); those given separately are
//! used instead of bundled ones.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fmt::Write as _;
use yiwang_licenses::document::{OfflineBundle, PublishedKey, SignedRevocations};
use yiwang_licenses::verify::open_revocations;
use yiwang_licenses::{OfflineInput, Outcome, Verdict, verify_offline};

/// The largest file read (a bundle with many keys and a long revocation list stays far below).
pub const MAX_VERIFY_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// `{"keys": [...]}` as the API serves it, or a bare array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeysFile {
    Wrapped { keys: Vec<PublishedKey> },
    Bare(Vec<PublishedKey>),
}

/// Reads a file with a size bound.
pub fn read_bounded(path: &std::path::Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size > MAX_VERIFY_FILE_BYTES {
        bail!(
            "{} is larger than {MAX_VERIFY_FILE_BYTES} bytes",
            path.display()
        );
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Verifies the text of FILE with optional separate keys and revocation list texts.
pub fn verify_text(
    file: &str,
    keys_text: Option<&str>,
    revocations_text: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Verdict> {
    let trimmed = file.trim();
    let (input, mut keys, mut revocations) = if trimmed.starts_with("YWL1.") {
        (OfflineInput::Payload(trimmed.to_owned()), Vec::new(), None)
    } else {
        let bundle: OfflineBundle = serde_json::from_str(trimmed)
            .context("the file is neither a licence document (JSON) nor a QR payload (YWL1.…)")?;
        (
            OfflineInput::Document(bundle.document),
            bundle.keys,
            bundle.revocations,
        )
    };
    if let Some(text) = keys_text {
        keys = match serde_json::from_str::<KeysFile>(text)
            .context("the keys file is not JSON keys")?
        {
            KeysFile::Wrapped { keys } | KeysFile::Bare(keys) => keys,
        };
    }
    if let Some(text) = revocations_text {
        revocations = Some(
            serde_json::from_str::<SignedRevocations>(text)
                .context("the revocation list file is not a signed revocation list")?,
        );
    }
    if keys.is_empty() {
        bail!("no public keys: bundle them in the file or pass --keys (GET /api/v1/licences/keys)");
    }
    let list = revocations
        .as_ref()
        .map(|r| open_revocations(r, &keys))
        .transpose()
        .context("the revocation list cannot be trusted")?;
    Ok(verify_offline(&input, &keys, list.as_ref(), now))
}

/// The lines printed for a verdict.
pub fn describe(verdict: &Verdict) -> String {
    let mut out = format!(
        "{}: {}\n",
        verdict.outcome.code(),
        verdict
            .identifier
            .as_deref()
            .unwrap_or("(unknown identifier)")
    );
    if !verdict.reason.is_empty() {
        let _ = writeln!(out, "reason: {}", verdict.reason);
    }
    for (label, value) in [
        ("type", verdict.type_name.as_deref()),
        ("holder", verdict.holder.as_deref()),
        ("issuer", verdict.issuer.as_deref()),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{label}: {value}");
        }
    }
    if let Some(day) = verdict.expires_on {
        let _ = writeln!(out, "expires on: {day}");
    }
    for (label, value) in &verdict.public_fields {
        let _ = writeln!(out, "{label}: {value}");
    }
    match verdict.revocations_issued_at {
        Some(at) => {
            let _ = writeln!(
                out,
                "revocation list issued at {}",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
        None if verdict.outcome != Outcome::Forged => {
            out.push_str("no revocation list: revocations were not checked\n");
        }
        None => {}
    }
    out
}
