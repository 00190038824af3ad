//! What every page's layout needs: language, elder mode, the current address (for the switchers), the
//! platform's region and the stylesheet address. Extracted once per request.

use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::i18n::{Locale, Tr};
use crate::prefs::{Prefs, encode_component};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct PageCtx {
    pub tr: Tr,
    pub locale: Locale,
    pub elder: bool,
    /// Path and query of this page, for "come back here" links.
    pub current: String,
    pub region_name: String,
    /// Text for the search box.
    pub query: String,
    /// The logged-in person, for the header (name and the log-out form's CSRF token).
    pub user: Option<NavUser>,
}

#[derive(Debug, Clone)]
pub struct NavUser {
    pub name: String,
    pub csrf: String,
    /// Where the header's account link goes: "my account" for people, the workspace for staff.
    pub href: &'static str,
    pub label_key: &'static str,
}

#[derive(Debug, Clone)]
pub struct LangLink {
    pub tag: &'static str,
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

impl PageCtx {
    pub fn t(&self, key: &str) -> &'static str {
        self.tr.t(key)
    }

    pub fn fmt_count(&self, key: &str, n: impl std::borrow::Borrow<usize>) -> String {
        self.tr.fmt(key, &[("n", &n.borrow().to_string())])
    }

    /// A message with one `{name}` filled in.
    pub fn fmt1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        self.tr.fmt(key, &[(name, &value.to_string())])
    }

    /// A message with two placeholders filled in.
    pub fn fmt2(
        &self,
        key: &str,
        n1: &str,
        v1: impl std::fmt::Display,
        n2: &str,
        v2: impl std::fmt::Display,
    ) -> String {
        self.tr
            .fmt(key, &[(n1, &v1.to_string()), (n2, &v2.to_string())])
    }

    /// The message of an error code (`errors.<code>`).
    pub fn error_text(&self, code: &str) -> &'static str {
        self.tr.t(&format!("errors.{code}"))
    }

    /// The name of a catalog field (`catalog.field.<field>`).
    pub fn field_label(&self, field: &str) -> &'static str {
        self.tr.t(&format!("catalog.field.{field}"))
    }

    pub fn fmt_search_summary(&self, query: &str, n: impl std::borrow::Borrow<usize>) -> String {
        self.tr.fmt(
            "search.summary",
            &[("q", query), ("n", &n.borrow().to_string())],
        )
    }

    /// An instant in China time, as people read it.
    pub fn local_time(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&yiwang_kernel::clock::china_offset())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    pub fn request_ref(&self, id: &str) -> String {
        self.tr.fmt("error.request_id", &[("id", id)])
    }

    pub fn dept_kind(&self, kind: &yiwang_identity::DepartmentKind) -> &'static str {
        self.t(match kind {
            yiwang_identity::DepartmentKind::Government => "department.kind_government",
            yiwang_identity::DepartmentKind::PublicInstitution => {
                "department.kind_public_institution"
            }
            yiwang_identity::DepartmentKind::Vertical => "department.kind_vertical",
        })
    }

    pub fn lang_links(&self) -> Vec<LangLink> {
        Locale::ALL
            .into_iter()
            .map(|l| LangLink {
                tag: l.tag(),
                name: l.native_name(),
                href: format!(
                    "/prefs/lang/{}?next={}",
                    l.tag(),
                    encode_component(&self.current)
                ),
                current: l == self.locale,
            })
            .collect()
    }

    pub fn elder_href(&self) -> String {
        let to = if self.elder { "off" } else { "on" };
        format!("/prefs/elder/{to}?next={}", encode_component(&self.current))
    }

    /// The stylesheet address, versioned by content so browsers never keep a stale copy.
    pub fn css(&self) -> &'static str {
        css_href()
    }

    pub fn is_nav(&self, prefix: &str) -> bool {
        let path = self.current.split('?').next().unwrap_or_default();
        if prefix == "/" {
            path == "/"
        } else {
            path.starts_with(prefix)
        }
    }
}

pub const APP_CSS: &str = include_str!("../static/app.css");

pub fn css_href() -> &'static str {
    static HREF: OnceLock<String> = OnceLock::new();
    HREF.get_or_init(|| {
        let digest = yiwang_kernel::crypto::sm3_hex(APP_CSS.as_bytes());
        format!("/static/app.css?v={}", &digest[..12])
    })
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let prefs = Prefs::from_parts(parts);
        Ok(page_ctx(parts, state, prefs).await)
    }
}

pub async fn page_ctx(parts: &Parts, state: &AppState, prefs: Prefs) -> PageCtx {
    let current = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let region_name = state.region_name().await;
    let user = match crate::auth::session_of(parts, state).await {
        Ok(Some((session, _))) => match session.account {
            yiwang_identity::model::Account::Person(_) => state
                .accounts()
                .person(&session)
                .await
                .ok()
                .map(|person| NavUser {
                    name: person.name,
                    csrf: session.csrf_token.clone(),
                    href: "/account",
                    label_key: "nav.my_account",
                }),
            yiwang_identity::model::Account::Staff(_) => state
                .accounts()
                .staff(&session)
                .await
                .ok()
                .map(|staff| NavUser {
                    name: staff.name,
                    csrf: session.csrf_token.clone(),
                    href: "/staff",
                    label_key: "nav.workspace",
                }),
        },
        _ => None,
    };

    PageCtx {
        tr: prefs.tr(),
        locale: prefs.locale,
        elder: prefs.elder,
        current,
        region_name,
        query: String::new(),
        user,
    }
}

/// A CSV file download (`text/csv`, UTF-8; the body brings its byte-order mark), never cached,
/// saved as `filename` (ASCII).
pub fn csv_download(body: String, filename: &str) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
    use axum::response::IntoResponse as _;
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    response
}
