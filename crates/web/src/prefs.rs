//! The visitor's display preferences: language and elder mode. The language is the visitor's choice
//! (a cookie set by the switcher), else the best match in `Accept-Language`, else zh-CN.

use std::fmt::Write as _;

use axum::extract::FromRequestParts;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

use crate::i18n::{Locale, Tr};

pub const LANG_COOKIE: &str = "yw_lang";
pub const ELDER_COOKIE: &str = "yw_elder";

#[derive(Debug, Clone, Copy)]
pub struct Prefs {
    pub locale: Locale,
    pub elder: bool,
}

impl Prefs {
    pub fn tr(&self) -> Tr {
        Tr::new(self.locale)
    }

    pub fn from_parts(parts: &Parts) -> Self {
        let cookie_lang = cookie(parts, LANG_COOKIE).and_then(|v| Locale::from_tag(&v));
        let header_lang = || {
            parts
                .headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::negotiate)
        };
        Self {
            locale: cookie_lang.or_else(header_lang).unwrap_or(Locale::ZhCn),
            elder: cookie(parts, ELDER_COOKIE).as_deref() == Some("1"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Prefs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Prefs::from_parts(parts))
    }
}

/// The value of a cookie in the request, if present.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value for a preference that lasts a year.
pub fn preference_cookie(name: &str, value: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}")
}

/// A redirect target taken from user input: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            // A Location header is ASCII: percent-encode anything else (e.g. a Chinese search query).
            let mut out = String::with_capacity(path.len());
            for ch in path.chars() {
                if ch.is_ascii() {
                    out.push(ch);
                } else {
                    let mut buf = [0_u8; 4];
                    for byte in ch.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "%{byte:02X}");
                    }
                }
            }
            out
        }
        _ => "/".to_owned(),
    }
}

/// Percent-encode a path-and-query for use as a query value.
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_kept_local() {
        assert_eq!(safe_next(Some("/departments?x=1")), "/departments?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(
            safe_next(Some("/search?q=税务")),
            "/search?q=%E7%A8%8E%E5%8A%A1"
        );
    }

    #[test]
    fn encodes_components() {
        assert_eq!(
            encode_component("/search?q=税务"),
            "/search%3Fq%3D%E7%A8%8E%E5%8A%A1"
        );
    }
}
