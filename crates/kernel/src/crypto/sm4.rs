//! SM4 (GB/T 32907-2016) field encryption in GCM mode (SM4-GCM as in RFC 8998).
//!
//! Personal identifiers are stored encrypted at rest. GCM both hides and authenticates, so a
//! ciphertext altered in the database — or moved to another row, when the row is bound in
//! as associated data — fails to decrypt instead of yielding garbage.
//!
//! Ciphertext layout: `version (1 byte, = 1) ‖ nonce (12) ‖ SM4-GCM ciphertext ‖ tag (16)`.
//! The version byte leaves room to change the format later without guessing. Nonces are
//! random, which is safe for up to 2³² encryptions under one key; rotate keys long before.

use std::fmt;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use rand::CryptoRng;

use super::{CryptoError, decode_hex_array};

type Sm4Gcm = AesGcm<::sm4::Sm4, U12>;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// A 128-bit SM4 key for field encryption. `Debug` never shows the key.
#[derive(Clone)]
pub struct Sm4Key {
    cipher: Sm4Gcm,
}

impl Sm4Key {
    /// A key from its 16 bytes.
    pub fn from_bytes(key: [u8; 16]) -> Self {
        Self {
            cipher: Sm4Gcm::new(&key.into()),
        }
    }

    /// A key from 32 hex characters (as kept in configuration).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        decode_hex_array::<16>(text, "SM4 key").map(Self::from_bytes)
    }

    /// A fresh random key, e.g. for `yiwang` key set-up commands.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut key = [0_u8; 16];
        rng.fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    /// Encrypts `plaintext` under a fresh random nonce.
    ///
    /// # Panics
    ///
    /// If `plaintext` is longer than GCM's limit of 2³⁶ − 32 bytes (64 GiB).
    pub fn encrypt(&self, plaintext: &[u8], rng: &mut impl CryptoRng) -> Vec<u8> {
        self.encrypt_with_aad(plaintext, &[], rng)
    }

    /// Encrypts `plaintext`, binding it to `aad` (e.g. `b"person.resident_id:42"`): decryption
    /// then needs the same `aad`, so a ciphertext copied to another row or column is refused.
    ///
    /// # Panics
    ///
    /// If `plaintext` is longer than GCM's limit of 2³⁶ − 32 bytes (64 GiB).
    pub fn encrypt_with_aad(
        &self,
        plaintext: &[u8],
        aad: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Vec<u8> {
        let mut nonce = [0_u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_else(|_| panic!("SM4-GCM cannot encrypt more than 64 GiB at once"));
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`encrypt`](Self::encrypt) produced.
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.decrypt_with_aad(ciphertext, &[])
    }

    /// Decrypts what [`encrypt_with_aad`](Self::encrypt_with_aad) produced with the same `aad`.
    pub fn decrypt_with_aad(&self, ciphertext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if ciphertext.len() < OVERHEAD {
            return Err(CryptoError::MalformedCiphertext);
        }
        let (version, rest) = ciphertext.split_at(1);
        if version != [VERSION] {
            return Err(CryptoError::MalformedCiphertext);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let mut nonce_bytes = [0_u8; NONCE_LEN];
        nonce_bytes.copy_from_slice(nonce);
        self.cipher
            .decrypt(&nonce_bytes.into(), Payload { msg: sealed, aad })
            .map_err(|_| CryptoError::DecryptionFailed)
    }
}

impl fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4Key(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use ::sm4::Sm4;
    use ::sm4::cipher::{BlockCipherDecrypt, BlockCipherEncrypt};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const KAT_KEY: &str = "0123456789abcdeffedcba9876543210";

    fn block_cipher() -> Sm4 {
        let key: [u8; 16] = hex::decode(KAT_KEY).unwrap().try_into().unwrap();
        Sm4::new(&key.into())
    }

    #[test]
    fn sm4_block_known_answer() {
        // GB/T 32907-2016 appendix A, example 1: key = plaintext.
        let cipher = block_cipher();
        let plain: [u8; 16] = hex::decode(KAT_KEY).unwrap().try_into().unwrap();
        let mut block = plain.into();
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
        cipher.decrypt_block(&mut block);
        assert_eq!(block, plain);
    }

    #[test]
    fn sm4_million_iterations_known_answer() {
        // GB/T 32907-2016 appendix A, example 2: encrypt 1,000,000 times.
        let cipher = block_cipher();
        let plain: [u8; 16] = hex::decode(KAT_KEY).unwrap().try_into().unwrap();
        let mut block = plain.into();
        for _ in 0..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(hex::encode(block), "595298c7c6fd271f0402f804c33d3f66");
    }

    /// RFC 8998 appendix A.1 (SM4-GCM), decrypted through this module's format.
    #[test]
    fn sm4_gcm_rfc8998_vector() {
        let key = Sm4Key::from_hex("0123456789ABCDEFFEDCBA9876543210").unwrap();
        let nonce = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let plain = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let sealed = hex::decode(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D\
             83DE3541E4C2B58177E065A9BF7B62EC",
        )
        .unwrap();
        let nonce_array: [u8; 12] = nonce.clone().try_into().unwrap();
        let computed = key
            .cipher
            .encrypt(
                &nonce_array.into(),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(computed, sealed);

        let mut ours = vec![VERSION];
        ours.extend_from_slice(&nonce);
        ours.extend_from_slice(&sealed);
        assert_eq!(key.decrypt_with_aad(&ours, &aad).unwrap(), plain);
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let mut rng = StdRng::seed_from_u64(7);
        let key = Sm4Key::generate(&mut rng);
        let a = key.encrypt(b"11010519491231002X", &mut rng);
        let b = key.encrypt(b"11010519491231002X", &mut rng);
        assert_ne!(a, b, "same plaintext must not give the same ciphertext");
        assert_eq!(a.len(), OVERHEAD + 18);
        assert_eq!(key.decrypt(&a).unwrap(), b"11010519491231002X");
        assert_eq!(key.decrypt(&b).unwrap(), b"11010519491231002X");
        let empty = key.encrypt(b"", &mut rng);
        assert_eq!(key.decrypt(&empty).unwrap(), b"");
    }

    #[test]
    fn tampering_is_detected() {
        let mut rng = StdRng::seed_from_u64(8);
        let key = Sm4Key::from_hex(KAT_KEY).unwrap();
        let sealed = key.encrypt(b"13812345678", &mut rng);
        for i in 1..sealed.len() {
            for bit in [0x01, 0x80] {
                let mut altered = sealed.clone();
                altered[i] ^= bit;
                assert_eq!(
                    key.decrypt(&altered).unwrap_err(),
                    CryptoError::DecryptionFailed,
                    "byte {i}"
                );
            }
        }
        let mut altered = sealed.clone();
        altered[0] = 2;
        assert_eq!(
            key.decrypt(&altered).unwrap_err(),
            CryptoError::MalformedCiphertext
        );
        assert_eq!(
            key.decrypt(&sealed[..sealed.len() - 1]).unwrap_err(),
            CryptoError::DecryptionFailed
        );
        let e = key.decrypt(&sealed[..OVERHEAD - 1]).unwrap_err();
        assert_eq!(e, CryptoError::MalformedCiphertext);
        assert_eq!(e.code(), "crypto_malformed_ciphertext");

        let other = Sm4Key::generate(&mut rng);
        assert_eq!(
            other.decrypt(&sealed).unwrap_err().code(),
            "crypto_decryption_failed"
        );
    }

    #[test]
    fn associated_data_binds_the_ciphertext() {
        let mut rng = StdRng::seed_from_u64(9);
        let key = Sm4Key::generate(&mut rng);
        let sealed = key.encrypt_with_aad(b"secret", b"person.resident_id:42", &mut rng);
        assert_eq!(
            key.decrypt_with_aad(&sealed, b"person.resident_id:42")
                .unwrap(),
            b"secret"
        );
        assert!(
            key.decrypt_with_aad(&sealed, b"person.resident_id:43")
                .is_err()
        );
        assert!(key.decrypt(&sealed).is_err());
    }

    #[test]
    fn key_parsing() {
        assert!(Sm4Key::from_hex(&KAT_KEY.to_uppercase()).is_ok());
        assert!(Sm4Key::from_hex(&format!(" {KAT_KEY}\n")).is_ok());
        let e = Sm4Key::from_hex("0123").unwrap_err();
        assert_eq!(e.to_string(), "SM4 key must be 32 hex characters");
        assert_eq!(e.code(), "crypto_invalid_key_hex");
        assert!(Sm4Key::from_hex(&"zz".repeat(16)).is_err());
        let key = Sm4Key::from_hex(KAT_KEY).unwrap();
        assert_eq!(format!("{key:?}"), "Sm4Key(<redacted>)");
    }
}
