//! Yiwang identity: the organisation (administrative regions and departments) that every service,
//! post and staff member hangs from. People, enterprises, staff, sessions and authorization join it
//! with the identity issue.

pub mod error;
pub mod model;
pub mod password;
pub mod pii;
pub mod policy;
pub mod reads;
pub mod repo;
pub mod service;

pub use error::IdentityError;
pub use model::{Department, DepartmentId, DepartmentKind, OrgData, Region, RegionLevel};
pub use service::account::{Accounts, LoggedIn, SessionPolicy};
// Kept at their old paths while callers move to `yiwang-notify`.
pub use yiwang_notify::{MessageSender, RoutingSender, SmtpConfig, SmtpCredentials, SmtpSender};
