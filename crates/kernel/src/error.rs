//! The one trait every domain error implements: a stable, snake_case code.
//!
//! Codes are part of the public contract: the web layer maps them to HTTP statuses and the UI
//! translates them (`locales/*/errors.*`), so a code never changes meaning once released. The
//! English `Display` text is for logs and developers; users see the translated code.

/// An error with a stable machine-readable code such as `ident_bad_check_char`.
pub trait ErrorCode {
    /// The stable snake_case code, prefixed by the domain (`ident_`, `calendar_`, `crypto_`…).
    fn code(&self) -> &'static str;
}
