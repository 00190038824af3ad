//! Seals: SM2 key pairs per issuing department (and one for the platform, which signs revocation
//! lists), their private keys SM4-GCM-encrypted at rest.
//!
//! The encryption key is configured (`[licenses] seal_key`, 32 hex digits) or derived from the PII
//! master key ([`derive_seal_key`]); keys of earlier rotations of that setting stay readable
//! (`previous_seal_keys`). Each stored secret is bound to its key id as associated data, so a
//! secret copied to another key row does not open.
//!
//! Rotation: a new key pair becomes the department's active key (`not_before` = now) and the old
//! one gets `not_after` = now; old keys stay published, so everything they signed keeps verifying.

use rand::CryptoRng;
use yiwang_kernel::crypto::{Sm2KeyPair, Sm4Key, hmac_sm3};

use crate::LicenseError;

const SEAL_KEY_LABEL: &[u8] = b"yiwang/licenses/seal-keys";

/// The key that seals licence private keys, derived from the PII master key (32 hex digits) when
/// no key of its own is configured.
pub fn derive_seal_key(master_hex: &str) -> Result<Sm4Key, LicenseError> {
    let master = hex::decode(master_hex.trim())
        .map_err(|_| LicenseError::Corrupt("the master key is not hex".to_owned()))?;
    let mac = hmac_sm3(&master, SEAL_KEY_LABEL);
    let mut key = [0_u8; 16];
    key.copy_from_slice(&mac[..16]);
    Ok(Sm4Key::from_bytes(key))
}

/// Seals and opens private keys: the current key for new secrets, earlier ones for reading.
#[derive(Debug, Clone)]
pub struct SealCipher {
    current: Sm4Key,
    previous: Vec<Sm4Key>,
}

fn aad(key_id: &str) -> Vec<u8> {
    format!("licence_seal_key:{key_id}").into_bytes()
}

impl SealCipher {
    pub fn new(current: Sm4Key) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    #[must_use]
    pub fn with_previous(mut self, previous: Vec<Sm4Key>) -> Self {
        self.previous = previous;
        self
    }

    /// The private key of `pair`, sealed for the row of `key_id` (hex).
    pub fn seal(&self, key_id: &str, pair: &Sm2KeyPair, rng: &mut impl CryptoRng) -> String {
        hex::encode(
            self.current
                .encrypt_with_aad(pair.secret_hex().as_bytes(), &aad(key_id), rng),
        )
    }

    /// Opens a sealed private key of `key_id`.
    pub fn open(&self, key_id: &str, sealed: &str) -> Result<Sm2KeyPair, LicenseError> {
        let bytes = hex::decode(sealed).map_err(|_| LicenseError::SealKey)?;
        let aad = aad(key_id);
        let plain = std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|key| key.decrypt_with_aad(&bytes, &aad).ok())
            .ok_or(LicenseError::SealKey)?;
        let text = String::from_utf8(plain).map_err(|_| LicenseError::SealKey)?;
        Ok(Sm2KeyPair::from_secret_hex(&text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn seals_bound_to_the_key_id_and_opens_with_rotated_keys() {
        let mut rng = StdRng::seed_from_u64(7);
        let old = derive_seal_key("00112233445566778899aabbccddeeff").unwrap();
        let pair = Sm2KeyPair::generate(&mut rng);
        let sealed = SealCipher::new(old.clone()).seal("hf-scjgj-k1", &pair, &mut rng);
        assert!(!sealed.contains(&pair.secret_hex()));
        let rotated = SealCipher::new(Sm4Key::generate(&mut rng)).with_previous(vec![old]);
        let opened = rotated.open("hf-scjgj-k1", &sealed).unwrap();
        assert_eq!(opened.public_key_hex(), pair.public_key_hex());
        // Another row's id, or a cipher without the old key, does not open it.
        assert!(rotated.open("hf-scjgj-k2", &sealed).is_err());
        assert!(
            SealCipher::new(Sm4Key::generate(&mut rng))
                .open("hf-scjgj-k1", &sealed)
                .is_err()
        );
    }
}
