//! The status rules of a licence version as one pure function: (status, command) → the new status
//! (and what happens to a renewal's successor) or a named refusal.
//!
//! ```text
//!   有效 valid ──revoke──▶ 吊销 revoked      (final)
//!         ├────cancel──▶ 注销 cancelled    (final)
//!         ├────expire──▶ 已过期 expired ──renew──▶ 已换发 replaced (+ a new valid version)
//!         └────renew───▶ 已换发 replaced  (+ a new valid version)
//! ```
//!
//! An expired licence may still be renewed (换发 after expiry); it may also be cancelled. Revoked,
//! cancelled and replaced versions accept nothing.

use crate::LicenseError;
use crate::model::LicenseStatus;

/// Everything that changes a licence's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// 吊销: taken away as a sanction (reason required).
    Revoke,
    /// 注销: ended at the holder's request or because its subject ceased (reason required).
    Cancel,
    /// 换发: a new version replaces this one.
    Renew,
    /// The expiry job: the last day of validity has passed.
    Expire,
}

impl Command {
    pub fn code(self) -> &'static str {
        match self {
            Command::Revoke => "revoke",
            Command::Cancel => "cancel",
            Command::Renew => "renew",
            Command::Expire => "expire",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Command::Revoke => "revoked",
            Command::Cancel => "cancelled",
            Command::Renew => "renewed",
            Command::Expire => "expired",
        }
    }
}

/// What the command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: LicenseStatus,
    pub to: LicenseStatus,
    /// A new version is issued (renewal).
    pub new_version: bool,
    /// The licence goes on the revocation list.
    pub listed: bool,
}

/// Decides a command on a licence in `status`; `reason_given` says whether a non-empty reason came
/// with it (revocation and cancellation need one).
pub fn decide(
    status: LicenseStatus,
    command: Command,
    reason_given: bool,
) -> Result<Transition, LicenseError> {
    let wrong = || LicenseError::WrongStatus {
        status,
        action: command.words(),
    };
    let to = match (status, command) {
        (LicenseStatus::Valid, Command::Revoke) => LicenseStatus::Revoked,
        (LicenseStatus::Valid | LicenseStatus::Expired, Command::Cancel) => {
            LicenseStatus::Cancelled
        }
        (LicenseStatus::Valid | LicenseStatus::Expired, Command::Renew) => LicenseStatus::Replaced,
        (LicenseStatus::Valid, Command::Expire) => LicenseStatus::Expired,
        _ => return Err(wrong()),
    };
    if matches!(command, Command::Revoke | Command::Cancel) && !reason_given {
        return Err(LicenseError::ReasonRequired);
    }
    Ok(Transition {
        from: status,
        to,
        new_version: command == Command::Renew,
        listed: matches!(to, LicenseStatus::Revoked | LicenseStatus::Cancelled),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use yiwang_kernel::ErrorCode as _;

    use crate::model::LicenseStatus::{Cancelled, Expired, Replaced, Revoked, Valid};

    #[test]
    fn each_transition() {
        let t = decide(Valid, Command::Revoke, true).unwrap();
        assert_eq!((t.to, t.listed, t.new_version), (Revoked, true, false));
        let t = decide(Valid, Command::Cancel, true).unwrap();
        assert_eq!((t.to, t.listed), (Cancelled, true));
        let t = decide(Expired, Command::Cancel, true).unwrap();
        assert_eq!(t.to, Cancelled);
        let t = decide(Valid, Command::Renew, false).unwrap();
        assert_eq!((t.to, t.new_version, t.listed), (Replaced, true, false));
        let t = decide(Expired, Command::Renew, false).unwrap();
        assert_eq!(t.to, Replaced);
        let t = decide(Valid, Command::Expire, false).unwrap();
        assert_eq!((t.to, t.listed), (Expired, false));
    }

    #[test]
    fn each_refusal() {
        // Revoking twice, renewing a revoked one, touching a replaced version.
        let e = decide(Revoked, Command::Revoke, true).unwrap_err();
        assert_eq!(e.code(), "licence_wrong_status");
        assert!(decide(Revoked, Command::Renew, false).is_err());
        assert!(decide(Cancelled, Command::Renew, false).is_err());
        assert!(decide(Replaced, Command::Revoke, true).is_err());
        assert!(decide(Expired, Command::Revoke, true).is_err());
        assert!(decide(Expired, Command::Expire, false).is_err());
        // A reason is needed for revocation and cancellation.
        assert_eq!(
            decide(Valid, Command::Revoke, false).unwrap_err().code(),
            "licence_reason_required"
        );
        assert_eq!(
            decide(Valid, Command::Cancel, false).unwrap_err().code(),
            "licence_reason_required"
        );
    }

    fn status() -> impl Strategy<Value = LicenseStatus> {
        prop::sample::select(LicenseStatus::ALL.to_vec())
    }

    fn command() -> impl Strategy<Value = Command> {
        prop::sample::select(vec![
            Command::Revoke,
            Command::Cancel,
            Command::Renew,
            Command::Expire,
        ])
    }

    proptest! {
        /// Final statuses stay final; nothing ever returns to valid; only renewal makes a version;
        /// exactly revoked and cancelled are listed.
        #[test]
        fn properties(start in status(), commands in prop::collection::vec((command(), any::<bool>()), 0..20)) {
            let mut s = start;
            for (command, reason) in commands {
                if let Ok(t) = decide(s, command, reason) {
                    prop_assert!(!matches!(s, Revoked | Cancelled | Replaced));
                    prop_assert_ne!(t.to, Valid);
                    prop_assert_eq!(t.new_version, command == Command::Renew);
                    prop_assert_eq!(t.listed, matches!(t.to, Revoked | Cancelled));
                    s = t.to;
                }
            }
        }
    }
}
