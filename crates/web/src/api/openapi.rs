//! The OpenAPI document as served at `/api/v1/openapi.json`: utoipa's description of the handlers,
//! completed with what holds for every operation because of the extractors and the middleware around
//! it, so that the document tells what the server really answers:
//!
//! * **Security.** Who may call each operation ([`access`]): anyone, anyone with more for a logged-in
//!   caller, a logged-in account, or an operator. The schemes are the session token as a bearer token
//!   (`bearer`, also API tokens `ywt_…`), the session cookie `yw_session` (`session_cookie`; changes
//!   need `X-CSRF-Token`) and, for `/metrics`, the scraper's token (`metrics_token`).
//! * **Statuses.** Beyond what a handler declares: 401 and 403 for operations that need an account
//!   (no session; a citizen on a staff route, a missing CSRF header, an API token outside its scope),
//!   403 where an anonymous caller may still present a session, 404 for operations addressed by a path
//!   parameter (an id that does not parse is not found, like one that does not exist), 422 for
//!   operations that take parameters or a body (a value that does not parse, is out of bounds or is
//!   invalid), 400 for JSON and multipart bodies that do not parse, 413 and 415 for bodies, 429 with
//!   `Retry-After` for the rate-limited operations ([`THROTTLED`]), and 500 and 503 everywhere under
//!   `/api/` (a bug; the database or the 60-second request timeout). Every error has the
//!   [`super::ApiErrorBody`] shape.
//! * **Bounds.** Paging, search text, keys and counts carry `minimum` / `maximum` / `maxLength` from
//!   the constants the handlers check ([`query_bound`]), so the document and the code cannot
//!   disagree.
//!
//! The result is computed once; `crates/web/tests/web/openapi.rs` walks it and checks these
//! invariants against the live router.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use utoipa::OpenApi as _;
use yiwang_kernel::paging::{MAX_PAGE, MAX_PAGE_SIZE};

use super::ApiDoc;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a session is not looked at.
    Public,
    /// Anyone, and a logged-in caller may get more (the kiosk's tickets with a window's session, slot
    /// listings for staff). A session presented is checked (CSRF, API token scope).
    Optional,
    /// A logged-in account (a session or an API token); 401 without one.
    Account,
    /// The platform's operators: the scraper's `metrics_token` or a platform administrator's session.
    /// Anyone else gets 404, as if the route did not exist.
    Operator,
}

/// Operations anyone may call without logging in.
pub const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/departments"),
    ("get", "/api/v1/departments/{code}"),
    ("get", "/api/v1/calendar/{date}"),
    ("get", "/api/v1/calendar/{date}/add-working-days"),
    ("post", "/api/v1/auth/register/code"),
    ("post", "/api/v1/auth/register/person"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/password-reset/request"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/staff/login"),
    ("get", "/api/v1/items"),
    ("get", "/api/v1/items/suggest"),
    ("get", "/api/v1/items/{id}"),
    ("get", "/api/v1/items/{id}/guide"),
    ("get", "/api/v1/items/{id}/versions"),
    ("get", "/api/v1/items/{id}/diff"),
    ("get", "/api/v1/items/{id}/application"),
    ("get", "/api/v1/life-events"),
    ("get", "/api/v1/life-events/{code}"),
    ("get", "/api/v1/progress"),
    ("get", "/api/v1/disclosures"),
    ("get", "/api/v1/appointments/groups"),
    ("get", "/api/v1/appointments/groups/{group}"),
    ("get", "/api/v1/appointments/groups/{group}/categories"),
    ("get", "/api/v1/queue/groups/{group}/board"),
    ("get", "/api/v1/queue/tickets/{id}"),
    // The outside verifier's contract (issue 14): published keys, the signed revocation list, the
    // licence types, public verification.
    ("get", "/api/v1/licences/keys"),
    ("get", "/api/v1/licences/revocations"),
    ("get", "/api/v1/licences/types"),
    ("post", "/api/v1/licences/verify"),
    // Ratings: the SMS link (the token is the credential), the tags of a level, the disclosure.
    ("post", "/api/v1/ratings/link"),
    ("get", "/api/v1/ratings/tags"),
    ("get", "/api/v1/ratings/disclosure"),
    // Surveys: the open public ones, a published one, and answering by invitation link.
    ("get", "/api/v1/surveys"),
    ("get", "/api/v1/surveys/{id}"),
    ("post", "/api/v1/surveys/invitation"),
    // Requests: the category tree, the knowledge base, the answered requests (no submitter).
    ("get", "/api/v1/request-categories"),
    ("get", "/api/v1/request-knowledge"),
    ("get", "/api/v1/requests/answered"),
];

/// Operations open to anonymous callers that act differently for a logged-in one.
pub const OPTIONAL: &[(&str, &str)] = &[
    ("post", "/api/v1/queue/groups/{group}/tickets"),
    ("post", "/api/v1/queue/groups/{group}/check-in"),
    ("get", "/api/v1/appointments/groups/{group}/slots"),
    // A request from a logged-in person, or anonymous with a mobile.
    ("post", "/api/v1/requests"),
];

/// Operations for operators only.
pub const OPERATOR: &[(&str, &str)] = &[("get", "/metrics")];

/// Operations counted by an abuse limit (429 with `Retry-After` over it): log-ins (failures per
/// address and the per-account delay), registrations and their SMS codes, kiosk tickets and
/// check-ins, progress queries, material uploads, and a password change (the current password is
/// guessed no faster than a log-in).
pub const THROTTLED: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/staff/login"),
    ("post", "/api/v1/auth/register/code"),
    ("post", "/api/v1/auth/register/person"),
    ("post", "/api/v1/queue/groups/{group}/tickets"),
    ("post", "/api/v1/queue/groups/{group}/check-in"),
    ("get", "/api/v1/progress"),
    ("post", "/api/v1/materials"),
    ("post", "/api/v1/me/password"),
];

/// Who may call `method path` (lower-case method, the path as in the document).
pub fn access(method: &str, path: &str) -> Access {
    let listed = |table: &[(&str, &str)]| table.iter().any(|(m, p)| *m == method && *p == path);
    if listed(OPERATOR) {
        Access::Operator
    } else if listed(PUBLIC) {
        Access::Public
    } else if listed(OPTIONAL) {
        Access::Optional
    } else {
        Access::Account
    }
}

/// Whether an abuse limit counts calls of `method path`.
pub fn throttled(method: &str, path: &str) -> bool {
    THROTTLED.iter().any(|(m, p)| *m == method && *p == path)
}

/// The bound of a query parameter, from the constant the handler checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// An integer from `min` to `max`.
    Int { min: i64, max: i64 },
    /// A text of at most `max` characters.
    Chars { max: usize },
}

/// The bound the handler of `path` checks on its query parameter `name`, if it has one.
pub fn query_bound(path: &str, name: &str) -> Option<Bound> {
    match name {
        "page" => Some(Bound::Int {
            min: 1,
            max: i64::from(MAX_PAGE),
        }),
        "page_size" => Some(Bound::Int {
            min: 1,
            max: i64::from(MAX_PAGE_SIZE),
        }),
        // Version numbers: the type's range (a number beyond it is 422 like any bound).
        "version" | "from" | "to" if path.starts_with("/api/v1/items/") => Some(Bound::Int {
            min: 0,
            max: i64::from(u32::MAX),
        }),
        "n" => Some(Bound::Int {
            min: 0,
            max: i64::from(super::MAX_WORKING_DAYS),
        }),
        "q" if path == "/api/v1/request-knowledge" => Some(Bound::Chars {
            max: super::requests::MAX_QUERY_CHARS,
        }),
        "category" if path.starts_with("/api/v1/request") => Some(Bound::Chars {
            max: super::requests::MAX_KEY_CHARS,
        }),
        "q" if path.starts_with("/api/v1/items") => Some(Bound::Chars {
            max: super::catalog::MAX_SEARCH_CHARS,
        }),
        "q" => Some(Bound::Chars {
            max: yiwang_cases::service::MAX_FILTER_CHARS,
        }),
        "case_no" | "code" if path == "/api/v1/progress" => Some(Bound::Chars {
            max: yiwang_cases::service::MAX_KEY_CHARS,
        }),
        "level" if path == "/api/v1/ratings/tags" => Some(Bound::Int { min: 1, max: 5 }),
        "month" if path == "/api/v1/ratings/disclosure" => Some(Bound::Chars {
            max: super::ratings::MONTH_CHARS,
        }),
        "month" if path.starts_with("/api/v1/indicators") => Some(Bound::Chars {
            max: super::ratings::MONTH_CHARS,
        }),
        "from" | "to" if path == "/api/v1/indicators" => Some(Bound::Chars {
            max: super::indicators::DAY_CHARS,
        }),
        "department" if path == "/api/v1/indicators" => Some(Bound::Chars {
            max: super::indicators::DEPARTMENT_CHARS,
        }),
        "by" | "format" if path.starts_with("/api/v1/indicators") => Some(Bound::Chars {
            max: super::indicators::WORD_CHARS,
        }),
        "region" => Some(Bound::Chars {
            max: super::MAX_REGION_FILTER_DIGITS,
        }),
        _ => None,
    }
}

/// The document, computed once.
pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
        complete(&mut doc);
        doc
    })
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn error_body() -> Value {
    json!({"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": error_body()})
}

/// Add the security schemes, and to every operation its security, statuses and bounds.
fn complete(doc: &mut Value) {
    if let Some(schemes) = doc
        .as_object_mut()
        .and_then(|root| object_entry(root, "components"))
        .and_then(|components| object_entry(components, "securitySchemes"))
    {
        add_schemes(schemes);
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                complete_operation(method, path, operation);
            }
        }
    }
}

fn add_schemes(schemes: &mut Map<String, Value>) {
    schemes.insert(
        "bearer".to_owned(),
        json!({
            "type": "http",
            "scheme": "bearer",
            "description": "The session token returned by `POST /api/v1/auth/login` or `POST /api/v1/staff/login` \
                (`token`), or an API token `ywt_…` from `POST /api/v1/me/tokens` (only for the operations its \
                scopes allow; others answer 403 `token_scope_insufficient`). No CSRF header is needed."
        }),
    );
    schemes.insert(
        "session_cookie".to_owned(),
        json!({
            "type": "apiKey",
            "in": "cookie",
            "name": crate::auth::SESSION_COOKIE,
            "description": "The session cookie set at log-in. Calls other than GET/HEAD must also send the \
                session's `csrf_token` in the `X-CSRF-Token` header (403 `csrf_token_invalid` otherwise)."
        }),
    );
    schemes.insert(
        "metrics_token".to_owned(),
        json!({
            "type": "http",
            "scheme": "bearer",
            "description": "The scraper's token, `metrics_token` in the configuration (`YIWANG_METRICS_TOKEN`)."
        }),
    );
}

fn complete_operation(method: &str, path: &str, operation: &mut Map<String, Value>) {
    let is_api = path.starts_with("/api/");
    let access = access(method, path);
    let session = [json!({"bearer": []}), json!({"session_cookie": []})];
    let security: Option<Vec<Value>> = match access {
        Access::Public => None,
        Access::Optional => Some(std::iter::once(json!({})).chain(session).collect()),
        Access::Account => Some(session.to_vec()),
        Access::Operator => Some(
            std::iter::once(json!({"metrics_token": []}))
                .chain(session)
                .collect(),
        ),
    };
    if let Some(security) = security {
        operation.insert("security".to_owned(), Value::Array(security));
    }

    let has_body = operation.contains_key("requestBody");
    let json_body = operation
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let multipart_body = operation
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("multipart/form-data"));
    let mut has_path_param = false;
    let mut has_query_param = false;
    if let Some(params) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for param in params.iter_mut() {
            let location = param.get("in").and_then(Value::as_str).unwrap_or_default();
            has_path_param |= location == "path";
            if location == "query" {
                has_query_param = true;
                bound_parameter(path, param);
            }
        }
    }

    let responses = operation
        .entry("responses".to_owned())
        .or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else {
        return;
    };
    let mut add = |status: &str, response: Value| {
        responses.entry(status.to_owned()).or_insert(response);
    };
    match access {
        Access::Account => {
            add(
                "401",
                error_response("no session, or an expired or revoked one (`unauthenticated`)"),
            );
            add(
                "403",
                error_response(
                    "the caller may not do this (`forbidden`, `person_only`, `csrf_token_invalid` for a cookie \
                     call without `X-CSRF-Token`, `token_scope_insufficient` for an API token)",
                ),
            );
        }
        Access::Optional => add(
            "403",
            error_response(
                "a session was presented that may not do this (`csrf_token_invalid`, `token_scope_insufficient`, \
                 or the policy)",
            ),
        ),
        Access::Operator => add(
            "404",
            json!({"description": "anyone but an operator: the same not-found page as for a path that does not exist",
                   "content": {"text/html": {"schema": {"type": "string"}}}}),
        ),
        Access::Public => {}
    }
    if !is_api {
        return;
    }
    if has_path_param {
        add(
            "404",
            error_response("nothing with this id that the caller may see (`not_found`)"),
        );
    }
    if json_body || multipart_body {
        add(
            "400",
            error_response(
                "the JSON body or the multipart form does not parse (`invalid_request`)",
            ),
        );
    }
    if has_query_param || has_body {
        add(
            "422",
            error_response("a value is invalid or out of its documented bounds; `field` names it"),
        );
    }
    if has_body {
        add(
            "413",
            error_response("the body is larger than the limit (`payload_too_large`)"),
        );
    }
    if json_body {
        add(
            "415",
            error_response("the body is not sent as `Content-Type: application/json`"),
        );
    }
    add(
        "500",
        error_response(
            "an internal error; the log has the cause under the request id (`internal_error`)",
        ),
    );
    add(
        "503",
        error_response(
            "the database is unavailable or busy, or the request took longer than 60 seconds \
             (`service_unavailable`; nothing was changed when the operation says so)",
        ),
    );
    if throttled(method, path) {
        // Replaces a handler's own 429, which does not name the header.
        let limited = json!({
            "description": "too many attempts from this address or account (`too_many_attempts`, or \
                `account_locked` for an account's log-in delay); `locked_until` says until when",
            "headers": {"Retry-After": {
                "description": "seconds until the next attempt may succeed",
                "required": true,
                "schema": {"type": "integer", "format": "int64", "minimum": 1}
            }},
            "content": error_body()
        });
        responses.insert("429".to_owned(), limited);
    }
}

/// Write the bound the handler checks into a query parameter's schema.
fn bound_parameter(path: &str, param: &mut Value) {
    let name = param
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(bound) = query_bound(path, &name) else {
        return;
    };
    let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) else {
        return;
    };
    match bound {
        Bound::Int { min, max } => {
            schema.insert("minimum".to_owned(), json!(min));
            schema.insert("maximum".to_owned(), json!(max));
            let format = if i32::try_from(max).is_ok() && i32::try_from(min).is_ok() {
                "int32"
            } else {
                "int64"
            };
            schema.insert("format".to_owned(), json!(format));
        }
        Bound::Chars { max } => {
            schema.insert("maxLength".to_owned(), json!(max));
        }
    }
}

/// `map[key]` as an object, created when missing (`None` when it is something else).
fn object_entry<'a>(
    map: &'a mut Map<String, Value>,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    map.entry(key.to_owned())
        .or_insert_with(|| json!({}))
        .as_object_mut()
}
