//! Open311 GeoReport v2 conformance on both backends: every endpoint in JSON and XML — discovery,
//! services and their definitions, requests (GET with the specification's filters, POST
//! form-encoded with an `api_key`), one request, tokens — with the specification's field names,
//! ISO 8601 times with an offset, `open`/`closed`, `jurisdiction_id`, and its error bodies: 403 for
//! a bad key, 404 for an unknown service, request or jurisdiction, 400 for a missing field. No XML
//! parser is in the dependency tree, so XML answers are checked for their exact elements.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_web::WebConfig;

use crate::requests_api::{World, world_with};
use crate::staff::call;
use crate::support::{Reply, get, send, state_with};

/// The jurisdiction served: 康巴什区.
const JURISDICTION: &str = "150603";

async fn world(t: &TestDb) -> (World, String) {
    let state = state_with(
        t,
        WebConfig {
            region_code: JURISDICTION.to_owned(),
            ..WebConfig::default()
        },
    )
    .await;
    let w = world_with(t, state).await;
    let (_, key) = w
        .state
        .requests()
        .create_open311_client(&Principal::System, "城管通", "test")
        .await
        .unwrap();
    (w, key)
}

async fn post_form(w: &World, uri: &str, form: &[(&str, &str)]) -> Reply {
    let body = serde_urlencoded::to_string(form).unwrap();
    send(
        &w.app,
        Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

fn pothole(key: &str) -> Vec<(&str, &str)> {
    vec![
        ("api_key", key),
        ("service_code", "city.sanitation"),
        ("lat", "39.6086"),
        ("long", "109.7812"),
        ("address_string", "康巴什区青春山街道恩和小区北门"),
        ("description", "北门垃圾桶满溢三天无人清运"),
        ("first_name", "明"),
        ("last_name", "赵"),
        ("email", "zhao@example.cn"),
        ("phone", "13712345678"),
        ("media_url", "https://photos.example.cn/a.jpg"),
    ]
}

/// The spec's JSON error body.
fn assert_json_error(reply: &Reply, status: StatusCode, description: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.header("content-type").starts_with("application/json"));
    assert_eq!(
        reply.json(),
        json!([{ "code": status.as_u16(), "description": description }])
    );
}

/// The spec's XML error body.
fn assert_xml_error(reply: &Reply, status: StatusCode, description: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(reply.header("content-type").starts_with("text/xml"));
    assert_eq!(
        reply.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><errors><error><code>{}</code><description>{description}</description></error></errors>",
            status.as_u16()
        )
    );
}

/// The texts of every `<name>` element.
fn elements(xml: &str, name: &str) -> Vec<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    xml.match_indices(&open)
        .filter_map(|(at, _)| {
            let rest = &xml[at + open.len()..];
            rest.find(&close).map(|end| rest[..end].to_owned())
        })
        .collect()
}

async fn requests_written(w: &World) -> u64 {
    yiwang_db::count(w.state.db().conn(), "SELECT COUNT(*) FROM requests", [])
        .await
        .unwrap()
}

db_test!(
    discovery_and_services_in_json_and_xml,
    posting_and_reading_requests,
    errors_as_the_specification_writes_them
);

async fn discovery_and_services_in_json_and_xml(t: &TestDb) {
    let (w, _) = world(t).await;
    let discovery = get(&w.app, "/open311/v2/discovery.json").await;
    assert_eq!(discovery.status, StatusCode::OK, "{}", discovery.body);
    let d = discovery.json();
    assert_eq!(
        d["endpoints"][0]["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert_eq!(d["endpoints"][0]["url"], "/open311/v2");
    assert_eq!(d["endpoints"][0]["type"], "production");
    assert_eq!(
        d["endpoints"][0]["formats"],
        json!(["text/xml", "application/json"])
    );
    assert_eq!(d["jurisdiction_id"], JURISDICTION);
    assert!(d["changeset"].as_str().unwrap().ends_with("+08:00"));
    let xml = get(&w.app, "/open311/v2/discovery.xml").await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.header("content-type").starts_with("text/xml"));
    assert!(
        xml.body
            .starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><discovery>")
    );
    assert!(xml.body.contains(
        "<endpoints><endpoint><specification>http://wiki.open311.org/GeoReport_v2</specification>"
    ));
    assert_eq!(
        elements(&xml.body, "format"),
        ["text/xml", "application/json"]
    );

    // Leaf categories are the services; `city` has a child and is a group.
    let services = get(&w.app, "/open311/v2/services.json").await;
    assert_eq!(services.status, StatusCode::OK, "{}", services.body);
    let list = services.json();
    let codes: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["city.sanitation", "social"]);
    let sanitation = &list[0];
    assert_eq!(sanitation["service_name"], "环境卫生");
    assert_eq!(sanitation["group"], "城市管理");
    assert_eq!(sanitation["metadata"], false);
    assert_eq!(sanitation["type"], "realtime");
    for field in ["description", "keywords"] {
        assert!(sanitation[field].is_string(), "{field}");
    }
    let xml = get(&w.app, "/open311/v2/services.xml").await;
    assert!(xml.body.contains("<services><service><service_code>city.sanitation</service_code><service_name>环境卫生</service_name>"), "{}", xml.body);
    assert_eq!(elements(&xml.body, "metadata"), ["false", "false"]);
    let scoped = get(
        &w.app,
        &format!("/open311/v2/services.json?jurisdiction_id={JURISDICTION}"),
    )
    .await;
    assert_eq!(scoped.json(), list);

    let definition = get(&w.app, "/open311/v2/services/city.sanitation.json").await;
    assert_eq!(definition.status, StatusCode::OK, "{}", definition.body);
    assert_eq!(
        definition.json(),
        json!({ "service_code": "city.sanitation", "attributes": [] })
    );
    let xml = get(&w.app, "/open311/v2/services/city.sanitation.xml").await;
    assert_eq!(
        xml.body,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_definition><service_code>city.sanitation</service_code><attributes></attributes></service_definition>"
    );
}

async fn posting_and_reading_requests(t: &TestDb) {
    let (w, key) = world(t).await;
    let posted = post_form(&w, "/open311/v2/requests.json", &pothole(&key)).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let answer = posted.json();
    let id = answer[0]["service_request_id"].as_str().unwrap().to_owned();
    let token = answer[0]["token"].as_str().unwrap().to_owned();
    assert!(answer[0]["service_notice"].is_string());
    assert_eq!(answer[0]["account_id"], Value::Null);

    let mut second = pothole(&key);
    second.retain(|(k, _)| !matches!(*k, "lat" | "long" | "media_url"));
    second.push(("jurisdiction_id", JURISDICTION));
    let posted = post_form(&w, "/open311/v2/requests.xml", &second).await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    assert!(posted.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>"
    ));
    assert_eq!(elements(&posted.body, "account_id").len(), 0);
    assert!(posted.body.contains("<account_id/>"));
    let second_id = elements(&posted.body, "service_request_id")[0].clone();

    // The request came in on the `api` channel, for the 12345 centre to dispatch.
    let stored = w
        .state
        .requests()
        .id_of(&id)
        .await
        .unwrap()
        .expect("stored");
    let channel = yiwang_db::count(
        w.state.db().conn(),
        "SELECT COUNT(*) FROM requests WHERE id = $1 AND channel = 'api'",
        [stored.get().into()],
    )
    .await
    .unwrap();
    assert_eq!(channel, 1);

    let all = get(&w.app, "/open311/v2/requests.json").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let list = all.json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let first = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_request_id"] == id.as_str())
        .unwrap();
    assert_eq!(first["status"], "open");
    assert_eq!(first["service_code"], "city.sanitation");
    assert_eq!(first["service_name"], "环境卫生");
    assert_eq!(first["description"], "北门垃圾桶满溢三天无人清运");
    assert_eq!(first["address"], "康巴什区青春山街道恩和小区北门");
    assert_eq!(first["lat"], 39.6086);
    assert_eq!(first["long"], 109.7812);
    assert_eq!(first["media_url"], "https://photos.example.cn/a.jpg");
    assert_eq!(first["requested_datetime"], "2026-02-13T09:00:00+08:00");
    for field in [
        "status_notes",
        "agency_responsible",
        "service_notice",
        "updated_datetime",
        "address_id",
        "zipcode",
    ] {
        assert!(first.get(field).is_some(), "{field}");
    }
    for secret in ["13712345678", "赵明", "zhao@example.cn", "137****5678"] {
        assert!(!all.body.contains(secret), "{secret} leaked");
    }
    let xml = get(&w.app, "/open311/v2/requests.xml").await;
    assert!(xml.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>"
    ));
    assert_eq!(elements(&xml.body, "status"), ["open", "open"]);
    assert!(xml.body.contains("<lat>39.6086</lat><long>109.7812</long>"));
    assert!(
        xml.body.contains("<lat/><long/>"),
        "no place given: empty elements"
    );

    // Filters.
    for (query, expected) in [
        (format!("service_request_id={id}"), 1),
        (format!("service_request_id={id},{second_id}"), 2),
        ("status=open".to_owned(), 2),
        ("status=closed".to_owned(), 0),
        ("service_code=social".to_owned(), 0),
        ("service_code=city.sanitation".to_owned(), 2),
        ("start_date=2026-02-13T08:00:00%2B08:00".to_owned(), 2),
        ("start_date=2026-02-13T10:00:00%2B08:00".to_owned(), 0),
        ("end_date=2026-02-13T08:59:59%2B08:00".to_owned(), 0),
        (format!("jurisdiction_id={JURISDICTION}"), 2),
    ] {
        let found = get(&w.app, &format!("/open311/v2/requests.json?{query}")).await;
        assert_eq!(found.status, StatusCode::OK, "{query}: {}", found.body);
        assert_eq!(found.json().as_array().unwrap().len(), expected, "{query}");
    }

    let one = get(&w.app, &format!("/open311/v2/requests/{id}.json")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.json()[0]["service_request_id"], id.as_str());
    let one = get(&w.app, &format!("/open311/v2/requests/{id}.xml")).await;
    assert_eq!(elements(&one.body, "service_request_id"), [id.as_str()]);

    let by_token = get(&w.app, &format!("/open311/v2/tokens/{token}.json")).await;
    assert_eq!(by_token.status, StatusCode::OK, "{}", by_token.body);
    assert_eq!(
        by_token.json(),
        json!([{ "service_request_id": id, "token": token }])
    );
    let by_token = get(&w.app, &format!("/open311/v2/tokens/{token}.xml")).await;
    assert_eq!(
        by_token.body,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request><service_request_id>{id}</service_request_id><token>{token}</token></request></service_requests>"
        )
    );

    // The 12345 loop closes the request: Open311 shows it closed with the reply as its notes.
    let reply = "已清运并增加清运频次。";
    for (who, action, body) in [
        (&w.operator, "dispatch", json!({})),
        (&w.handler, "sign", json!({})),
        (&w.handler, "reply", json!({ "reply": reply })),
    ] {
        let done = call(
            &w.app,
            "POST",
            &format!("/api/v1/requests/{id}/{action}"),
            Some(who),
            Some(body),
        )
        .await;
        assert_eq!(done.status, StatusCode::OK, "{action}: {}", done.body);
    }
    let closed = get(&w.app, "/open311/v2/requests.json?status=closed").await;
    let closed = closed.json();
    assert_eq!(closed.as_array().unwrap().len(), 1);
    assert_eq!(closed[0]["service_request_id"], id.as_str());
    assert_eq!(closed[0]["status"], "closed");
    assert_eq!(closed[0]["status_notes"], reply);
    assert_eq!(closed[0]["agency_responsible"], "鄂尔多斯市康巴什区民政局");
    assert!(
        closed[0]["expected_datetime"]
            .as_str()
            .unwrap()
            .ends_with("+08:00")
    );
}

async fn errors_as_the_specification_writes_them(t: &TestDb) {
    let (w, key) = world(t).await;
    let before = requests_written(&w).await;
    for format in ["json", "xml"] {
        let uri = format!("/open311/v2/requests.{format}");
        let check = |reply: &Reply, status: StatusCode, description: &str| {
            if format == "json" {
                assert_json_error(reply, status, description);
            } else {
                assert_xml_error(reply, status, description);
            }
        };
        let mut bad_key = pothole("o311_wrong");
        let refused = post_form(&w, &uri, &bad_key).await;
        check(&refused, StatusCode::FORBIDDEN, "Invalid api_key");
        bad_key.retain(|(k, _)| *k != "api_key");
        let refused = post_form(&w, &uri, &bad_key).await;
        check(&refused, StatusCode::FORBIDDEN, "Invalid api_key");

        for (drop, status, description) in [
            (
                "service_code",
                StatusCode::BAD_REQUEST,
                "service_code is required",
            ),
            (
                "phone",
                StatusCode::BAD_REQUEST,
                "phone is required: the 12345 centre calls the requester back",
            ),
            (
                "description",
                StatusCode::BAD_REQUEST,
                "description is required",
            ),
        ] {
            let mut form = pothole(&key);
            form.retain(|(k, _)| *k != drop);
            let refused = post_form(&w, &uri, &form).await;
            check(&refused, status, description);
        }
        let mut nowhere = pothole(&key);
        nowhere.retain(|(k, _)| !matches!(*k, "lat" | "long" | "address_string"));
        let refused = post_form(&w, &uri, &nowhere).await;
        check(
            &refused,
            StatusCode::BAD_REQUEST,
            "lat and long, or address_string, are required",
        );
        let mut unknown = pothole(&key);
        unknown[1] = ("service_code", "no.such");
        let refused = post_form(&w, &uri, &unknown).await;
        check(&refused, StatusCode::NOT_FOUND, "service_code not found");
        let mut far = pothole(&key);
        far[2] = ("lat", "139.6");
        let refused = post_form(&w, &uri, &far).await;
        check(
            &refused,
            StatusCode::BAD_REQUEST,
            "lat and long are not valid",
        );
        let mut elsewhere = pothole(&key);
        elsewhere.push(("jurisdiction_id", "340100"));
        let refused = post_form(&w, &uri, &elsewhere).await;
        check(&refused, StatusCode::NOT_FOUND, "jurisdiction_id not found");

        for (path, description) in [
            (
                format!("/open311/v2/services/no.such.{format}"),
                "service_code not found",
            ),
            (
                format!("/open311/v2/requests/nothing.{format}"),
                "service_request_id not found",
            ),
            (
                format!("/open311/v2/tokens/nothing.{format}"),
                "token not found",
            ),
            (
                format!("/open311/v2/services.{format}?jurisdiction_id=340100"),
                "jurisdiction_id not found",
            ),
        ] {
            let missing = get(&w.app, &path).await;
            check(&missing, StatusCode::NOT_FOUND, description);
        }
        for (query, description) in [
            ("status=pending", "status is open or closed"),
            (
                "start_date=yesterday",
                "start_date is not an ISO 8601 time such as 2026-02-13T09:00:00+08:00",
            ),
            (
                "start_date=2026-02-14T00:00:00Z&end_date=2026-02-13T00:00:00Z",
                "start_date is after end_date",
            ),
        ] {
            let refused = get(&w.app, &format!("/open311/v2/requests.{format}?{query}")).await;
            check(&refused, StatusCode::BAD_REQUEST, description);
        }
    }
    assert_eq!(requests_written(&w).await, before, "nothing was written");
    let unknown_format = get(&w.app, "/open311/v2/services.csv").await;
    assert_json_error(&unknown_format, StatusCode::NOT_FOUND, "not found");
}
