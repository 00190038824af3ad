//! The OpenAPI document tells the truth: walked operation by operation, it declares security where an
//! account is needed, error statuses with the error body, 429 with `Retry-After` on the limited
//! operations and the bounds the handlers check — and the live router answers each operation only
//! with statuses the document declares. `/metrics` is for operators only.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_kernel::paging::{MAX_PAGE, MAX_PAGE_SIZE};
use yiwang_web::api::openapi::{self, Access};
use yiwang_web::{WebConfig, app};

use crate::accounts::RID_A;
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{get, get_with, send, state, state_with};

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                all.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    assert!(all.len() > 100, "the document lists the whole API");
    all
}

/// The schema a `$ref` points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// Whether a response's JSON body is the error shape (`{"error": ApiError}`, maybe with more).
fn is_error_body(doc: &Value, response: &Value) -> bool {
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return false;
    };
    let schema = resolve(doc, schema);
    schema["properties"]["error"]["$ref"] == "#/components/schemas/ApiError"
}

async fn openapi_document_declares_security_statuses_and_bounds(t: &TestDb) {
    let app = app(state(t).await);
    let served = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(served.status, StatusCode::OK);
    let doc = served.json();
    assert_eq!(
        &doc,
        openapi::document(),
        "the served document is the checked one"
    );

    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["type"], "http");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session_cookie"]["type"], "apiKey");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "yw_session");
    assert_eq!(schemes["metrics_token"]["scheme"], "bearer");
    let error = &doc["components"]["schemas"]["ApiError"];
    let required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["code", "message", "request_id"] {
        assert!(required.contains(&field), "ApiError requires {field}");
    }
    assert!(error["properties"]["locked_until"].is_object());

    // What each bounded parameter must say, straight from the constants the handlers check.
    let expected_int: BTreeMap<&str, (i64, i64)> = [
        ("page", (1, i64::from(MAX_PAGE))),
        ("page_size", (1, i64::from(MAX_PAGE_SIZE))),
        ("n", (0, i64::from(yiwang_web::api::MAX_WORKING_DAYS))),
    ]
    .into();

    let mut throttled_seen = 0;
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let responses = op["responses"].as_object().expect("responses");
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        let access = openapi::access(&method, &path);
        let security = op.get("security").and_then(Value::as_array);
        match access {
            Access::Account => {
                let security = security.unwrap_or_else(|| panic!("{what} declares no security"));
                assert!(
                    !security.is_empty() && security.iter().all(|r| r != &json!({})),
                    "{what}: an account is required, not optional"
                );
                for status in ["401", "403"] {
                    assert!(statuses.contains(&status), "{what} lacks {status}");
                }
            }
            Access::Optional => {
                let security = security.unwrap_or_else(|| panic!("{what} declares no security"));
                assert!(security.contains(&json!({})), "{what}: anonymous allowed");
            }
            Access::Operator => {
                assert!(security.is_some(), "{what}");
                assert!(statuses.contains(&"404"), "{what}");
            }
            Access::Public => assert!(security.is_none(), "{what}: public"),
        }
        if !path.starts_with("/api/") {
            continue;
        }
        // Whatever takes input or needs an account can be refused (an operation without either, such
        // as the list of life events, has nothing a caller could get wrong).
        let takes_input = op
            .get("parameters")
            .is_some_and(|p| p.as_array().is_some_and(|p| !p.is_empty()))
            || op.get("requestBody").is_some()
            || access != Access::Public;
        if takes_input {
            assert!(
                statuses.iter().any(|s| s.starts_with('4')),
                "{what} declares no 4xx"
            );
        }
        for status in ["500", "503"] {
            assert!(statuses.contains(&status), "{what} lacks {status}");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    is_error_body(&doc, response),
                    "{what} {status}: not the error body"
                );
            }
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        if params.iter().any(|p| p["in"] == "path") {
            assert!(statuses.contains(&"404"), "{what} lacks 404");
        }
        if op.get("requestBody").is_some() {
            for status in ["413", "422"] {
                assert!(statuses.contains(&status), "{what} lacks {status}");
            }
        }
        if op
            .pointer("/requestBody/content/application~1json")
            .is_some()
        {
            for status in ["400", "415"] {
                assert!(statuses.contains(&status), "{what} lacks {status}");
            }
        }
        if openapi::throttled(&method, &path) {
            throttled_seen += 1;
            let limited = &responses["429"];
            assert!(limited.is_object(), "{what} lacks 429");
            assert_eq!(
                limited["headers"]["Retry-After"]["required"], true,
                "{what}: 429 names Retry-After"
            );
        }
        for param in params.iter().filter(|p| p["in"] == "query") {
            let name = param["name"].as_str().unwrap();
            let schema = &param["schema"];
            let types = match &schema["type"] {
                Value::Array(list) => list.clone(),
                one => vec![one.clone()],
            };
            if types.contains(&json!("integer")) {
                let (min, max) = expected_int.get(name).copied().unwrap_or_else(|| {
                    (
                        schema["minimum"].as_i64().unwrap_or(i64::MIN),
                        schema["maximum"]
                            .as_i64()
                            .unwrap_or_else(|| panic!("{what}: ?{name} has no maximum")),
                    )
                });
                assert_eq!(schema["minimum"], json!(min), "{what}: ?{name} minimum");
                assert_eq!(schema["maximum"], json!(max), "{what}: ?{name} maximum");
            }
            let chars = match name {
                "q" if path.starts_with("/api/v1/items") => {
                    Some(yiwang_web::api::catalog::MAX_SEARCH_CHARS)
                }
                "q" if path == "/api/v1/request-knowledge" => {
                    Some(yiwang_web::api::requests::MAX_QUERY_CHARS)
                }
                "q" => Some(yiwang_cases::service::MAX_FILTER_CHARS),
                "case_no" | "code" if path == "/api/v1/progress" => {
                    Some(yiwang_cases::service::MAX_KEY_CHARS)
                }
                "region" => Some(6),
                _ => None,
            };
            if let Some(max) = chars {
                assert_eq!(schema["maxLength"], json!(max), "{what}: ?{name} maxLength");
            }
        }
    }
    assert_eq!(
        throttled_seen,
        openapi::THROTTLED.len(),
        "every limited operation is in the document"
    );
}
db_test!(openapi_document_declares_security_statuses_and_bounds);

/// A value for a path parameter: one that parses but names nothing.
fn sample(param: &Value) -> String {
    let types = &param["schema"]["type"];
    if types == "integer"
        || types
            .as_array()
            .is_some_and(|t| t.contains(&json!("integer")))
    {
        "987654321".to_owned()
    } else if param["name"] == "date" {
        "2026-02-14".to_owned()
    } else {
        "nothing-here".to_owned()
    }
}

fn uri(path: &str, op: &Value, query: &[(String, String)]) -> String {
    let mut uri = path.to_owned();
    for param in op["parameters"].as_array().cloned().unwrap_or_default() {
        if param["in"] == "path" {
            let name = param["name"].as_str().unwrap();
            uri = uri.replace(&format!("{{{name}}}"), &sample(&param));
        }
    }
    if !query.is_empty() {
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", yiwang_web::prefs::encode_component(v)))
            .collect();
        uri = format!("{uri}?{}", pairs.join("&"));
    }
    uri
}

async fn anonymous(
    app: &axum::Router,
    method: &str,
    path: &str,
    op: &Value,
    query: &[(String, String)],
) -> (StatusCode, String) {
    let mut builder = Request::builder()
        .method(method.to_uppercase().as_str())
        .uri(uri(path, op, query));
    let body = if op
        .pointer("/requestBody/content/application~1json")
        .is_some()
    {
        builder = builder.header("content-type", "application/json");
        Body::from("{}")
    } else {
        Body::empty()
    };
    let reply = send(app, builder.body(body).unwrap()).await;
    (reply.status, reply.body)
}

/// The live router answers every operation, called anonymously, with a status the document declares:
/// 401 exactly where it says an account is needed; and a bounded parameter one past its bound is 422
/// (the public operations, where nothing comes before the check).
async fn every_operation_answers_as_documented(t: &TestDb) {
    let app = app(state(t).await);
    let doc = openapi::document();
    let mut wrong = Vec::new();
    for (method, path, op) in operations(doc) {
        let what = format!("{method} {path}");
        let declared = |status: StatusCode| op["responses"].get(status.as_str()).is_some();
        let (status, body) = anonymous(&app, &method, &path, &op, &[]).await;
        if !declared(status) {
            wrong.push(format!("{what} answered {status}, undeclared: {body}"));
        }
        let access = openapi::access(&method, &path);
        let expected = match access {
            Access::Account => status == StatusCode::UNAUTHORIZED,
            Access::Operator => status == StatusCode::NOT_FOUND,
            // A log-in with wrong credentials is the one public 401.
            Access::Public | Access::Optional => {
                path.ends_with("/login") || status != StatusCode::UNAUTHORIZED
            }
        };
        if !expected {
            wrong.push(format!(
                "{what} ({access:?}) answered {status} anonymously: {body}"
            ));
        }
        if access != Access::Public {
            continue;
        }
        for param in op["parameters"].as_array().cloned().unwrap_or_default() {
            if param["in"] != "query" {
                continue;
            }
            let name = param["name"].as_str().unwrap().to_owned();
            let mut outside = Vec::new();
            if let Some(max) = param["schema"]["maximum"].as_i64() {
                outside.push((max + 1).to_string());
            }
            if let Some(min) = param["schema"]["minimum"].as_i64() {
                outside.push((min - 1).to_string());
            }
            if let Some(max) = param["schema"]["maxLength"].as_u64() {
                outside.push("7".repeat(usize::try_from(max).unwrap() + 1));
            }
            for value in outside {
                let (status, body) =
                    anonymous(&app, &method, &path, &op, &[(name.clone(), value.clone())]).await;
                if status != StatusCode::UNPROCESSABLE_ENTITY {
                    wrong.push(format!(
                        "{what} ?{name}={value:.12}… answered {status}: {body}"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the router and the document disagree:\n{}",
        wrong.join("\n")
    );
}
db_test!(every_operation_answers_as_documented);

/// `/metrics` is for the scraper's token and platform administrators; everyone else gets the same
/// not-found answer as a path that does not exist.
async fn metrics_are_for_operators_only(t: &TestDb) {
    let state = state_with(
        t,
        WebConfig {
            metrics_token: Some("scraper-secret-0123456789".to_owned()),
            ..WebConfig::default()
        },
    )
    .await;
    seed_staff(
        &state,
        "hf-mzj",
        "OPS001",
        "13900007101",
        &["platform_admin"],
    )
    .await;
    seed_staff(
        &state,
        "hf-mzj",
        "DEP001",
        "13900007102",
        &["department_admin"],
    )
    .await;
    let app = app(state);
    let admin = staff_token(&app, "OPS001").await;
    let other_staff = staff_token(&app, "DEP001").await;
    let citizen = person_token(&t.db, &app, "张三", RID_A, "13800007103").await;
    let missing = get(&app, "/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    for (who, header) in [
        ("anonymous", None),
        (
            "a wrong token",
            Some("Bearer scraper-secret-wrong".to_owned()),
        ),
        ("a citizen", Some(format!("Bearer {citizen}"))),
        ("other staff", Some(format!("Bearer {other_staff}"))),
        (
            "an API token string",
            Some("Bearer ywt_notarealtoken".to_owned()),
        ),
        ("an empty token", Some("Bearer ".to_owned())),
    ] {
        let headers: Vec<(&str, &str)> = header
            .as_deref()
            .map(|h| vec![("authorization", h)])
            .unwrap_or_default();
        let refused = get_with(&app, "/metrics", &headers).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{who}");
        assert_eq!(
            refused.header("content-type"),
            missing.header("content-type"),
            "{who}: the not-found page"
        );
        assert!(
            !refused.body.contains("yiwang_http_requests_total"),
            "{who}"
        );
    }
    for (who, header) in [
        ("the scraper", "Bearer scraper-secret-0123456789".to_owned()),
        ("a platform administrator", format!("Bearer {admin}")),
    ] {
        let metrics = get_with(&app, "/metrics", &[("authorization", header.as_str())]).await;
        assert_eq!(metrics.status, StatusCode::OK, "{who}");
        assert!(metrics.header("content-type").starts_with("text/plain"));
        assert!(
            metrics.body.contains("yiwang_http_requests_total"),
            "{who}: {}",
            metrics.body
        );
    }
}
db_test!(metrics_are_for_operators_only);

/// Workflow definitions are internal: staff read them, applicants and anonymous callers do not (they
/// get the application form instead).
async fn workflows_are_for_staff(t: &TestDb) {
    let state = state(t).await;
    seed_staff(&state, "hf-mzj", "WFS001", "13900007111", &["window_staff"]).await;
    let app = app(state);
    let staff = staff_token(&app, "WFS001").await;
    let citizen = person_token(&t.db, &app, "张三", RID_A, "13800007112").await;
    for id in ["1", "987654"] {
        let path = format!("/api/v1/items/{id}/workflow");
        let anonymous = call(&app, "GET", &path, None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{id}");
        let refused = call(&app, "GET", &path, Some(&citizen), None).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{id}: {}",
            refused.body
        );
        let staff_reply = call(&app, "GET", &path, Some(&staff), None).await;
        assert_ne!(staff_reply.status, StatusCode::FORBIDDEN, "{id}");
        assert_ne!(staff_reply.status, StatusCode::UNAUTHORIZED, "{id}");
    }
}
db_test!(workflows_are_for_staff);

/// Schemas of the same Rust name in two API modules must not replace each other in the document
/// (utoipa keys components by name): the rating's event is `{kind, label}`, a request's history
/// line is its own `RequestEventOut`, and the rating body is not the request rating body.
#[test]
fn same_named_schemas_do_not_replace_each_other() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    let props = |name: &str| -> Vec<String> {
        schemas[name]["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("no schema {name}"))
            .keys()
            .cloned()
            .collect()
    };
    let event = props("EventOut");
    assert!(
        event.contains(&"kind".to_owned()) && event.contains(&"label".to_owned()),
        "{event:?}"
    );
    assert!(props("RequestEventOut").contains(&"at".to_owned()));
    assert!(props("RateBody").contains(&"event".to_owned()));
    assert!(!props("RequestRateBody").contains(&"event".to_owned()));
}
