//! Mainland China mobile numbers.

use std::fmt;

use super::{IdentError, IdentKind, check_digits, check_len, normalize, string_ident};

const KIND: IdentKind = IdentKind::Mobile;
const LEN: usize = 11;

/// A mainland mobile number: 11 digits, `1` then `3`–`9`. Stored without country code.
///
/// `Debug` shows the masked form (`138****5678`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mobile(String);

impl Mobile {
    /// Parses a mobile number. Spaces and hyphens between digits (`138 0013 8000`,
    /// `138-0013-8000`) and a `+86`, `0086` or `86` country code are accepted and dropped.
    pub fn parse(input: &str) -> Result<Self, IdentError> {
        let s: String = normalize(input)
            .chars()
            .filter(|c| !(c.is_whitespace() || *c == '-'))
            .collect();
        let s = if let Some(rest) = s.strip_prefix("+86").or_else(|| s.strip_prefix("0086")) {
            rest
        } else if s.len() == LEN + 2 && s.starts_with("86") {
            &s[2..]
        } else {
            &s
        };
        check_len(s, KIND, LEN)?;
        check_digits(s, KIND, 0..LEN)?;
        let bytes = s.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(IdentError::BadMobilePrefix {
                prefix: s[..2].to_owned(),
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form shown in pages and logs: `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mobile").field(&self.masked()).finish()
    }
}

string_ident!(Mobile);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_forms() {
        for input in [
            "13812345678",
            " 138 1234 5678 ",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            "１３８１２３４５６７８",
        ] {
            let m = Mobile::parse(input).unwrap();
            assert_eq!(m.as_str(), "13812345678", "{input}");
        }
        let m = Mobile::parse("13812345678").unwrap();
        assert_eq!(m.masked(), "138****5678");
        assert_eq!(format!("{m:?}"), "Mobile(\"138****5678\")");
        assert_eq!(m.to_string(), "13812345678");
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"13812345678\"");
        assert_eq!(
            serde_json::from_str::<Mobile>("\"+86 13812345678\"").unwrap(),
            m
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            Mobile::parse("1381234567").unwrap_err().to_string(),
            "mobile number must be 11 characters long, got 10"
        );
        assert_eq!(
            Mobile::parse("1381234567a").unwrap_err().to_string(),
            "mobile number has the invalid character 'a' at position 11: expected a digit"
        );
        let e = Mobile::parse("12812345678").unwrap_err();
        assert_eq!(
            e,
            IdentError::BadMobilePrefix {
                prefix: "12".into()
            }
        );
        assert_eq!(e.code(), "ident_bad_mobile_prefix");
        assert_eq!(
            e.to_string(),
            "mobile number must start with 13 to 19, got 12"
        );
        assert_eq!(
            Mobile::parse("23812345678").unwrap_err().code(),
            "ident_bad_mobile_prefix"
        );
        assert_eq!(Mobile::parse("  ").unwrap_err().code(), "ident_empty");
        assert_eq!(Mobile::parse("+86").unwrap_err().code(), "ident_empty");
    }

    proptest! {
        #[test]
        fn valid_numbers_round_trip(second in 3_u8..=9, rest in 0_u32..1_000_000_000) {
            let text = format!("1{second}{rest:09}");
            let m = Mobile::parse(&text).unwrap();
            prop_assert_eq!(m.as_str(), text.as_str());
            prop_assert_eq!(Mobile::parse(&format!("+86{m}")).unwrap(), m.clone());
            prop_assert_eq!(m.masked().len(), 11);
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,20}") {
            let _ = Mobile::parse(&s);
        }
    }
}
