//! 公民身份号码 (GB 11643-1999).

use std::fmt;

use chrono::{Datelike, NaiveDate};

use super::{
    IdentError, IdentKind, RegionCode, check_digits, check_len, normalize, normalized_with_len,
    string_ident,
};

const KIND: IdentKind = IdentKind::ResidentId;
const LEN: usize = 18;
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
/// Dates before this were never issued as birth dates in resident IDs.
const EARLIEST_BIRTH_YEAR: i32 = 1900;

/// A resident ID number (公民身份号码): 6-digit region, 8-digit birth date, 3-digit sequence
/// (odd for men), and a check character (digit or `X`).
///
/// Also covers the residence permits for Hong Kong, Macao and Taiwan residents (region
/// 810000/820000/830000), which use the same format. `Debug` shows the masked form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResidentId {
    text: String,
    birth_date: NaiveDate,
}

impl ResidentId {
    /// Parses a resident ID. Surrounding whitespace is ignored, full-width characters and a
    /// lowercase `x` are accepted.
    pub fn parse(input: &str) -> Result<Self, IdentError> {
        let s = normalized_with_len(input, KIND, LEN)?.to_ascii_uppercase();
        check_digits(&s, KIND, 0..LEN - 1)?;
        let given = s.chars().last().unwrap_or_default();
        if !(given.is_ascii_digit() || given == 'X') {
            return Err(IdentError::InvalidChar {
                kind: KIND,
                ch: given,
                position: LEN,
                expected: "a digit or X",
            });
        }
        let birth_date = check_body(&s)?;
        let expected = check_char(&s[..LEN - 1]);
        if given != expected {
            return Err(IdentError::BadCheckChar {
                kind: KIND,
                got: given,
                expected,
            });
        }
        Ok(Self {
            text: s,
            birth_date,
        })
    }

    /// Completes the first 17 digits with the right check character. Used to make demo and
    /// test data; real IDs come from [`ResidentId::parse`].
    pub fn complete(first17: &str) -> Result<Self, IdentError> {
        let s = normalize(first17);
        check_len(&s, KIND, LEN - 1)?;
        check_digits(&s, KIND, 0..LEN - 1)?;
        let birth_date = check_body(&s)?;
        let mut text = s;
        text.push(check_char(&text));
        Ok(Self { text, birth_date })
    }

    /// The 18 characters, with an uppercase `X`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The date of birth.
    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    /// The region of first registration (not necessarily where the person lives now).
    pub fn region(&self) -> RegionCode {
        RegionCode::from_validated(&self.text[..6])
    }

    /// Whether the sequence number (17th digit) is odd, which GB 11643 assigns to men.
    pub fn is_male(&self) -> bool {
        self.text.as_bytes()[16] % 2 == 1
    }

    /// The form shown in pages and logs: first 4 and last 4 characters, e.g.
    /// `1101**********002X`.
    pub fn masked(&self) -> String {
        format!(
            "{}{}{}",
            &self.text[..4],
            "*".repeat(LEN - 8),
            &self.text[LEN - 4..]
        )
    }
}

/// Checks the region and birth date of at least 17 ASCII digits; returns the birth date.
fn check_body(s: &str) -> Result<NaiveDate, IdentError> {
    RegionCode::check_plausible(&s[..6], KIND)?;
    let text = &s[6..14];
    let (year, month, day) = (num(&s[6..10]), num(&s[10..12]), num(&s[12..14]));
    let date = i32::try_from(year)
        .ok()
        .and_then(|year| NaiveDate::from_ymd_opt(year, month, day))
        .ok_or_else(|| IdentError::ImpossibleBirthDate {
            text: text.to_owned(),
        })?;
    if date.year() < EARLIEST_BIRTH_YEAR {
        return Err(IdentError::BirthDateTooEarly { date });
    }
    Ok(date)
}

/// The value of a run of ASCII digits (already checked).
fn num(digits: &str) -> u32 {
    digits
        .bytes()
        .fold(0, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// GB 11643 check character: Σ(digit × weight) mod 11 indexes "10X98765432".
fn check_char(first17: &str) -> char {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

string_ident!(ResidentId);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The well-known sample from GB 11643 explanations (Beijing Chaoyang, 1949-12-31, female).
    const SAMPLE: &str = "11010519491231002X";

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn parses_the_standard_sample() {
        let id = ResidentId::parse(SAMPLE).unwrap();
        assert_eq!(id.as_str(), SAMPLE);
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        assert_eq!(id.region().as_str(), "110105");
        assert!(!id.is_male());
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(format!("{id:?}"), "ResidentId(\"1101**********002X\")");
        assert_eq!(id.to_string(), SAMPLE);
    }

    #[test]
    fn forgives_typing_habits() {
        let id = ResidentId::parse("  11010519491231002x\n").unwrap();
        assert_eq!(id.as_str(), SAMPLE);
        let id = ResidentId::parse("１１０１０５１９４９１２３１００２Ｘ").unwrap();
        assert_eq!(id.as_str(), SAMPLE);
    }

    #[test]
    fn complete_makes_valid_ids() {
        let id = ResidentId::complete("34010419900307123").unwrap();
        assert_eq!(ResidentId::parse(id.as_str()).unwrap(), id);
        assert!(id.is_male());
        assert_eq!(id.masked()[..4], *"3401");
        assert_eq!(
            ResidentId::complete("11010519491231002").unwrap().as_str(),
            SAMPLE
        );
        assert_eq!(
            ResidentId::complete("1101051949123100").unwrap_err(),
            IdentError::WrongLength {
                kind: KIND,
                expected: 17,
                got: 16
            }
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let e = ResidentId::parse("").unwrap_err();
        assert_eq!(e, IdentError::Empty { kind: KIND });
        assert_eq!(e.to_string(), "resident ID number is empty");

        let e = ResidentId::parse("11010519491231002").unwrap_err();
        assert_eq!(e.code(), "ident_wrong_length");
        assert_eq!(
            e.to_string(),
            "resident ID number must be 18 characters long, got 17"
        );

        let e = ResidentId::parse("1101051949123I002X").unwrap_err();
        assert_eq!(
            e,
            IdentError::InvalidChar {
                kind: KIND,
                ch: 'I',
                position: 14,
                expected: "a digit"
            }
        );
        assert_eq!(
            e.to_string(),
            "resident ID number has the invalid character 'I' at position 14: expected a digit"
        );

        let e = ResidentId::parse("11010519491231002Y").unwrap_err();
        assert_eq!(e.code(), "ident_invalid_char");
        assert!(e.to_string().contains("position 18: expected a digit or X"));

        // A Chinese character counts as one character, not three bytes.
        let e = ResidentId::parse("11010519491231002号").unwrap_err();
        assert!(matches!(
            e,
            IdentError::InvalidChar {
                ch: '号',
                position: 18,
                ..
            }
        ));

        let e = ResidentId::complete("11010519990231002")
            .map(|_| ())
            .unwrap_err();
        assert_eq!(
            e,
            IdentError::ImpossibleBirthDate {
                text: "19990231".into()
            }
        );
        assert_eq!(e.code(), "ident_impossible_birth_date");
        assert_eq!(
            e.to_string(),
            "resident ID number contains the birth date 19990231, which does not exist"
        );

        let e = ResidentId::complete("11010518991231002").unwrap_err();
        assert_eq!(e.code(), "ident_birth_date_too_early");
        assert!(e.to_string().contains("1899-12-31"));

        let e = ResidentId::complete("91010519491231002").unwrap_err();
        assert_eq!(e.code(), "ident_implausible_region");
        assert_eq!(
            e.to_string(),
            "resident ID number contains 910105 as its region code, which is not valid: region codes start with a digit from 1 to 8"
        );

        let e = ResidentId::parse("110105194912310021").unwrap_err();
        assert_eq!(
            e,
            IdentError::BadCheckChar {
                kind: KIND,
                got: '1',
                expected: 'X'
            }
        );
        assert_eq!(e.code(), "ident_bad_check_char");
        assert_eq!(
            e.to_string(),
            "resident ID number has the check character '1' but the other characters require 'X': a character is probably mistyped"
        );
    }

    #[test]
    fn leap_day_is_a_real_birth_date_only_in_leap_years() {
        assert!(ResidentId::complete("11010520000229002").is_ok());
        assert_eq!(
            ResidentId::complete("11010519000229002")
                .unwrap_err()
                .code(),
            "ident_impossible_birth_date"
        );
    }

    #[test]
    fn serde_round_trips_through_parse() {
        let id = ResidentId::parse(SAMPLE).unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{SAMPLE}\""));
        assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id);
        let err = serde_json::from_str::<ResidentId>("\"110105194912310021\"").unwrap_err();
        assert!(err.to_string().contains("check character"));
    }

    fn valid_first17() -> impl Strategy<Value = String> {
        (1_u32..=8, 0_u32..100_000, 0_u64..=(365 * 130), 0_u32..1000).prop_map(
            |(first, region, days, seq)| {
                let birth = date(1900, 1, 1) + chrono::Days::new(days);
                format!("{first}{region:05}{}{seq:03}", birth.format("%Y%m%d"))
            },
        )
    }

    proptest! {
        #[test]
        fn valid_ids_round_trip(first17 in valid_first17()) {
            let id = ResidentId::complete(&first17).unwrap();
            prop_assert_eq!(&id.as_str()[..17], first17.as_str());
            let displayed = id.to_string();
            let again = ResidentId::parse(&displayed).unwrap();
            prop_assert_eq!(&again, &id);
            let lower = ResidentId::parse(&id.as_str().to_lowercase()).unwrap();
            prop_assert_eq!(&lower, &id);
            prop_assert_eq!(id.masked().chars().count(), 18);
        }

        /// GB 11643's weights are all non-zero mod 11, so every single-digit substitution in
        /// the first 17 positions changes the check character: parsing must always fail.
        #[test]
        fn single_digit_substitutions_are_detected(
            first17 in valid_first17(),
            pos in 0_usize..17,
            delta in 1_u8..10,
        ) {
            let id = ResidentId::complete(&first17).unwrap();
            let mut bytes = id.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let altered = String::from_utf8(bytes).unwrap();
            prop_assert!(ResidentId::parse(&altered).is_err());
        }

        #[test]
        fn any_single_character_change_never_panics(
            first17 in valid_first17(),
            pos in 0_usize..18,
            ch in any::<char>(),
        ) {
            let id = ResidentId::complete(&first17).unwrap();
            let altered: String = id
                .as_str()
                .chars()
                .enumerate()
                .map(|(i, c)| if i == pos { ch } else { c })
                .collect();
            // Only the same character (or its lowercase or full-width form) may still parse.
            if let Ok(other) = ResidentId::parse(&altered) {
                prop_assert_eq!(other, id);
            }
        }

        #[test]
        fn arbitrary_input_never_panics(s in "\\PC{0,40}") {
            let _ = ResidentId::parse(&s);
        }
    }
}
