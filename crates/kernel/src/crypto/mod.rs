//! Thin wrappers over the RustCrypto national algorithms, with the choices made once:
//!
//! - [`sm3`]: SM3 hashes (audit chain, file digests) and HMAC-SM3 (keyed blind indexes for
//!   looking up encrypted personal identifiers).
//! - [`sm4`]: [`Sm4Key`] field encryption with SM4-GCM (authenticated: tampering is detected).
//! - [`sm2`]: [`Sm2KeyPair`] signatures (e-licences, seals, federation messages) and
//!   [`sm2_verify`].
//!
//! Randomness is always passed in (`rand::CryptoRng`), never taken from a global.

pub mod sm2;
pub mod sm3;
pub mod sm4;

pub use self::sm2::{SM2_DEFAULT_ID, Sm2KeyPair, sm2_verify, sm2_verify_with_id};
pub use self::sm3::{hmac_sm3, sm3_hex};
pub use self::sm4::Sm4Key;

use crate::error::ErrorCode;

/// Why a cryptographic operation failed. Deliberately vague about *why* a decryption or
/// verification failed: the caller only needs to know it did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A key given as hex is not hex or has the wrong length.
    #[error("{what} must be {expected_len} hex characters")]
    InvalidKeyHex {
        /// Which key, e.g. "SM4 key".
        what: &'static str,
        /// Required number of hex characters.
        expected_len: usize,
    },
    /// An SM2 secret key outside the valid range [1, n − 2].
    #[error("SM2 secret key is out of range")]
    InvalidSecretKey,
    /// An SM2 public key that is not a point on the curve.
    #[error("SM2 public key is not a valid SEC1-encoded point")]
    InvalidPublicKey,
    /// Ciphertext too short or of an unknown format version.
    #[error("ciphertext is malformed")]
    MalformedCiphertext,
    /// Wrong key, wrong associated data, or the ciphertext was altered.
    #[error("decryption failed: wrong key or the data was altered")]
    DecryptionFailed,
    /// A signature of the wrong length or with out-of-range values.
    #[error("signature is malformed: expected 64 bytes r‖s")]
    MalformedSignature,
    /// The signature does not match the message and public key.
    #[error("signature does not match the message and public key")]
    BadSignature,
}

impl ErrorCode for CryptoError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidKeyHex { .. } => "crypto_invalid_key_hex",
            Self::InvalidSecretKey => "crypto_invalid_secret_key",
            Self::InvalidPublicKey => "crypto_invalid_public_key",
            Self::MalformedCiphertext => "crypto_malformed_ciphertext",
            Self::DecryptionFailed => "crypto_decryption_failed",
            Self::MalformedSignature => "crypto_malformed_signature",
            Self::BadSignature => "crypto_bad_signature",
        }
    }
}

/// Decodes exactly `N` bytes of hex (either case, surrounding whitespace ignored).
fn decode_hex_array<const N: usize>(
    text: &str,
    what: &'static str,
) -> Result<[u8; N], CryptoError> {
    let mut out = [0_u8; N];
    hex::decode_to_slice(text.trim(), &mut out).map_err(|_| CryptoError::InvalidKeyHex {
        what,
        expected_len: N * 2,
    })?;
    Ok(out)
}
