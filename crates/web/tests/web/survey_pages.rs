//! The survey pages on both backends, without JavaScript: a department administrator builds a
//! survey by posting one question at a time (a bad question answers on its field and stores
//! nothing), publishes it to the public; two browsers answer anonymously, a second answer from the
//! same browser is refused, a missing required answer is refused on its question; the results
//! page shows counts, percentages, averages and SVG charts computed by hand here; closing stops
//! answers; the CSV export has one line per response. The API shows the same survey and results.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_web::prefs::encode_component;

use crate::appointment_pages::{User, csrf_of};
use crate::ratings_api::world;
use crate::staff::{call, staff_token};
use crate::support::{Reply, get, send};

db_test!(build_publish_answer_results_close_export);

fn assert_status(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

/// The value of a cookie set by a response.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

/// An anonymous browser: its cookies (the form's double-submit token and the survey id).
struct Browser {
    cookie: String,
    csrf: String,
}

impl Browser {
    async fn open(app: &axum::Router, uri: &str) -> (Self, Reply) {
        let page = get(app, uri).await;
        let csrf = set_cookie(&page, "yw_csrf").expect("a csrf cookie");
        let survey = set_cookie(&page, "yw_survey").expect("a survey cookie");
        (
            Self {
                cookie: format!("yw_csrf={csrf}; yw_survey={survey}"),
                csrf,
            },
            page,
        )
    }

    async fn post(&self, app: &axum::Router, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let body = std::iter::once(("csrf", self.csrf.as_str()))
            .chain(fields.iter().copied())
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        send(
            app,
            Request::post(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", &self.cookie)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

async fn responses_stored(state: &yiwang_web::AppState) -> u64 {
    yiwang_db::count(
        state.db().conn(),
        "SELECT COUNT(*) FROM survey_responses",
        [],
    )
    .await
    .unwrap()
}

async fn build_publish_answer_results_close_export(t: &TestDb) {
    let w = world(t).await;
    let admin_token = staff_token(&w.app, "SC0001").await;
    let admin = User::from_token(&w.app, &admin_token).await;
    let citizen = User::from_token(&w.app, &w.applicant).await;

    // The list with its form; a person may not open it; the workspace links it.
    assert_status(
        &citizen.get(&w.app, "/staff/surveys").await,
        StatusCode::FORBIDDEN,
        "a person on the staff surveys",
    );
    let workspace = admin.get(&w.app, "/staff/departments/hf-scjgj").await;
    assert!(
        workspace.body.contains("href=\"/staff/surveys\""),
        "{} {}",
        workspace.status,
        workspace.header("location")
    );
    let list = admin.get(&w.app, "/staff/surveys").await;
    assert_status(&list, StatusCode::OK, "staff list");
    assert!(list.body.contains("for=\"title\"") && list.body.contains("for=\"intro\""));
    let empty = admin
        .post(&w.app, "/staff/surveys", &[("title", "  ")])
        .await;
    assert_status(&empty, StatusCode::UNPROCESSABLE_ENTITY, "no title");
    assert!(empty.body.contains("id=\"title-error\">请填写此项。"));
    let created = admin
        .post(
            &w.app,
            "/staff/surveys",
            &[
                ("title", "食品经营许可办事体验测评"),
                ("intro", "两分钟即可完成。"),
            ],
        )
        .await;
    assert_status(&created, StatusCode::SEE_OTHER, "create");
    let builder_uri = created.header("location").to_owned();
    let id = builder_uri
        .strip_prefix("/staff/surveys/")
        .unwrap()
        .to_owned();

    // Questions, one post each; a bad one answers on its field and stores nothing.
    let builder = admin.get(&w.app, &builder_uri).await;
    assert_status(&builder, StatusCode::OK, "builder");
    for label in [
        "section", "kind", "text", "options", "required", "target", "from", "until",
    ] {
        assert!(
            builder.body.contains(&format!("for=\"{label}\"")),
            "label for {label}"
        );
    }
    let add = format!("{builder_uri}/questions");
    let bad = admin
        .post(
            &w.app,
            &add,
            &[
                ("kind", "single"),
                ("text", "只有一个选项"),
                ("options", "是\n"),
            ],
        )
        .await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, "one option");
    assert!(bad.body.contains("id=\"options-error\""));
    assert!(bad.body.contains("只有一个选项"), "what was typed is kept");
    for fields in [
        vec![
            ("section", "办事情况"),
            ("kind", "single"),
            ("text", "您办理的业务"),
            ("options", "新办\r\n延续\r\n变更"),
            ("required", "1"),
        ],
        vec![
            ("section", "评价"),
            ("kind", "scale"),
            ("text", "您对办理速度的评价"),
            ("required", "1"),
        ],
        vec![("section", "评价"), ("kind", "text"), ("text", "其他建议")],
    ] {
        let added = admin.post(&w.app, &add, &fields).await;
        assert_status(&added, StatusCode::SEE_OTHER, "add question");
    }
    let builder = admin
        .get(&w.app, &format!("{builder_uri}?done=added"))
        .await;
    assert!(builder.body.contains("题目已添加。"));
    assert!(builder.body.contains("id=\"question-q3\""));

    // Published to the public, it is frozen and listed.
    let published = admin
        .post(
            &w.app,
            &format!("{builder_uri}/publish"),
            &[("audience", "public")],
        )
        .await;
    assert_status(&published, StatusCode::SEE_OTHER, "publish");
    let builder = admin.get(&w.app, &builder_uri).await;
    assert!(builder.body.contains("id=\"survey-status\">进行中"));
    assert!(!builder.body.contains("id=\"add\""), "no more questions");
    let open = get(&w.app, "/surveys").await;
    assert!(open.body.contains(&format!("href=\"/surveys/{id}\"")));

    // Two browsers answer; the first cannot answer again; a missing required answer is refused.
    let public_uri = format!("/surveys/{id}");
    let (first, form) = Browser::open(&w.app, &public_uri).await;
    assert_status(&form, StatusCode::OK, "public form");
    assert_eq!(csrf_of(&form.body).as_deref(), Some(first.csrf.as_str()));
    for label in ["q1-0", "q1-2", "q2-5", "q3-text"] {
        assert!(
            form.body.contains(&format!("for=\"{label}\"")),
            "label for {label}"
        );
    }
    let answered = first
        .post(
            &w.app,
            &public_uri,
            &[("q1", "0"), ("q2", "5"), ("q3", "窗口服务很好")],
        )
        .await;
    assert_status(&answered, StatusCode::OK, "first answer");
    assert!(answered.body.contains("id=\"done\""));
    let again = first
        .post(&w.app, &public_uri, &[("q1", "1"), ("q2", "1")])
        .await;
    assert_status(&again, StatusCode::CONFLICT, "second answer");
    assert!(again.body.contains("您已参与过本次测评"));
    let shown = send(
        &w.app,
        Request::get(&public_uri)
            .header("cookie", &first.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        shown.body.contains("id=\"survey-refused\""),
        "the form is not offered again"
    );
    let (second, _) = Browser::open(&w.app, &public_uri).await;
    let missing = second
        .post(&w.app, &public_uri, &[("q1", "1"), ("q3", "")])
        .await;
    assert_status(
        &missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing required",
    );
    assert!(missing.body.contains("id=\"q2-error\">请回答此题。"));
    let forged = second
        .post(&w.app, &public_uri, &[("q1", "7"), ("q2", "4")])
        .await;
    assert_status(&forged, StatusCode::UNPROCESSABLE_ENTITY, "no such option");
    assert!(forged.body.contains("id=\"q1-error\""));
    assert_eq!(responses_stored(&w.state).await, 1);
    let answered = second
        .post(&w.app, &public_uri, &[("q1", "0"), ("q2", "4")])
        .await;
    assert_status(&answered, StatusCode::OK, "second browser");
    // Without the survey cookie the answer is not counted against anybody: refused.
    let cookieless = send(
        &w.app,
        Request::post(&public_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("yw_csrf={}", first.csrf))
            .body(Body::from(format!("csrf={}&q1=0&q2=3", first.csrf)))
            .unwrap(),
    )
    .await;
    assert_status(
        &cookieless,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no survey cookie",
    );
    assert_eq!(responses_stored(&w.state).await, 2);

    // Results by hand: q1 新办 2 of 2 (100.0%); q2 5 and 4 → 4.50, each 50.0%; one text.
    let results = admin.get(&w.app, &format!("{builder_uri}/results")).await;
    assert_status(&results, StatusCode::OK, "results");
    assert!(results.body.contains("共收到 2 份答卷"));
    assert!(results.body.contains("100.0%"));
    assert!(results.body.contains("id=\"average-q2\">平均 4.50 分"));
    assert!(results.body.contains("5 分（很好）"));
    assert!(results.body.matches("50.0%").count() >= 2);
    assert!(results.body.contains("窗口服务很好"));
    assert!(results.body.contains("<svg") && results.body.contains("role=\"img\""));
    let api = call(
        &w.app,
        "GET",
        &format!("/api/v1/staff/surveys/{id}/results"),
        Some(&admin_token),
        None,
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let json = api.json();
    assert_eq!(json["responses"], 2);
    assert_eq!(json["questions"][0]["counts"][0]["count"], 2);
    assert_eq!(json["questions"][1]["average"], 4.5);
    assert_eq!(json["questions"][1]["counts"][3]["percent"], 50.0);
    let public_api = call(&w.app, "GET", &format!("/api/v1/surveys/{id}"), None, None).await;
    assert_eq!(
        public_api.json()["sections"][0]["questions"][0]["options"][1],
        "延续"
    );

    // Closed: answers refused, results and export stay.
    let closed = admin
        .post(&w.app, &format!("{builder_uri}/close"), &[])
        .await;
    assert_status(&closed, StatusCode::SEE_OTHER, "close");
    let (late, late_form) = Browser::open(&w.app, &public_uri).await;
    assert!(late_form.body.contains("本次测评未开放或已结束"));
    let refused = late
        .post(&w.app, &public_uri, &[("q1", "0"), ("q2", "3")])
        .await;
    assert_status(&refused, StatusCode::CONFLICT, "closed survey");
    assert_eq!(responses_stored(&w.state).await, 2);

    let csv = admin
        .get(&w.app, &format!("{builder_uri}/results.csv"))
        .await;
    assert_status(&csv, StatusCode::OK, "csv");
    assert!(csv.header("content-type").starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].contains("q1 您办理的业务"));
    assert!(
        lines[1].ends_with(",网页,新办,5,窗口服务很好"),
        "{}",
        lines[1]
    );
    assert!(lines[2].ends_with(",网页,新办,4,"), "{}", lines[2]);
    // A supervisor over the region reads the results; a person may not.
    let supervisor = call(
        &w.app,
        "GET",
        &format!("/api/v1/staff/surveys/{id}/results"),
        Some(&w.supervisor),
        None,
    )
    .await;
    assert_eq!(supervisor.status, StatusCode::OK, "{}", supervisor.body);
    let person = call(
        &w.app,
        "GET",
        &format!("/api/v1/staff/surveys/{id}/results"),
        Some(&w.applicant),
        None,
    )
    .await;
    assert_eq!(person.status, StatusCode::FORBIDDEN);
}
