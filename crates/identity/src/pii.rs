//! Personal identifiers at rest: encrypted with SM4-GCM (the field name bound in as associated data, so
//! a value cannot be moved to another column), found through a keyed SM3 blind index, shown masked.
//!
//! One configured master key (`pii_key`, 32 hex digits) derives the encryption key and the index key, so
//! the index cannot be computed by someone who has only the database.

use rand::CryptoRng;
use yiwang_kernel::crypto::{Sm4Key, hmac_sm3};

use crate::IdentityError;

/// Encrypts, decrypts and indexes personal identifiers.
pub struct PiiProtector {
    cipher: Sm4Key,
    index_key: [u8; 32],
}

impl std::fmt::Debug for PiiProtector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PiiProtector(keys hidden)")
    }
}

/// The columns whose values are protected; the name is bound into ciphertext and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiField {
    ResidentId,
    Mobile,
    /// An outbox message (recipient and text parameters such as one-time codes).
    Message,
    /// The answers of an application form (they hold names, identifiers, addresses).
    CaseForm,
}

impl PiiField {
    fn label(self) -> &'static [u8] {
        match self {
            PiiField::ResidentId => b"resident_id",
            PiiField::Mobile => b"mobile",
            PiiField::Message => b"message",
            PiiField::CaseForm => b"case_form",
        }
    }
}

impl PiiProtector {
    /// From the configured master key (32 hex digits).
    pub fn from_hex(master_hex: &str) -> Result<Self, IdentityError> {
        let master = hex_decode_16(master_hex).ok_or(IdentityError::Config(
            "pii_key must be 32 hexadecimal digits".to_owned(),
        ))?;
        let enc = hmac_sm3(&master, b"yiwang/pii/sm4-gcm");
        let mut enc_key = [0_u8; 16];
        enc_key.copy_from_slice(&enc[..16]);
        Ok(Self {
            cipher: Sm4Key::from_bytes(enc_key),
            index_key: hmac_sm3(&master, b"yiwang/pii/blind-index"),
        })
    }

    /// Encrypt a value for a field; the result is hex text.
    pub fn seal(&self, field: PiiField, value: &str, rng: &mut impl CryptoRng) -> String {
        hex::encode(
            self.cipher
                .encrypt_with_aad(value.as_bytes(), field.label(), rng),
        )
    }

    /// Decrypt a value sealed for the same field.
    pub fn open(&self, field: PiiField, sealed: &str) -> Result<String, IdentityError> {
        let bytes = hex::decode(sealed)
            .map_err(|_| IdentityError::Corrupt("sealed personal data is not hex".to_owned()))?;
        let plain = self
            .cipher
            .decrypt_with_aad(&bytes, field.label())
            .map_err(|_| {
                IdentityError::Corrupt(
                    "sealed personal data does not decrypt with the configured key".to_owned(),
                )
            })?;
        String::from_utf8(plain)
            .map_err(|_| IdentityError::Corrupt("sealed personal data is not text".to_owned()))
    }

    /// The keyed blind index of a (normalised) value, for equality look-ups and uniqueness.
    pub fn blind_index(&self, field: PiiField, value: &str) -> String {
        let mut input = Vec::with_capacity(value.len() + 16);
        input.extend_from_slice(field.label());
        input.push(0x1f);
        input.extend_from_slice(value.as_bytes());
        hex::encode(hmac_sm3(&self.index_key, &input))
    }
}

/// Outbox messages are sealed under the PII key as [`PiiField::Message`].
impl yiwang_notify::MessageSeal for PiiProtector {
    fn seal_text(&self, text: &str, rng: &mut impl CryptoRng) -> String {
        self.seal(PiiField::Message, text, rng)
    }

    fn open_text(&self, sealed: &str) -> Result<String, String> {
        self.open(PiiField::Message, sealed)
            .map_err(|e| e.to_string())
    }
}

fn hex_decode_16(text: &str) -> Option<[u8; 16]> {
    let bytes = hex::decode(text.trim()).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const KEY: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn seals_opens_and_indexes() {
        let pii = PiiProtector::from_hex(KEY).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let sealed = pii.seal(PiiField::ResidentId, "11010519491231002X", &mut rng);
        assert!(!sealed.contains("11010519491231002X"));
        assert_eq!(
            pii.open(PiiField::ResidentId, &sealed).unwrap(),
            "11010519491231002X"
        );
        assert!(
            pii.open(PiiField::Mobile, &sealed).is_err(),
            "bound to its field"
        );
        let again = pii.seal(PiiField::ResidentId, "11010519491231002X", &mut rng);
        assert_ne!(sealed, again, "random nonce per value");
        assert_eq!(
            pii.blind_index(PiiField::Mobile, "13800138000"),
            pii.blind_index(PiiField::Mobile, "13800138000")
        );
        assert_ne!(
            pii.blind_index(PiiField::Mobile, "13800138000"),
            pii.blind_index(PiiField::ResidentId, "13800138000")
        );
        let other = PiiProtector::from_hex("ffeeddccbbaa99887766554433221100").unwrap();
        assert_ne!(
            other.blind_index(PiiField::Mobile, "13800138000"),
            pii.blind_index(PiiField::Mobile, "13800138000"),
            "the index depends on the key"
        );
        assert!(other.open(PiiField::ResidentId, &sealed).is_err());
        assert!(PiiProtector::from_hex("abc").is_err());
    }
}
