//! What a caller controls is bounded (documented maxima, 422 beyond them), and a caller without the
//! right is refused before anything in the request is looked at. On both backends.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_web::MAX_REQUEST_ID_LEN;
use yiwang_web::api::catalog::MAX_SEARCH_CHARS;
use yiwang_web::app;
use yiwang_web::upload::MAX_PARTS;

use crate::accounts::RID_A;
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{get, get_with, send, state};

async fn search_text_is_bounded(t: &TestDb) {
    let app = app(state(t).await);
    let longest = "婚".repeat(MAX_SEARCH_CHARS);
    let too_long = "婚".repeat(MAX_SEARCH_CHARS + 1);
    for (path, text) in [
        ("/api/v1/items?q=", &longest),
        ("/api/v1/items/suggest?q=", &longest),
        ("/search?q=", &longest),
    ] {
        let uri = format!("{path}{}", yiwang_web::prefs::encode_component(text));
        assert_eq!(get(&app, &uri).await.status, StatusCode::OK, "{path}");
    }
    for path in ["/api/v1/items?q=", "/api/v1/items/suggest?q="] {
        let uri = format!("{path}{}", yiwang_web::prefs::encode_component(&too_long));
        let refused = get(&app, &uri).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(refused.json()["error"]["code"], "query_too_long", "{path}");
        assert_eq!(refused.json()["error"]["field"], "q", "{path}");
    }
    let page = get(
        &app,
        &format!(
            "/search?q={}",
            yiwang_web::prefs::encode_component(&too_long)
        ),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("搜索内容最多 100 个字"), "{}", page.body);
}
db_test!(search_text_is_bounded);

async fn client_request_ids_are_bounded(t: &TestDb) {
    let app = app(state(t).await);
    let kept = "req-2026.02:13_abc";
    let reply = get_with(&app, "/", &[("x-request-id", kept)]).await;
    assert_eq!(reply.header("x-request-id"), kept, "a plain id is kept");

    let longest = "a".repeat(MAX_REQUEST_ID_LEN);
    let reply = get_with(&app, "/", &[("x-request-id", &longest)]).await;
    assert_eq!(reply.header("x-request-id"), longest);

    for sent in [
        "a".repeat(MAX_REQUEST_ID_LEN + 1),
        "x".repeat(8 * 1024),
        "two words".to_owned(),
        "<script>".to_owned(),
    ] {
        let reply = get_with(&app, "/api/v1/items/0", &[("x-request-id", &sent)]).await;
        let given = reply.header("x-request-id");
        assert_ne!(given, sent, "replaced");
        assert!(
            !given.is_empty() && given.len() <= MAX_REQUEST_ID_LEN,
            "a fresh id: {given}"
        );
        assert_eq!(
            reply.json()["error"]["request_id"],
            given,
            "the error body names the fresh id, not the client's text"
        );
    }
}
db_test!(client_request_ids_are_bounded);

/// A multipart body of `parts` tiny text fields (the session's token among them).
fn multipart_of(parts: usize, csrf: &str) -> (String, Vec<u8>) {
    let boundary = "limitsboundary";
    let mut body =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n");
    for i in 1..parts {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nx\r\n"
        )
        .unwrap();
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

async fn multipart_forms_are_capped_in_parts(t: &TestDb) {
    let state = state(t).await;
    seed_staff(
        &state,
        "hf-mzj",
        "PLA001",
        "13900007001",
        &["platform_admin"],
    )
    .await;
    let app = app(state);
    let token = staff_token(&app, "PLA001").await;
    let cookie = format!("yw_session={token}");
    let me = get_with(&app, "/staff/catalog/transfer", &[("cookie", &cookie)]).await;
    assert_eq!(me.status, StatusCode::OK);
    let marker = r#"name="csrf" value=""#;
    let start = me.body.find(marker).unwrap() + marker.len();
    let csrf = me.body[start..start + me.body[start..].find('"').unwrap()].to_owned();

    let post = |parts: usize| {
        let (content_type, body) = multipart_of(parts, &csrf);
        Request::post("/staff/catalog/transfer")
            .header("content-type", content_type)
            .header("cookie", &cookie)
            .header("accept-language", "en")
            .body(Body::from(body))
            .unwrap()
    };
    // At the maximum the form is read (and refused for its missing file, a 422 of its own page).
    let at_most = send(&app, post(MAX_PARTS)).await;
    assert_eq!(at_most.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        at_most.body.contains(r#"action="/staff/catalog/transfer""#),
        "the import page again: {}",
        at_most.body
    );
    let too_many = send(&app, post(MAX_PARTS + 1)).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_many
            .body
            .contains("The form has too many fields and files"),
        "{}",
        too_many.body
    );
    assert!(
        !too_many
            .body
            .contains(r#"action="/staff/catalog/transfer""#),
        "refused before the handler ran"
    );
}
db_test!(multipart_forms_are_capped_in_parts);

async fn catalog_review_and_import_authorize_first(t: &TestDb) {
    let state = state(t).await;
    seed_staff(
        &state,
        "hf-mzj",
        "MZA001",
        "13900007002",
        &["department_admin"],
    )
    .await;
    let food = state
        .catalog()
        .item_by_impl_code("01120000300134010011340100MB8434305B")
        .await
        .unwrap()
        .id;
    let app = app(state);
    let citizen = person_token(&t.db, &app, "张三", RID_A, "13800007001").await;
    let outsider = staff_token(&app, "MZA001").await;

    // A citizen: the same refusal for an item that exists and one that does not, whatever was sent.
    let past = json!({ "effective_from": "2000-01-01", "note": "" });
    for id in [food.get().to_string(), "999999".to_owned()] {
        for action in ["approve", "reject"] {
            let refused = call(
                &app,
                "POST",
                &format!("/api/v1/items/{id}/{action}"),
                Some(&citizen),
                Some(past.clone()),
            )
            .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{id} {action}");
            assert_eq!(
                refused.json()["error"]["code"],
                "forbidden",
                "{id} {action}"
            );
        }
    }
    // Staff of another department: refused before the date or the missing note is looked at.
    for action in ["approve", "reject"] {
        let refused = call(
            &app,
            "POST",
            &format!("/api/v1/items/{food}/{action}"),
            Some(&outsider),
            Some(past.clone()),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            refused.body
        );
        assert_eq!(refused.json()["error"]["code"], "forbidden", "{action}");
    }
    // Import: a caller who may not import is refused before the format is read.
    for who in [&citizen, &outsider] {
        let refused = call(
            &app,
            "POST",
            "/api/v1/catalog/import?format=xml",
            Some(who),
            None,
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
}
db_test!(catalog_review_and_import_authorize_first);
