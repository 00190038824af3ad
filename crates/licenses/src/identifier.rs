//! The e-licence identifier of GB/T 36904 (电子证照标识):
//! `1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<3-digit version>.<check>`.
//!
//! The check character is ISO 7064 MOD 37,36 (the hybrid system over the 36 characters `0-9A-Z`)
//! computed over type code + issuer + serial + version, concatenated without the dots. An
//! identifier is parsed once at the edge into [`LicenseIdentifier`]; everything inside the platform
//! works with the parsed value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use yiwang_kernel::Uscc;

use crate::LicenseError;

/// The fixed object-identifier arc of Chinese e-licences (GB/T 36904).
pub const OID_PREFIX: &str = "1.2.156.3005.2";
/// The longest type code and serial accepted.
pub const MAX_TYPE_CODE_CHARS: usize = 24;
/// The longest serial accepted.
pub const MAX_SERIAL_CHARS: usize = 32;
/// The longest identifier text looked at; anything longer cannot be an identifier.
pub const MAX_IDENTIFIER_CHARS: usize = 128;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A parsed, checked GB/T 36904 identifier.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LicenseIdentifier {
    text: String,
    type_code: String,
    issuer: Uscc,
    serial: String,
    version: u16,
}

/// The value of a character in the MOD 37,36 alphabet.
fn value(ch: u8) -> Option<u32> {
    ALPHABET.iter().position(|c| *c == ch).map(|p| p as u32)
}

/// ISO 7064 MOD 37,36 (hybrid system, M = 36): the check character for `body`, which must use only
/// `0-9A-Z`.
pub fn check_char(body: &str) -> Result<char, LicenseError> {
    const M: u32 = 36;
    let mut p = M;
    for ch in body.bytes() {
        let v = value(ch).ok_or_else(|| {
            LicenseError::BadIdentifier(format!("character {:?} is not 0-9 or A-Z", char::from(ch)))
        })?;
        let mut s = (p + v) % M;
        if s == 0 {
            s = M;
        }
        p = (s * 2) % (M + 1);
    }
    let check = (M + 1 - p) % M;
    Ok(char::from(ALPHABET[check as usize]))
}

fn bad(message: impl Into<String>) -> LicenseError {
    LicenseError::BadIdentifier(message.into())
}

fn check_segment(what: &str, text: &str, max: usize) -> Result<(), LicenseError> {
    if text.is_empty() || text.len() > max {
        return Err(bad(format!("the {what} must have 1 to {max} characters")));
    }
    if let Some(ch) = text.bytes().find(|c| value(*c).is_none()) {
        return Err(bad(format!(
            "the {what} may hold only digits and capital letters, not {:?}",
            char::from(ch)
        )));
    }
    Ok(())
}

impl LicenseIdentifier {
    /// Builds the identifier of a new licence version, computing its check character.
    pub fn new(
        type_code: &str,
        issuer: &Uscc,
        serial: &str,
        version: u16,
    ) -> Result<Self, LicenseError> {
        check_segment("type code", type_code, MAX_TYPE_CODE_CHARS)?;
        check_segment("serial", serial, MAX_SERIAL_CHARS)?;
        if !(1..=999).contains(&version) {
            return Err(bad("the version must be between 001 and 999"));
        }
        let version_text = format!("{version:03}");
        let check = check_char(&format!(
            "{type_code}{}{serial}{version_text}",
            issuer.as_str()
        ))?;
        Ok(Self {
            text: format!(
                "{OID_PREFIX}.{type_code}.{}.{serial}.{version_text}.{check}",
                issuer.as_str()
            ),
            type_code: type_code.to_owned(),
            issuer: issuer.clone(),
            serial: serial.to_owned(),
            version,
        })
    }

    /// Parses and checks an identifier (surrounding whitespace ignored; letters must be capitals).
    pub fn parse(input: &str) -> Result<Self, LicenseError> {
        let text = input.trim();
        if text.chars().nth(MAX_IDENTIFIER_CHARS).is_some() {
            return Err(bad(format!(
                "an identifier has at most {MAX_IDENTIFIER_CHARS} characters"
            )));
        }
        let rest = text
            .strip_prefix(OID_PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| bad(format!("an identifier starts with {OID_PREFIX}.")))?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(bad(
                "an identifier has five parts after the prefix: type, issuer, serial, version, check",
            ));
        };
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("the version has three digits"));
        }
        let version: u16 = version
            .parse()
            .map_err(|_| bad("the version has three digits"))?;
        let issuer =
            Uscc::parse(issuer).map_err(|e| bad(format!("the issuer is not a valid USCC: {e}")))?;
        if issuer.as_str() != *parts.get(1).unwrap_or(&"") {
            // Uscc::parse accepts lowercase; the identifier is canonical uppercase only.
            return Err(bad("the issuer must be written in capitals"));
        }
        let built = Self::new(type_code, &issuer, serial, version)?;
        if check.len() != 1 || !built.text.ends_with(check) {
            let expected = built.text.chars().last().unwrap_or('?');
            return Err(bad(format!(
                "the check character is {check:?}, expected {expected:?}"
            )));
        }
        Ok(built)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    pub fn issuer(&self) -> &Uscc {
        &self.issuer
    }

    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn version(&self) -> u16 {
        self.version
    }

    /// The identifier of the next version of the same licence (换发).
    pub fn next_version(&self) -> Result<Self, LicenseError> {
        Self::new(
            &self.type_code,
            &self.issuer,
            &self.serial,
            self.version + 1,
        )
    }
}

impl fmt::Display for LicenseIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for LicenseIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LicenseIdentifier")
            .field(&self.text)
            .finish()
    }
}

impl std::str::FromStr for LicenseIdentifier {
    type Err = LicenseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for LicenseIdentifier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for LicenseIdentifier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn issuer() -> Uscc {
        Uscc::complete("11340100MB8434305").unwrap()
    }

    #[test]
    fn builds_parses_and_checks() {
        let id = LicenseIdentifier::new("YYZZ", &issuer(), "00000001", 1).unwrap();
        let text = id.to_string();
        assert!(text.starts_with("1.2.156.3005.2.YYZZ.11340100MB8434305"));
        assert!(text.contains(".00000001.001."));
        let parsed = LicenseIdentifier::parse(&format!("  {text} ")).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.type_code(), "YYZZ");
        assert_eq!(parsed.serial(), "00000001");
        assert_eq!(parsed.version(), 1);
        assert_eq!(parsed.next_version().unwrap().version(), 2);
        // The check character makes the MOD 37,36 sum come out as 1: recomputing over body + check
        // in the hybrid system ends at P == 1 · 2 mod 37.
        let body = format!("YYZZ{}00000001001", issuer().as_str());
        let check = check_char(&body).unwrap();
        assert!(text.ends_with(check));
    }

    #[test]
    fn refuses_malformed_identifiers() {
        let good = LicenseIdentifier::new("YYZZ", &issuer(), "00000001", 1)
            .unwrap()
            .to_string();
        let bad_texts: Vec<String> = vec![
            String::new(),
            "1.2.156.3005.2".to_owned(),
            "1.2.156.3005.3.YYZZ.11340100MB8434305X.1.001.A".to_owned(),
            good.replace(".001.", ".01."),
            good.replace(".001.", ".000."),
            good.replace("YYZZ", "yyzz"),
            good.replace("YYZZ", "YY-Z"),
            format!("{good}.X"),
            good[..good.len() - 2].to_owned(),
            "9".repeat(200),
        ];
        for bad_text in &bad_texts {
            let e = LicenseIdentifier::parse(bad_text).unwrap_err();
            assert_eq!(yiwang_kernel::ErrorCode::code(&e), "licence_bad_identifier");
        }
        assert!(LicenseIdentifier::new("", &issuer(), "1", 1).is_err());
        assert!(LicenseIdentifier::new("A", &issuer(), "1", 1000).is_err());
        assert!(LicenseIdentifier::new("A", &issuer(), &"1".repeat(33), 1).is_err());
    }

    /// Every change of one character of an identifier to another character is refused (the
    /// hybrid system detects all single substitutions; other positions break the syntax or the
    /// issuer's own check character).
    #[test]
    fn every_single_character_change_is_detected() {
        let good = LicenseIdentifier::new("JHZ", &issuer(), "20260001", 3)
            .unwrap()
            .to_string();
        let candidates: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.".chars().collect();
        for (i, original) in good.char_indices() {
            for &c in &candidates {
                if c == original {
                    continue;
                }
                let mut changed = good.clone();
                changed.replace_range(i..=i, &c.to_string());
                assert!(
                    LicenseIdentifier::parse(&changed).is_err(),
                    "{changed} was accepted"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn round_trip(
            type_code in "[0-9A-Z]{1,24}",
            serial in "[0-9A-Z]{1,32}",
            version in 1_u16..=999,
        ) {
            let id = LicenseIdentifier::new(&type_code, &issuer(), &serial, version).unwrap();
            let parsed = LicenseIdentifier::parse(id.as_str()).unwrap();
            prop_assert_eq!(&parsed, &id);
            prop_assert_eq!(parsed.type_code(), type_code.as_str());
            prop_assert_eq!(parsed.serial(), serial.as_str());
            prop_assert_eq!(parsed.version(), version);
        }

        #[test]
        fn single_substitution_in_the_body_changes_the_check(
            body in "[0-9A-Z]{4,40}",
            position in any::<prop::sample::Index>(),
            replacement in "[0-9A-Z]",
        ) {
            let i = position.index(body.len());
            let mut changed = body.clone();
            changed.replace_range(i..=i, &replacement);
            prop_assume!(changed != body);
            prop_assert_ne!(check_char(&body).unwrap(), check_char(&changed).unwrap());
        }
    }
}
