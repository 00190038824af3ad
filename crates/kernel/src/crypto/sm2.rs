//! SM2 digital signatures (GB/T 32918.2-2016) on the recommended curve, with SM3.
//!
//! Signatures are the raw 64-byte `r ‖ s`; public keys are uncompressed SEC1 points in hex
//! (`04 ‖ x ‖ y`, 130 hex characters), the form other national-algorithm tools exchange. The
//! signer's distinguishing identifier defaults to `1234567812345678`, as GB/T 35276 specifies
//! when the parties agree on nothing else.

use std::fmt;

use ::sm2::dsa::signature::{RandomizedSigner as _, Signer as _, Verifier as _};
use ::sm2::dsa::{Signature, SigningKey, VerifyingKey};
use ::sm2::elliptic_curve::sec1::ToSec1Point as _;
use ::sm2::{NonZeroScalar, Scalar};
use rand::rngs::StdRng;
use rand::{CryptoRng, SeedableRng};

use super::{CryptoError, decode_hex_array};

/// The default distinguishing identifier (GB/T 35276-2017 §10).
pub const SM2_DEFAULT_ID: &str = "1234567812345678";

/// An SM2 key pair for signing. `Debug` shows only the public key.
#[derive(Clone)]
pub struct Sm2KeyPair {
    signing: SigningKey,
}

impl Sm2KeyPair {
    /// A fresh random key pair.
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        loop {
            let mut bytes = [0_u8; 32];
            rng.fill_bytes(&mut bytes);
            // Rejection sampling keeps the secret uniform in [1, n − 2]; a 32-byte string is
            // out of range with probability about 2⁻³², so this almost never loops.
            if let Ok(pair) = Self::from_secret_bytes(&bytes) {
                return pair;
            }
        }
    }

    /// A key pair from the 32-byte big-endian secret.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, CryptoError> {
        let scalar: Option<NonZeroScalar> = NonZeroScalar::try_from(secret.as_slice()).ok();
        let scalar = scalar.ok_or(CryptoError::InvalidSecretKey)?;
        // d = n − 1 is excluded by the standard: signing needs (1 + d)⁻¹.
        if bool::from((*scalar + Scalar::ONE).is_zero()) {
            return Err(CryptoError::InvalidSecretKey);
        }
        let signing = SigningKey::from_nonzero_scalar(SM2_DEFAULT_ID, scalar)
            .map_err(|_| CryptoError::InvalidSecretKey)?;
        Ok(Self { signing })
    }

    /// A key pair from the secret as 64 hex characters.
    pub fn from_secret_hex(text: &str) -> Result<Self, CryptoError> {
        Self::from_secret_bytes(&decode_hex_array::<32>(text, "SM2 secret key")?)
    }

    /// The secret as 64 lowercase hex characters, for writing to a key file. Handle with care.
    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The public key as an uncompressed SEC1 point in lowercase hex (`04…`, 130 characters).
    pub fn public_key_hex(&self) -> String {
        let point = self
            .signing
            .verifying_key()
            .as_affine()
            .to_sec1_point(false);
        hex::encode(point.as_bytes())
    }

    /// Signs `msg` with the default distinguishing identifier; returns `r ‖ s` (64 bytes).
    ///
    /// The per-signature secret `k` is derived deterministically from the key and message
    /// (RFC 6979 with SM3), so signing needs no randomness and cannot leak the key through a
    /// weak random source.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        if let Ok(signature) = self.signing.try_sign(msg) {
            return signature.to_bytes().to_vec();
        }
        // The deterministic `k` is unusable with probability about 2⁻³² (it must lie below
        // the curve order). Retry with extra input mixed into its derivation, as RFC 6979
        // §3.6 allows; each retry fails with the same tiny probability, so this ends.
        let mut attempt = 0_u64;
        loop {
            attempt += 1;
            let mut extra = StdRng::seed_from_u64(attempt);
            if let Ok(signature) = self.signing.try_sign_with_rng(&mut extra, msg) {
                return signature.to_bytes().to_vec();
            }
        }
    }
}

impl fmt::Debug for Sm2KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2KeyPair")
            .field("public_key", &self.public_key_hex())
            .finish_non_exhaustive()
    }
}

/// Verifies an `r ‖ s` signature made with the default distinguishing identifier.
///
/// `public_key_hex` is a SEC1 point in hex, uncompressed (`04…`) or compressed (`02…`/`03…`).
pub fn sm2_verify(public_key_hex: &str, msg: &[u8], sig: &[u8]) -> Result<(), CryptoError> {
    sm2_verify_with_id(SM2_DEFAULT_ID, public_key_hex, msg, sig)
}

/// Verifies an `r ‖ s` signature made with the distinguishing identifier `id`.
pub fn sm2_verify_with_id(
    id: &str,
    public_key_hex: &str,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    let point = hex::decode(public_key_hex.trim()).map_err(|_| CryptoError::InvalidPublicKey)?;
    let key =
        VerifyingKey::from_sec1_bytes(id, &point).map_err(|_| CryptoError::InvalidPublicKey)?;
    let signature = Signature::from_slice(sig).map_err(|_| CryptoError::MalformedSignature)?;
    key.verify(msg, &signature)
        .map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use proptest::prelude::*;

    /// GB/T 32918.5-2017 (GM/T 0003.5-2012) appendix A: signature example on the
    /// recommended curve, message "message digest", identifier "1234567812345678".
    const STD_SECRET: &str = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
    const STD_PUBLIC: &str = "04\
        09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020\
        ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13";
    const STD_SIGNATURE: &str = "\
        f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3\
        b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa";

    #[test]
    fn standard_example_verifies() {
        let sig = hex::decode(STD_SIGNATURE).unwrap();
        sm2_verify(STD_PUBLIC, b"message digest", &sig).unwrap();
        assert_eq!(
            sm2_verify(STD_PUBLIC, b"message digesT", &sig).unwrap_err(),
            CryptoError::BadSignature
        );
        // The public key derives from the secret as in the standard.
        let pair = Sm2KeyPair::from_secret_hex(STD_SECRET).unwrap();
        assert_eq!(pair.public_key_hex(), STD_PUBLIC);
        assert_eq!(pair.secret_hex(), STD_SECRET);
    }

    /// RustCrypto/elliptic-curves, `sm2/tests/sm2dsa.rs` (`verify_test_vector`): a signature
    /// made by OpenSSL (`openssl pkeyutl -sign … -digest sm3 -pkeyopt
    /// distid:example@rustcrypto.org`) over "testing".
    #[test]
    fn openssl_vector_from_rustcrypto_verifies() {
        let public = "0408D77AE04C01CC4C1104360DD8AF6B6F7DF334283D7C1A6AFD5652407B87BEE5\
                      014E2A57C36C150D16324DC664E31E6432359609C4E79847A5B161C8C7364C8A";
        let sig = hex::decode(
            "d1dcccedd9fb785e0f67c16b7c52901625c0b69de9bca2144acc7be713cad2fc\
             f7d1eae6e3a157b36c65f672f738ca8b46298bf149a6510072c431b49cd88b1c",
        )
        .unwrap();
        sm2_verify_with_id("example@rustcrypto.org", public, b"testing", &sig).unwrap();
        // The identifier is part of what is signed.
        assert_eq!(
            sm2_verify(public, b"testing", &sig).unwrap_err(),
            CryptoError::BadSignature
        );
    }

    #[test]
    fn sign_and_verify() {
        let pair = Sm2KeyPair::generate(&mut StdRng::seed_from_u64(1));
        let public = pair.public_key_hex();
        assert_eq!(public.len(), 130);
        assert!(public.starts_with("04"));
        let sig = pair.sign(b"licence 1.2.156.3005.2.11100000000013338W.0001.001.K");
        assert_eq!(sig.len(), 64);
        sm2_verify(
            &public,
            b"licence 1.2.156.3005.2.11100000000013338W.0001.001.K",
            &sig,
        )
        .unwrap();
        // Deterministic: the same message gives the same signature.
        assert_eq!(pair.sign(b"x"), pair.sign(b"x"));

        assert_eq!(
            sm2_verify(&public, b"licence altered", &sig).unwrap_err(),
            CryptoError::BadSignature
        );
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(
            sm2_verify(
                &public,
                b"licence 1.2.156.3005.2.11100000000013338W.0001.001.K",
                &bad
            )
            .is_err()
        );
        let e = sm2_verify(&public, b"m", &sig[..63]).unwrap_err();
        assert_eq!(e, CryptoError::MalformedSignature);
        assert_eq!(e.code(), "crypto_malformed_signature");
        let other = Sm2KeyPair::generate(&mut StdRng::seed_from_u64(2));
        assert_eq!(
            sm2_verify(&other.public_key_hex(), b"x", &pair.sign(b"x")).unwrap_err(),
            CryptoError::BadSignature
        );
    }

    #[test]
    fn key_errors() {
        assert_eq!(
            sm2_verify("04abcd", b"m", &[1; 64]).unwrap_err().code(),
            "crypto_invalid_public_key"
        );
        assert_eq!(
            sm2_verify("not hex", b"m", &[1; 64]).unwrap_err(),
            CryptoError::InvalidPublicKey
        );
        assert_eq!(
            Sm2KeyPair::from_secret_hex(&"00".repeat(32)).unwrap_err(),
            CryptoError::InvalidSecretKey
        );
        // n − 1 and n: out of range.
        let n_minus_1 = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54122";
        let n = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123";
        assert!(Sm2KeyPair::from_secret_hex(n_minus_1).is_err());
        assert!(Sm2KeyPair::from_secret_hex(n).is_err());
        let n_minus_2 = "fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54121";
        let pair = Sm2KeyPair::from_secret_hex(n_minus_2).unwrap();
        sm2_verify(&pair.public_key_hex(), b"m", &pair.sign(b"m")).unwrap();
        assert_eq!(
            Sm2KeyPair::from_secret_hex("abc").unwrap_err().to_string(),
            "SM2 secret key must be 64 hex characters"
        );
        let debug = format!("{pair:?}");
        assert!(debug.contains("public_key") && !debug.contains(n_minus_2));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn round_trip(seed in any::<u64>(), msg in proptest::collection::vec(any::<u8>(), 0..200)) {
            let pair = Sm2KeyPair::generate(&mut StdRng::seed_from_u64(seed));
            let sig = pair.sign(&msg);
            prop_assert!(sm2_verify(&pair.public_key_hex(), &msg, &sig).is_ok());
            let mut altered = msg.clone();
            altered.push(0);
            prop_assert!(sm2_verify(&pair.public_key_hex(), &altered, &sig).is_err());
        }
    }
}
