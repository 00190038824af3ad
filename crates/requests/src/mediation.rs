//! The rules of three-level mediation (三级调处): a dispute starts at the community; unresolved or
//! overdue it goes up to the street, then the district, each level with its own limit; at the
//! district an unresolved dispute ends as 调解不成.

use yiwang_kernel::TimeLimit;

use crate::model::{MediationLevel, MediationOutcome};

/// The limit of each level (configurable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediationLimits {
    pub community: TimeLimit,
    pub street: TimeLimit,
    pub district: TimeLimit,
}

impl Default for MediationLimits {
    fn default() -> Self {
        Self {
            community: TimeLimit::working_days(5),
            street: TimeLimit::working_days(10),
            district: TimeLimit::working_days(15),
        }
    }
}

impl MediationLimits {
    pub fn of(&self, level: MediationLevel) -> TimeLimit {
        match level {
            MediationLevel::Community => self.community,
            MediationLevel::Street => self.street,
            MediationLevel::District => self.district,
        }
    }
}

impl MediationLevel {
    /// The level above, none above the district.
    pub fn next(self) -> Option<MediationLevel> {
        match self {
            MediationLevel::Community => Some(MediationLevel::Street),
            MediationLevel::Street => Some(MediationLevel::District),
            MediationLevel::District => None,
        }
    }
}

/// How a level that did not reach an agreement ends: escalated, or failed at the top.
pub fn unresolved(level: MediationLevel) -> (MediationOutcome, Option<MediationLevel>) {
    match level.next() {
        Some(next) => (MediationOutcome::Escalated, Some(next)),
        None => (MediationOutcome::Failed, None),
    }
}

/// The region code of `level` above a twelve-digit community code: the street (nine digits and
/// `000`) or the district (six digits).
pub fn region_at(community: &str, level: MediationLevel) -> Option<String> {
    if community.len() != 12 || !community.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(match level {
        MediationLevel::Community => community.to_owned(),
        MediationLevel::Street => format!("{}000", &community[..9]),
        MediationLevel::District => community[..6].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_go_up_and_end_at_the_district() {
        assert_eq!(
            unresolved(MediationLevel::Community),
            (MediationOutcome::Escalated, Some(MediationLevel::Street))
        );
        assert_eq!(
            unresolved(MediationLevel::Street),
            (MediationOutcome::Escalated, Some(MediationLevel::District))
        );
        assert_eq!(
            unresolved(MediationLevel::District),
            (MediationOutcome::Failed, None)
        );
    }

    #[test]
    fn region_of_each_level() {
        let c = "340102010001";
        assert_eq!(region_at(c, MediationLevel::Community).as_deref(), Some(c));
        assert_eq!(
            region_at(c, MediationLevel::Street).as_deref(),
            Some("340102010000")
        );
        assert_eq!(
            region_at(c, MediationLevel::District).as_deref(),
            Some("340102")
        );
        assert_eq!(region_at("340102", MediationLevel::Street), None);
        let limits = MediationLimits::default();
        assert!(
            limits.of(MediationLevel::Community).amount
                < limits.of(MediationLevel::District).amount
        );
    }
}
