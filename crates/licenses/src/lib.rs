//! Yiwang e-licences (电子证照): the licence catalog (证照目录), licences with GB/T 36904
//! identifiers, SM2 seals per issuing department, issue (by staff, for granted cases, by import),
//! renewal (换发), revocation (吊销) and cancellation (注销), expiry and renewal reminders, online and
//! offline verification with a signed revocation list, the holder's wallet with 亮证 codes, usage
//! grants (用证授权) and a log of every read.
//!
//! - [`identifier`]: [`LicenseIdentifier`] parsed once, with its ISO 7064 MOD 37,36 check.
//! - [`model`]: types, licences, status code list, grants, reads.
//! - [`document`]: what is signed (canonical bytes) and the JSON shapes verifiers get.
//! - [`seal`]: the encryption of private keys at rest.
//! - [`verify`]: [`verify_offline`], a pure function.
//! - [`machine`]: the status rules as one pure function.
//! - [`service`]: the use cases ([`Licenses`]); [`repo`]: all SQL.
//!
//! Dependency direction: identity ← catalog ← licences ← cases. This crate never depends on cases;
//! cases calls [`Licenses::issue_for_case_in`] and friends inside its own transactions.

pub mod document;
pub mod error;
pub mod identifier;
pub mod machine;
pub mod model;
pub mod repo;
pub mod seal;
pub mod service;
pub mod verify;

pub use error::LicenseError;
pub use identifier::LicenseIdentifier;
pub use model::{License, LicenseStatus, LicenseType};
pub use seal::{SealCipher, derive_seal_key};
pub use service::Licenses;
pub use verify::{OfflineInput, Outcome, Verdict, verify_offline};
