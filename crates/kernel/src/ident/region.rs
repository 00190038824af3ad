//! 行政区划代码 (GB/T 2260) and the 12-digit statistical division codes built on them.

use std::fmt;

use super::{IdentError, IdentKind, check_digits, normalized_with_len, string_ident};

/// A 6-digit administrative division code (GB/T 2260): 2 digits province, 2 city, 2 county.
///
/// `110000` is a province-level unit (北京市), `340100` a city (合肥市), `110105` a county-level
/// district (朝阳区). `100000` stands for the nation (central bodies' credit codes use it).
/// Parsing checks the shape and that the first digit is 1–8 (the regions of GB/T 2260); it does
/// not check that the code is in the current edition of the code list, because old codes stay
/// in resident IDs and credit codes forever.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode(String);

impl RegionCode {
    /// Parses a 6-digit region code.
    pub fn parse(input: &str) -> Result<Self, IdentError> {
        let kind = IdentKind::RegionCode;
        let s = normalized_with_len(input, kind, 6)?;
        check_digits(&s, kind, 0..6)?;
        Self::check_plausible(&s, kind)?;
        Ok(Self(s))
    }

    /// Checks the first digit of six ASCII digits, reporting errors as part of `kind`.
    pub(super) fn check_plausible(digits: &str, kind: IdentKind) -> Result<(), IdentError> {
        if matches!(digits.as_bytes().first(), Some(b'1'..=b'8')) {
            Ok(())
        } else {
            Err(IdentError::ImplausibleRegion {
                kind,
                code: digits.to_owned(),
            })
        }
    }

    /// Wraps six digits that were checked as part of another identifier.
    pub(super) fn from_validated(digits: &str) -> Self {
        Self(digits.to_owned())
    }

    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two province digits, e.g. `"34"` for 安徽.
    pub fn province_prefix(&self) -> &str {
        &self.0[..2]
    }

    /// The province-level code this region belongs to, e.g. `340000` for `340104`.
    #[must_use]
    pub fn province(&self) -> RegionCode {
        Self(format!("{}0000", self.province_prefix()))
    }

    /// Whether this is a province-level code (`xx0000`).
    pub fn is_province(&self) -> bool {
        self.0.ends_with("0000")
    }

    /// Whether this is a city-level code (`xxxx00` but not `xx0000`).
    pub fn is_city(&self) -> bool {
        self.0.ends_with("00") && !self.is_province()
    }

    /// Whether this is a county-level code (not ending in `00`).
    pub fn is_county(&self) -> bool {
        !self.0.ends_with("00")
    }

    /// Whether `other` lies within this region (or is this region): a province contains its
    /// cities and counties, a city its counties, a county only itself. Used to scope staff to
    /// their region.
    pub fn contains(&self, other: &RegionCode) -> bool {
        if self.is_province() {
            self.0[..2] == other.0[..2]
        } else if self.is_city() {
            self.0[..4] == other.0[..4]
        } else {
            self.0 == other.0
        }
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RegionCode").field(&self.0).finish()
    }
}

string_ident!(RegionCode);

/// A 12-digit statistical division code (统计用区划代码): the 6-digit [`RegionCode`], 3 digits
/// for the township or street, 3 for the village or community.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Parses a 12-digit division code.
    pub fn parse(input: &str) -> Result<Self, IdentError> {
        let kind = IdentKind::DivisionCode;
        let s = normalized_with_len(input, kind, 12)?;
        check_digits(&s, kind, 0..12)?;
        RegionCode::check_plausible(&s[..6], kind)?;
        Ok(Self(s))
    }

    /// The twelve digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The county-level region the division lies in (first six digits).
    pub fn region(&self) -> RegionCode {
        RegionCode::from_validated(&self.0[..6])
    }

    /// Whether this code denotes a whole township or street (`…000` at the end).
    pub fn is_township(&self) -> bool {
        self.0.ends_with("000") && &self.0[6..9] != "000"
    }
}

impl fmt::Debug for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DivisionCode").field(&self.0).finish()
    }
}

string_ident!(DivisionCode);

#[cfg(test)]
mod tests {
    use super::*;

    fn region(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    #[test]
    fn levels() {
        let anhui = region("340000");
        let hefei = region("340100");
        let luyang = region("340103");
        assert!(anhui.is_province() && !anhui.is_city() && !anhui.is_county());
        assert!(hefei.is_city() && !hefei.is_province() && !hefei.is_county());
        assert!(luyang.is_county());
        assert_eq!(luyang.province_prefix(), "34");
        assert_eq!(luyang.province(), anhui);
        assert!(anhui.contains(&luyang) && hefei.contains(&luyang) && luyang.contains(&luyang));
        assert!(!luyang.contains(&hefei));
        assert!(!hefei.contains(&region("340200")));
        assert!(!anhui.contains(&region("350100")));
        // The nation, as central bodies' credit codes write it.
        assert!(region("100000").is_province());
    }

    #[test]
    fn region_errors() {
        assert_eq!(
            RegionCode::parse("11010").unwrap_err(),
            IdentError::WrongLength {
                kind: IdentKind::RegionCode,
                expected: 6,
                got: 5
            }
        );
        let e = RegionCode::parse("11O105").unwrap_err();
        assert_eq!(
            e.to_string(),
            "region code has the invalid character 'O' at position 3: expected a digit"
        );
        let e = RegionCode::parse("000000").unwrap_err();
        assert_eq!(e.code(), "ident_implausible_region");
        assert_eq!(
            e.to_string(),
            "000000 is not a valid region code: region codes start with a digit from 1 to 8"
        );
        assert!(RegionCode::parse("910000").is_err());
    }

    #[test]
    fn division_codes() {
        let d = DivisionCode::parse(" 110105001000 ").unwrap();
        assert_eq!(d.region(), region("110105"));
        assert!(d.is_township());
        let community = DivisionCode::parse("110105001001").unwrap();
        assert!(!community.is_township());
        assert_eq!(
            DivisionCode::parse("110105").unwrap_err().code(),
            "ident_wrong_length"
        );
        assert_eq!(
            DivisionCode::parse("010105001001").unwrap_err().code(),
            "ident_implausible_region"
        );
        assert_eq!(
            serde_json::to_string(&community).unwrap(),
            "\"110105001001\""
        );
    }

    #[test]
    fn serde_and_traits() {
        let r: RegionCode = "340104".parse().unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"340104\"");
        assert_eq!(serde_json::from_str::<RegionCode>("\"340104\"").unwrap(), r);
        assert!(serde_json::from_str::<RegionCode>("\"34010\"").is_err());
        assert_eq!(String::from(r.clone()), "340104");
        assert_eq!(RegionCode::try_from("340104").unwrap(), r);
        assert_eq!(format!("{r:?}"), "RegionCode(\"340104\")");
    }
}
