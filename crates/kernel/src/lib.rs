//! Yiwang kernel: the types and rules every domain shares.
//!
//! - [`clock`]: the [`Clock`] passed into everything that needs "now", and China local time.
//! - [`id`]: typed integer ids ([`define_id!`]) and random public ids.
//! - [`ident`]: national identifiers parsed once at the edge — [`ResidentId`] (GB 11643),
//!   [`Uscc`] (GB 32100), [`RegionCode`] (GB/T 2260), [`DivisionCode`], [`Mobile`].
//! - [`calendar`]: the working-day calendar (data files, one per year) and legal time limits.
//! - [`crypto`]: SM3 hashing and HMAC, SM4-GCM field encryption, SM2 signatures.
//! - [`error`]: the [`ErrorCode`] trait that gives every error a stable code for the UI.
//! - [`paging`]: page requests and pages of results.
//!
//! The kernel depends on no database, web framework or async runtime, so every other crate can
//! use it.

pub mod calendar;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod id;
pub mod ident;
pub mod paging;

pub use calendar::{CalendarError, CalendarYear, Holiday, TimeLimit, TimeUnit, WorkCalendar};
pub use clock::{
    Clock, SharedClock, SystemClock, TestClock, china_date, china_local_to_utc, china_offset,
    end_of_china_day,
};
pub use crypto::{
    CryptoError, SM2_DEFAULT_ID, Sm2KeyPair, Sm4Key, hmac_sm3, sm2_verify, sm2_verify_with_id,
    sm3_hex,
};
pub use error::ErrorCode;
pub use id::new_public_id;
pub use ident::{DivisionCode, IdentError, IdentKind, Mobile, RegionCode, ResidentId, Uscc};
pub use paging::{Page, PageRequest, PagingError};

/// Items the exported macros need from the kernel's own dependencies, so that a crate using
/// [`define_id!`] does not have to depend on serde itself. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
