//! 统一社会信用代码 (GB 32100-2015).

use std::fmt;

use super::{IdentError, IdentKind, RegionCode, check_digits, check_len, normalize, string_ident};

const KIND: IdentKind = IdentKind::Uscc;
const LEN: usize = 18;
/// The 31 characters a USCC may use: digits and capitals without I, O, S, V, Z.
const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ALPHABET_WORDS: &str = "a digit or a capital letter other than I, O, S, V and Z";

/// A unified social credit code (统一社会信用代码) of an enterprise, institution or other
/// organisation: registration authority, organisation type, 6-digit region, 9-character
/// organisation code, check character.
///
/// Not personal data, so `Debug` shows it in full.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// Parses a USCC. Surrounding whitespace is ignored; lowercase and full-width letters are
    /// accepted.
    pub fn parse(input: &str) -> Result<Self, IdentError> {
        let s = normalize(input).to_ascii_uppercase();
        check_len(&s, KIND, LEN)?;
        let values = check_body(&s, LEN)?;
        let expected = check_char(&values[..LEN - 1]);
        let got = s.chars().last().unwrap_or_default();
        if got != expected {
            return Err(IdentError::BadCheckChar {
                kind: KIND,
                got,
                expected,
            });
        }
        Ok(Self(s))
    }

    /// Appends the right check character to the first 17 characters. Used to make demo and
    /// test data; real codes come from [`Uscc::parse`].
    pub fn complete(first17: &str) -> Result<Self, IdentError> {
        let mut s = normalize(first17).to_ascii_uppercase();
        check_len(&s, KIND, LEN - 1)?;
        let values = check_body(&s, LEN - 1)?;
        s.push(check_char(&values));
        Ok(Self(s))
    }

    /// The 18 characters, uppercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region of the registering authority (characters 3–8).
    pub fn region(&self) -> RegionCode {
        RegionCode::from_validated(&self.0[2..8])
    }

    /// 登记管理部门代码 (character 1), e.g. `9` for market regulation (工商).
    pub fn registration_authority(&self) -> char {
        char::from(self.0.as_bytes()[0])
    }

    /// 机构类别代码 (character 2), e.g. `1` for an enterprise under market regulation.
    pub fn organization_type(&self) -> char {
        char::from(self.0.as_bytes()[1])
    }

    /// 主体标识码 (characters 9–17; the old organisation code for older organisations).
    pub fn organization_code(&self) -> &str {
        &self.0[8..17]
    }
}

/// Checks the alphabet of all `len` characters and the region digits; returns the character
/// values (index in [`ALPHABET`]).
fn check_body(s: &str, len: usize) -> Result<Vec<u32>, IdentError> {
    let mut values = Vec::with_capacity(len);
    for (i, ch) in s.chars().enumerate() {
        let value = ALPHABET.find(ch).ok_or(IdentError::InvalidChar {
            kind: KIND,
            ch,
            position: i + 1,
            expected: ALPHABET_WORDS,
        })?;
        values.push(value as u32);
    }
    // All ASCII from here on.
    check_digits(s, KIND, 2..8)?;
    RegionCode::check_plausible(&s[2..8], KIND)?;
    Ok(values)
}

/// GB 32100 check character: 31 − (Σ value × weight mod 31), where 31 becomes 0.
fn check_char(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    char::from(ALPHABET.as_bytes()[check as usize])
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Uscc").field(&self.0).finish()
    }
}

string_ident!(Uscc);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A sample code seen in GB 32100 explanations (Fuzhou, 350100).
    const SAMPLE: &str = "91350100M000100Y43";

    #[test]
    fn parses_the_sample() {
        let code = Uscc::parse(SAMPLE).unwrap();
        assert_eq!(code.as_str(), SAMPLE);
        assert_eq!(code.region().as_str(), "350100");
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.organization_type(), '1');
        assert_eq!(code.organization_code(), "M000100Y4");
        assert_eq!(Uscc::parse(" 91350100m000100y43 ").unwrap(), code);
        assert_eq!(Uscc::complete("91350100M000100Y4").unwrap(), code);
        assert_eq!(format!("{code:?}"), format!("Uscc(\"{SAMPLE}\")"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = Uscc::parse("91350100M000100Y4").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unified social credit code must be 18 characters long, got 17"
        );
        let e = Uscc::parse("91350100M000I00Y43").unwrap_err();
        assert_eq!(
            e,
            IdentError::InvalidChar {
                kind: KIND,
                ch: 'I',
                position: 13,
                expected: ALPHABET_WORDS
            }
        );
        assert_eq!(
            e.to_string(),
            "unified social credit code has the invalid character 'I' at position 13: expected a digit or a capital letter other than I, O, S, V and Z"
        );
        let e = Uscc::parse("913501A0M000100Y43").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unified social credit code has the invalid character 'A' at position 7: expected a digit"
        );
        let e = Uscc::parse("91050100M000100Y43").unwrap_err();
        assert_eq!(e.code(), "ident_implausible_region");
        let e = Uscc::parse("91350100M000100Y44").unwrap_err();
        assert_eq!(
            e,
            IdentError::BadCheckChar {
                kind: KIND,
                got: '4',
                expected: '3'
            }
        );
    }

    #[test]
    fn check_value_31_becomes_0() {
        // Find a body whose sum is ≡ 0 mod 31 and check it completes with '0'.
        let mut found = false;
        for n in 0..10_000_u32 {
            let body = format!("91110000{n:09}");
            let values: Vec<u32> = body
                .chars()
                .map(|c| ALPHABET.find(c).unwrap() as u32)
                .collect();
            let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
            if sum.is_multiple_of(31) {
                let code = Uscc::complete(&body).unwrap();
                assert!(code.as_str().ends_with('0'));
                assert!(Uscc::parse(code.as_str()).is_ok());
                found = true;
                break;
            }
        }
        assert!(found);
    }

    #[test]
    fn serde_round_trips_through_parse() {
        let code = Uscc::parse(SAMPLE).unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(serde_json::from_str::<Uscc>(&json).unwrap(), code);
        assert!(serde_json::from_str::<Uscc>("\"91350100M000100Y44\"").is_err());
    }

    fn body() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = ALPHABET.chars().collect();
        (
            proptest::sample::select(alphabet.clone()),
            proptest::sample::select(alphabet.clone()),
            1_u32..=8,
            0_u32..100_000,
            proptest::collection::vec(proptest::sample::select(alphabet), 9),
        )
            .prop_map(|(a, b, first, region, org)| {
                let org: String = org.into_iter().collect();
                format!("{a}{b}{first}{region:05}{org}")
            })
    }

    proptest! {
        #[test]
        fn complete_always_parses(first17 in body()) {
            let code = Uscc::complete(&first17).unwrap();
            prop_assert_eq!(&code.as_str()[..17], first17.as_str());
            let displayed = code.to_string();
            prop_assert_eq!(Uscc::parse(&displayed).unwrap(), code.clone());
            prop_assert_eq!(Uscc::parse(&code.as_str().to_lowercase()).unwrap(), code);
        }

        /// 31 is prime and no weight is a multiple of it, so every substitution of one
        /// character by another from the alphabet changes the check character.
        #[test]
        fn single_substitutions_are_detected(
            first17 in body(),
            pos in 0_usize..17,
            shift in 1_usize..31,
        ) {
            let code = Uscc::complete(&first17).unwrap();
            let mut chars: Vec<char> = code.as_str().chars().collect();
            let old = ALPHABET.find(chars[pos]).unwrap();
            chars[pos] = char::from(ALPHABET.as_bytes()[(old + shift) % 31]);
            let altered: String = chars.into_iter().collect();
            prop_assert!(Uscc::parse(&altered).is_err());
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,40}") {
            let _ = Uscc::parse(&s);
            let _ = Uscc::complete(&s);
        }
    }
}
