//! SM3 (GB/T 32905-2016) hashing and HMAC-SM3 (RFC 2104 over SM3, as in GM/T 0042-2015).

use ::sm3::{Digest, Sm3};
use hmac::{Hmac, KeyInit, Mac};

/// SM3 block size in bytes: HMAC keys up to this length are used as they are.
const BLOCK_LEN: usize = 64;

/// The SM3 digest of `data`.
pub fn digest(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// The SM3 digest of the concatenation of `parts`, without building it (e.g. previous audit
/// hash followed by the new entry).
pub fn digest_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The SM3 digest of `data` as 64 lowercase hex characters.
pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(digest(data))
}

/// HMAC-SM3 of `data` under `key` (any length).
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; 32] {
    // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is zero-padded.
    // Doing that here gives a block-sized key, so the infallible constructor applies.
    let mut block = [0_u8; BLOCK_LEN];
    if key.len() > BLOCK_LEN {
        block[..32].copy_from_slice(&digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sm3> as KeyInit>::new(&block.into());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm3_known_answers() {
        // GB/T 32905-2016 appendix A, examples 1 and 2.
        assert_eq!(
            sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            sm3_hex("abcd".repeat(16).as_bytes()),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
        assert_eq!(digest_parts(&[b"ab", b"", b"c"]), digest(b"abc"));
    }

    #[test]
    fn hmac_sm3_known_answers() {
        // GM/T 0042-2015 appendix D.3 (also in Linux crypto/testmgr.h hmac_sm3_tv_template).
        let key: Vec<u8> = (1..=32).collect();
        assert_eq!(
            hex::encode(hmac_sm3(
                &key,
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopqabcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a"
        );
        let key: Vec<u8> = (1..=37).collect();
        assert_eq!(
            hex::encode(hmac_sm3(&key, &[0xcd; 50])),
            "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae"
        );
        assert_eq!(
            hex::encode(hmac_sm3(&[0x0b; 32], b"Hi There")),
            "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e"
        );
        assert_eq!(
            hex::encode(hmac_sm3(b"Jefe", b"what do ya want for nothing?")),
            "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882"
        );
    }

    #[test]
    fn hmac_long_keys_are_hashed_first() {
        let long_key = [7_u8; 100];
        assert_eq!(
            hmac_sm3(&long_key, b"data"),
            hmac_sm3(&digest(&long_key), b"data")
        );
        // Same result as the hmac crate's own key handling.
        let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(&long_key).unwrap();
        mac.update(b"data");
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(hmac_sm3(&long_key, b"data"), expected);
        assert_ne!(hmac_sm3(b"k1", b"data"), hmac_sm3(b"k2", b"data"));
    }
}
