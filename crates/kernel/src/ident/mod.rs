//! National identifiers, parsed once where they enter the system (parse, don't validate).
//!
//! Each type has a private field and only one way in, `parse`, so holding a [`ResidentId`]
//! proves its length, characters, birth date and check character were verified:
//!
//! - [`ResidentId`] — 公民身份号码, GB 11643 (18 characters, mod 11-2 check character).
//! - [`Uscc`] — 统一社会信用代码, GB 32100 (18 characters, mod 31 check character).
//! - [`RegionCode`] — 行政区划代码, GB/T 2260 (6 digits).
//! - [`DivisionCode`] — 统计用区划代码 (12 digits: region code + street + community).
//! - [`Mobile`] — mainland mobile number (11 digits).
//!
//! Parsing forgives what people type: surrounding whitespace, full-width digits and letters
//! from Chinese input methods, a lowercase `x` or lowercase USCC letters. Errors say exactly
//! what is wrong (which character, at which position) and carry a stable [`IdentError::code`]
//! for the UI; they never echo the whole identifier, which may be personal data.
//!
//! Personal identifiers (resident ID, mobile) print masked in `Debug` so they do not leak into
//! logs; `Display` gives the full value for forms and storage.

mod mobile;
mod region;
mod resident_id;
mod uscc;

use std::fmt;

pub use mobile::Mobile;
pub use region::{DivisionCode, RegionCode};
pub use resident_id::ResidentId;
pub use uscc::Uscc;

use crate::error::ErrorCode;

/// Which identifier an [`IdentError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentKind {
    /// 公民身份号码.
    ResidentId,
    /// 统一社会信用代码.
    Uscc,
    /// 行政区划代码.
    RegionCode,
    /// 统计用区划代码.
    DivisionCode,
    /// 手机号码.
    Mobile,
}

impl IdentKind {
    /// Stable snake_case name, for messages keyed by kind.
    pub fn code(self) -> &'static str {
        match self {
            Self::ResidentId => "resident_id",
            Self::Uscc => "uscc",
            Self::RegionCode => "region_code",
            Self::DivisionCode => "division_code",
            Self::Mobile => "mobile",
        }
    }
}

impl fmt::Display for IdentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ResidentId => "resident ID number",
            Self::Uscc => "unified social credit code",
            Self::RegionCode => "region code",
            Self::DivisionCode => "division code",
            Self::Mobile => "mobile number",
        })
    }
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// Nothing was entered.
    #[error("{kind} is empty")]
    Empty {
        /// The identifier expected.
        kind: IdentKind,
    },
    /// Too many or too few characters.
    #[error("{kind} must be {expected} characters long, got {got}")]
    WrongLength {
        /// The identifier expected.
        kind: IdentKind,
        /// Required number of characters.
        expected: usize,
        /// Number of characters entered (after trimming whitespace).
        got: usize,
    },
    /// A character not allowed at its position.
    #[error("{kind} has the invalid character '{ch}' at position {position}: expected {expected}")]
    InvalidChar {
        /// The identifier expected.
        kind: IdentKind,
        /// The offending character.
        ch: char,
        /// 1-based position of the character.
        position: usize,
        /// What is allowed there, in words.
        expected: &'static str,
    },
    /// The birth date part of a resident ID is not a real date (e.g. 19990231).
    #[error("resident ID number contains the birth date {text}, which does not exist")]
    ImpossibleBirthDate {
        /// The eight birth-date digits as entered.
        text: String,
    },
    /// The birth date part of a resident ID is before 1900.
    #[error("resident ID number contains the birth date {date}, which is before 1900")]
    BirthDateTooEarly {
        /// The birth date.
        date: chrono::NaiveDate,
    },
    /// The region part is not a plausible GB/T 2260 code.
    #[error("{}", implausible_region_message(*kind, code))]
    ImplausibleRegion {
        /// The identifier expected.
        kind: IdentKind,
        /// The six region digits.
        code: String,
    },
    /// The check character does not match the rest: usually one character was mistyped.
    #[error(
        "{kind} has the check character '{got}' but the other characters require '{expected}': a character is probably mistyped"
    )]
    BadCheckChar {
        /// The identifier expected.
        kind: IdentKind,
        /// The last character as entered.
        got: char,
        /// The check character the first 17 characters require.
        expected: char,
    },
    /// A mobile number must start with 13 to 19.
    #[error("mobile number must start with 13 to 19, got {prefix}")]
    BadMobilePrefix {
        /// The first two digits entered.
        prefix: String,
    },
}

impl IdentError {
    /// The stable snake_case code the UI translates.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty { .. } => "ident_empty",
            Self::WrongLength { .. } => "ident_wrong_length",
            Self::InvalidChar { .. } => "ident_invalid_char",
            Self::ImpossibleBirthDate { .. } => "ident_impossible_birth_date",
            Self::BirthDateTooEarly { .. } => "ident_birth_date_too_early",
            Self::ImplausibleRegion { .. } => "ident_implausible_region",
            Self::BadCheckChar { .. } => "ident_bad_check_char",
            Self::BadMobilePrefix { .. } => "ident_bad_mobile_prefix",
        }
    }
}

impl ErrorCode for IdentError {
    fn code(&self) -> &'static str {
        IdentError::code(self)
    }
}

fn implausible_region_message(kind: IdentKind, code: &str) -> String {
    let rule = "region codes start with a digit from 1 to 8";
    if kind == IdentKind::RegionCode {
        format!("{code} is not a valid region code: {rule}")
    } else {
        format!("{kind} contains {code} as its region code, which is not valid: {rule}")
    }
}

const DIGIT: &str = "a digit";

/// Trims surrounding whitespace (including the ideographic space U+3000) and maps full-width
/// ASCII forms (U+FF01–U+FF5E), which Chinese input methods produce, to ASCII.
fn normalize(input: &str) -> String {
    input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Normalizes, rejects empty input and checks the length in characters.
fn normalized_with_len(input: &str, kind: IdentKind, len: usize) -> Result<String, IdentError> {
    let s = normalize(input);
    check_len(&s, kind, len)?;
    Ok(s)
}

fn check_len(s: &str, kind: IdentKind, len: usize) -> Result<(), IdentError> {
    if s.is_empty() {
        return Err(IdentError::Empty { kind });
    }
    let got = s.chars().count();
    if got != len {
        return Err(IdentError::WrongLength {
            kind,
            expected: len,
            got,
        });
    }
    Ok(())
}

/// Checks that the characters at 0-based character positions `range` are ASCII digits,
/// reporting the first one that is not (with its 1-based position).
fn check_digits(s: &str, kind: IdentKind, range: std::ops::Range<usize>) -> Result<(), IdentError> {
    for (i, ch) in s.chars().enumerate().skip(range.start).take(range.len()) {
        if !ch.is_ascii_digit() {
            return Err(IdentError::InvalidChar {
                kind,
                ch,
                position: i + 1,
                expected: DIGIT,
            });
        }
    }
    Ok(())
}

/// Implements the string-like traits every identifier shares: `Display` (full value),
/// `FromStr`/`TryFrom` (through `parse`), `AsRef<str>`, `From<T> for String`, and serde as a
/// string that is parsed again on the way in.
macro_rules! string_ident {
    ($ty:ident) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::ident::IdentError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $crate::ident::IdentError;

            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::ident::IdentError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.as_str().to_owned()
            }
        }

        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
use string_ident;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_handles_ime_input() {
        assert_eq!(normalize("\u{3000}１３８００１３８０００ "), "13800138000");
        assert_eq!(
            normalize("\t１１０１０５１９４９１２３１００２ｘ\n"),
            "11010519491231002x"
        );
    }

    #[test]
    fn error_codes_are_stable() {
        let kind = IdentKind::ResidentId;
        let cases = [
            (IdentError::Empty { kind }, "ident_empty"),
            (
                IdentError::WrongLength {
                    kind,
                    expected: 18,
                    got: 17,
                },
                "ident_wrong_length",
            ),
            (
                IdentError::BadMobilePrefix {
                    prefix: "12".into(),
                },
                "ident_bad_mobile_prefix",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(ErrorCode::code(&err), code);
        }
        assert_eq!(IdentKind::Uscc.code(), "uscc");
    }
}
