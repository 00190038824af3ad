//! The applicant's case pages on both backends: applying through the forms (a multipart upload, every
//! problem at once with the values kept, a draft resumed, check your answers, the confirmation with the
//! case number and query code), my cases, the case page with its history, resubmitting after a
//! supplement notice, withdrawing, the print-ready notices (only once they exist, only for those who may
//! see the case), the public progress query and the disclosures; every page in English too.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_kernel::{Uscc, sm3_hex};
use yiwang_web::app;

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::cases::{FOOD_RENEWAL, act, publish, seed, task_of};
use crate::staff::{call, person_token, staff_token};
use crate::support::{Reply, get, send, state};

/// A form with a field of every kind.
const WORKFLOW: &str = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["review"]
[[steps]]
id = "review"
name = "审查"
kind = "review"
post = "hf-scjgj/review"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
max_len = 50
[[form]]
key = "address"
label = "经营场所"
kind = "textarea"
required = true
help = "写到门牌号"
[[form]]
key = "area"
label = "经营面积（平方米）"
kind = "number"
required = true
min = 1
max = 100000
[[form]]
key = "opened"
label = "开业日期"
kind = "date"
[[form]]
key = "scale"
label = "经营规模"
kind = "select"
required = true
options = ["小型", "中型", "大型"]
[[form]]
key = "head_id"
label = "负责人身份证号"
kind = "resident_id"
required = true
[[form]]
key = "phone"
label = "联系电话"
kind = "mobile"
required = true
[[form]]
key = "mail"
label = "联系邮箱"
kind = "email"
[[form]]
key = "uscc"
label = "统一社会信用代码"
kind = "uscc"
[[form]]
key = "unchanged"
label = "经营条件未发生变化"
kind = "checkbox"
required = true
"#;

const BOUNDARY: &str = "casepagesboundary";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (input, file_name, content) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{input}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(
    app: &axum::Router,
    uri: &str,
    token: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> Reply {
    send(
        app,
        Request::post(uri)
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(fields, files)))
            .unwrap(),
    )
    .await
}

async fn post_form(app: &axum::Router, uri: &str, token: &str, pairs: &[(&str, &str)]) -> Reply {
    let body = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", yiwang_web::prefs::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&");
    send(
        app,
        Request::post(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn page(app: &axum::Router, uri: &str, token: &str) -> Reply {
    page_in(app, uri, token, "zh-CN").await
}

async fn page_in(app: &axum::Router, uri: &str, token: &str, lang: &str) -> Reply {
    send(
        app,
        Request::get(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("cookie", format!("yw_lang={lang}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {html}"))
        + start.len();
    &html[from..from + html[from..].find(end).unwrap()]
}

fn valid_uscc() -> String {
    Uscc::complete("91340100MA2RQ8K5N")
        .unwrap()
        .as_str()
        .to_owned()
}

async fn my_file_ids(app: &axum::Router, token: &str) -> Vec<(String, String)> {
    call(app, "GET", "/api/v1/materials", Some(token), None)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

db_test!(applying_following_and_notices_through_the_pages);

#[expect(clippy::too_many_lines, reason = "one applicant's whole journey")]
async fn applying_following_and_notices_through_the_pages(t: &TestDb) {
    let state = state(t).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state);
    let applicant = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let other = person_token(&t.db, &app, "李娜", RID_B, MOBILE_B).await;
    let window = staff_token(&app, "SC0101").await;
    let reviewer = staff_token(&app, "SC0201").await;
    let chief = staff_token(&app, "SC0301").await;
    let admin = staff_token(&app, "SC0001").await;

    // Before a workflow exists the guide offers no online application.
    let guide = get(&app, &format!("/items/{item}")).await;
    assert!(!guide.body.contains("id=\"apply-online\""));
    let published = publish(&app, &admin, item, WORKFLOW).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    let guide = get(&app, &format!("/items/{item}")).await;
    assert!(
        guide.body.contains(&format!(
            r#"id="apply-online" href="/apply/{item}">在线办理"#
        )),
        "{}",
        guide.body
    );

    // Applying needs a logged-in person.
    let anonymous = get(&app, &format!("/apply/{item}")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.header("location"),
        format!("/login?next=/apply/{item}")
    );

    // The form: a labelled input of the right type for every field, the materials with their uploads.
    let form = page(&app, &format!("/apply/{item}"), &applicant).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for (key, control) in [
        ("operator", r#"type="text""#),
        ("area", r#"inputmode="numeric""#),
        ("opened", r#"type="date""#),
        ("phone", r#"type="tel""#),
        ("mail", r#"type="email""#),
    ] {
        assert!(
            form.body.contains(&format!(r#"<label for="a_{key}">"#)),
            "label of {key}"
        );
        let input = between(&form.body, &format!(r#"<input id="a_{key}""#), ">");
        assert!(input.contains(control), "{key}: {input}");
    }
    assert!(form.body.contains(r#"<textarea id="a_address""#));
    assert!(form.body.contains(r#"<select id="a_scale""#) && form.body.contains(">中型</option>"));
    assert!(
        form.body.contains(r#"class="mono cs-id""#),
        "identifier inputs"
    );
    assert!(
        form.body
            .contains(r#"<input id="a_unchanged" name="a_unchanged" type="checkbox""#)
    );
    assert!(form.body.contains("写到门牌号"), "the field's help");
    assert!(
        form.body.contains("请填写 1 至 100000 之间的整数。"),
        "range hint"
    );
    assert!(form.body.contains("18 位公民身份号码"), "format hint");
    assert!(form.body.contains("食品经营许可延续申请书"));
    assert!(
        form.body
            .contains(r#"<input id="file_0" name="file_0" type="file""#)
    );
    assert!(
        form.body.contains(&format!(
            "每个文件不超过 10 MB；一次最多提交 {} 个文件",
            yiwang_web::FILES_PER_FORM
        )),
        "limits shown"
    );
    assert!(form.body.contains("本人（张晓明）"), "applying as oneself");
    let csrf = csrf_of(&form.body);

    // A forged form is refused.
    let forged = post_multipart(
        &app,
        &format!("/apply/{item}"),
        &applicant,
        &[("csrf", "nope"), ("go", "check")],
        &[],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Every problem at once, values kept, the good upload kept with its digest.
    let pdf: &[u8] = b"%PDF-1.7 application";
    let bad = post_multipart(
        &app,
        &format!("/apply/{item}"),
        &applicant,
        &[
            ("csrf", &csrf),
            ("applicant", "self"),
            ("a_operator", "合肥味道餐饮管理有限公司"),
            ("a_address", ""),
            ("a_area", "0"),
            ("a_scale", ""),
            ("a_head_id", "110105194912310021"),
            ("a_phone", "2380013800"),
            ("a_mail", "not-an-address"),
            ("a_opened", "2026-02-30"),
            ("contact_email", "broken@"),
            ("go", "check"),
        ],
        &[
            ("file_0", "延续申请书.pdf", pdf),
            ("file_1", "其他材料.exe", b"MZ\x90\x00"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    let summary = between(&bad.body, "error-summary", "</div>");
    for message in [
        "经营场所：此项必填",
        "经营面积（平方米）：数值超出允许范围",
        "开业日期：请按 年-月-日 填写有效日期",
        "经营规模：此项必填",
        "负责人身份证号：身份证号码不正确",
        "联系电话：手机号码不正确",
        "联系邮箱：电子邮箱地址不正确",
        "经营条件未发生变化：此项必填",
        "其他材料.exe",
        "请上传“与延续食品经营许可事项有关的其他材料”",
    ] {
        assert!(
            summary.contains(message),
            "{message} missing from {summary}"
        );
    }
    assert!(summary.contains(r##"href="#a_area""##) && summary.contains(r##"href="#file_1""##));
    assert!(bad.body.contains(r#"value="合肥味道餐饮管理有限公司""#));
    assert!(bad.body.contains(r#"value="2380013800""#));
    assert!(bad.body.contains(r#"value="110105194912310021""#));
    assert!(bad.body.contains("延续申请书.pdf"));
    assert!(
        bad.body.contains(&sm3_hex(pdf)),
        "the upload's SM3 is shown"
    );
    // The draft exists now; the form posts to it.
    let key = between(&bad.body, r#"action="/my/cases/"#, "/edit\"").to_owned();

    // My cases lists the draft with a way to continue.
    let mine = page(&app, "/my/cases", &applicant).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("食品经营许可（延续）") && mine.body.contains("草稿"));
    assert!(
        mine.body
            .contains(&format!(r#"href="/my/cases/{key}/edit">继续填写"#))
    );

    // Resume the draft, correct it, add the second file, save it.
    let edit = page(&app, &format!("/my/cases/{key}/edit"), &applicant).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        edit.body.contains(r#"value="合肥味道餐饮管理有限公司""#),
        "resumed"
    );
    let files = my_file_ids(&app, &applicant).await;
    let first = files
        .iter()
        .find(|(n, _)| n == "延续申请书.pdf")
        .unwrap()
        .1
        .clone();
    assert!(
        edit.body
            .contains(&format!(r#"<option value="{first}" selected>"#)),
        "the attached file is chosen"
    );
    let uscc = valid_uscc();
    let answers = [
        ("csrf", csrf.as_str()),
        ("a_operator", "合肥味道餐饮管理有限公司"),
        ("a_address", "合肥市蜀山区长江西路 100 号"),
        ("a_area", "120"),
        ("a_opened", "2021-03-01"),
        ("a_scale", "小型"),
        ("a_head_id", RID_A),
        ("a_phone", "13800138000"),
        ("a_mail", "owner@example.cn"),
        ("a_uscc", uscc.as_str()),
        ("a_unchanged", "on"),
        ("contact_email", "owner@example.cn"),
        ("reuse_0", first.as_str()),
    ];
    let mut save = answers.to_vec();
    save.push(("go", "save"));
    let saved = post_multipart(
        &app,
        &format!("/my/cases/{key}/edit"),
        &applicant,
        &save,
        &[("file_1", "其他材料.pdf", b"%PDF-1.7 other")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(
        saved.header("location"),
        format!("/my/cases/{key}/edit?saved=1")
    );
    let resumed = page(&app, &format!("/my/cases/{key}/edit?saved=1"), &applicant).await;
    assert!(resumed.body.contains("草稿已保存"));
    assert!(resumed.body.contains("其他材料.pdf") && resumed.body.contains("120"));
    let second = my_file_ids(&app, &applicant)
        .await
        .into_iter()
        .find(|(n, _)| n == "其他材料.pdf")
        .unwrap()
        .1;

    // Continue to check the answers.
    let mut check = answers.to_vec();
    check.push(("reuse_1", second.as_str()));
    check.push(("go", "check"));
    let checked = post_multipart(
        &app,
        &format!("/my/cases/{key}/edit"),
        &applicant,
        &check,
        &[],
    )
    .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    assert_eq!(checked.header("location"), format!("/my/cases/{key}/check"));
    let review_page = page(&app, &format!("/my/cases/{key}/check"), &applicant).await;
    assert_eq!(review_page.status, StatusCode::OK);
    for text in [
        "检查申请内容",
        "合肥市蜀山区长江西路 100 号",
        "小型",
        "owner@example.cn",
        "其他材料.pdf",
        &sm3_hex(b"%PDF-1.7 other"),
        &format!(r#"href="/my/cases/{key}/edit#a_area""#),
        &format!(r#"href="/my/cases/{key}/edit#material-1""#),
    ] {
        assert!(review_page.body.contains(text), "check page lacks {text}");
    }
    assert!(!review_page.body.contains("error-summary"));

    // Submit: the confirmation gives the number and the query code.
    let submitted = post_form(
        &app,
        &format!("/my/cases/{key}/submit"),
        &applicant,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        submitted.header("location"),
        format!("/my/cases/{key}/submitted")
    );
    let confirmation = page(&app, &format!("/my/cases/{key}/submitted"), &applicant).await;
    assert_eq!(confirmation.status, StatusCode::OK);
    let case_no = between(&confirmation.body, r#"id="case-no">"#, "<").to_owned();
    let code = between(&confirmation.body, r#"id="query-code">"#, "<").to_owned();
    assert_eq!(code.len(), 8);
    assert!(
        confirmation
            .body
            .contains("请记下或截图保存办件编号和查询码")
    );
    let api_case = call(
        &app,
        "GET",
        &format!("/api/v1/cases/{key}"),
        Some(&applicant),
        None,
    )
    .await
    .json();
    assert_eq!(api_case["case_no"], case_no.as_str());
    assert_eq!(api_case["status"], "submitted");
    // Submitting again is not possible: the case page takes over.
    assert_eq!(
        page(&app, &format!("/my/cases/{key}/check"), &applicant)
            .await
            .header("location"),
        format!("/my/cases/{key}")
    );

    // My cases and the case page.
    let mine = page(&app, "/my/cases", &applicant).await;
    assert!(mine.body.contains(&case_no) && mine.body.contains("待受理"));
    let filtered = page(&app, "/my/cases?status=draft", &applicant).await;
    assert!(filtered.body.contains("没有该状态的办件"));
    let case = page(&app, &format!("/my/cases/{key}"), &applicant).await;
    assert_eq!(case.status, StatusCode::OK);
    assert!(case.body.contains("提交申请") && case.body.contains(&code));
    assert!(case.body.contains("窗口正在预审您的申请"));
    assert!(
        case.body
            .contains(&format!(r#"href="/my/cases/{key}/withdraw""#))
    );
    // No notice before acceptance; nobody else sees the case.
    for kind in ["accepted", "supplement", "declined", "granted", "denied"] {
        assert_eq!(
            page(&app, &format!("/cases/{key}/notices/{kind}"), &applicant)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{kind} before it exists"
        );
    }
    assert_eq!(
        page(&app, &format!("/cases/{key}/notices/licence"), &applicant)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        page(&app, &format!("/my/cases/{key}"), &other).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        page(&app, &format!("/my/cases/{case_no}"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let other_mine = page(&app, "/my/cases", &other).await;
    assert!(other_mine.body.contains("您还没有办件"), "empty state");

    // The window asks for a supplement: the case page lists it, the notice lists it.
    let intake = task_of(&app, &window, &case_no, "accept").await;
    call(
        &app,
        "POST",
        &format!("/api/v1/tasks/{intake}/claim"),
        Some(&window),
        None,
    )
    .await;
    let asked = act(
        &app,
        &window,
        intake,
        json!({ "action": "supplement", "opinion": "材料不全", "missing": ["营业执照复印件", "经营场所平面图"] }),
    )
    .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let case = page(&app, &format!("/my/cases/{key}"), &applicant).await;
    assert!(case.body.contains("需要补正的内容"));
    assert!(case.body.contains("营业执照复印件") && case.body.contains("经营场所平面图"));
    assert!(
        case.body
            .contains(&format!(r#"href="/cases/{key}/notices/supplement""#))
    );
    let notice = page(
        &app,
        &format!("/cases/{key}/notices/supplement"),
        &applicant,
    )
    .await;
    assert_eq!(notice.status, StatusCode::OK, "{}", notice.body);
    assert!(notice.body.contains("补正材料告知书"));
    assert!(notice.body.contains("第三十二条第一款第（四）项") && notice.body.contains("一次告知"));
    assert!(between(&notice.body, r#"id="notice-missing">"#, "</ol>").contains("经营场所平面图"));
    assert!(notice.body.contains("（盖章）") && notice.body.contains("合肥市市场监督管理局"));
    assert!(
        notice.body.contains("2026年2月13日"),
        "dates written officially"
    );

    // Resubmit: a bad answer and a refused file are reported together; then the right files.
    let form = page(&app, &format!("/my/cases/{key}/resubmit"), &applicant).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("上传补正文件"));
    let mut fields = answers.to_vec();
    fields.retain(|(k, _)| *k != "reuse_0");
    let mut bad_fields = fields.clone();
    bad_fields.retain(|(k, _)| *k != "a_phone");
    let refused = post_multipart(
        &app,
        &format!("/my/cases/{key}/resubmit"),
        &applicant,
        &bad_fields,
        &[("file_1", "平面图.exe", b"MZ")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("联系电话：此项必填") && refused.body.contains("平面图.exe"));
    let resent = post_multipart(
        &app,
        &format!("/my/cases/{key}/resubmit"),
        &applicant,
        &fields,
        &[("file_1", "平面图.pdf", b"%PDF-1.7 plan")],
    )
    .await;
    assert_eq!(resent.status, StatusCode::SEE_OTHER, "{}", resent.body);
    let case = page(
        &app,
        &format!("/my/cases/{key}?done=resubmitted"),
        &applicant,
    )
    .await;
    assert!(case.body.contains("补正材料已提交") && case.body.contains("平面图.pdf"));
    assert!(case.body.contains("补正后重新提交"), "history");

    // Accepted: the acceptance notice, for the applicant and the window, not for others.
    let intake = task_of(&app, &window, &case_no, "accept").await;
    let accepted = act(
        &app,
        &window,
        intake,
        json!({ "action": "accept", "opinion": "材料齐全" }),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let notice = page(&app, &format!("/cases/{key}/notices/accepted"), &applicant).await;
    assert_eq!(notice.status, StatusCode::OK);
    assert!(
        notice.body.contains("受理通知书") && notice.body.contains("第三十二条第一款第（五）项")
    );
    assert_eq!(between(&notice.body, r#"id="notice-no">"#, "<"), case_no);
    assert_eq!(between(&notice.body, r#"id="notice-to">"#, "<"), "张晓明");
    let staff_notice = page(&app, &format!("/cases/{case_no}/notices/accepted"), &window).await;
    assert_eq!(staff_notice.status, StatusCode::OK, "staff who may see it");
    assert!(staff_notice.body.contains("受理通知书"));
    assert_eq!(
        page(&app, &format!("/cases/{key}/notices/accepted"), &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, &format!("/cases/{key}/notices/accepted"))
            .await
            .status,
        StatusCode::SEE_OTHER,
        "anonymous visitors log in first"
    );
    let en_notice = page_in(
        &app,
        &format!("/cases/{key}/notices/accepted"),
        &applicant,
        "en",
    )
    .await;
    assert!(en_notice.body.contains("Back to the case") && en_notice.body.contains("受理通知书"));

    // Review, grant, delivery: the grant notice and the disclosure with the name masked.
    assert_eq!(
        page(&app, &format!("/cases/{key}/notices/granted"), &applicant)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "no grant notice before the grant"
    );
    let review = task_of(&app, &reviewer, &case_no, "review").await;
    act(
        &app,
        &reviewer,
        review,
        json!({ "action": "agree", "opinion": "同意" }),
    )
    .await;
    let decide = task_of(&app, &chief, &case_no, "decide").await;
    let granted = act(
        &app,
        &chief,
        decide,
        json!({ "action": "grant", "opinion": "准予延续，有效期五年" }),
    )
    .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let notice = page(&app, &format!("/cases/{key}/notices/granted"), &applicant).await;
    assert_eq!(notice.status, StatusCode::OK);
    assert!(notice.body.contains("准予行政许可决定书") && notice.body.contains("第三十八条第一款"));
    assert!(notice.body.contains("准予延续，有效期五年"));
    assert_eq!(
        page(&app, &format!("/cases/{key}/notices/denied"), &applicant)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let case = page(&app, &format!("/my/cases/{key}"), &applicant).await;
    assert!(case.body.contains("准予许可") && !case.body.contains("/withdraw\""));

    let disclosed = get(&app, "/disclosures").await;
    assert_eq!(disclosed.status, StatusCode::OK);
    assert!(disclosed.body.contains(&case_no) && disclosed.body.contains("张**"));
    assert!(!disclosed.body.contains("张晓明"), "names are masked");
    let disclosed_en = page_in(&app, "/disclosures", &other, "en").await;
    assert!(disclosed_en.body.contains("Published decisions"));

    // The public progress query: the right pair shows the history, a wrong one says nothing more.
    let form = get(&app, "/progress").await;
    assert_eq!(form.status, StatusCode::OK);
    let anon_csrf = csrf_of(&form.body);
    let cookie = format!("yw_csrf={anon_csrf}");
    let query = |case_no: &str, code: &str| {
        format!(
            "csrf={anon_csrf}&case_no={}&code={}",
            yiwang_web::prefs::encode_component(case_no),
            yiwang_web::prefs::encode_component(code)
        )
    };
    let ask = |body: String| {
        Request::post("/progress")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let found = send(&app, ask(query(&case_no, &code.to_lowercase()))).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(found.body.contains("id=\"progress-result\""));
    assert!(found.body.contains("准予许可") && found.body.contains("受理"));
    let wrong_code = send(&app, ask(query(&case_no, "AAAAAAAA"))).await;
    let wrong_no = send(&app, ask(query("340100202602130100099", &code))).await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_no.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = |r: &Reply| between(&r.body, r#"id="progress-error">"#, "<").to_owned();
    assert_eq!(message(&wrong_code), "办件编号与查询码不匹配");
    assert_eq!(
        message(&wrong_code),
        message(&wrong_no),
        "no hint which half was wrong"
    );
    assert!(!wrong_code.body.contains("progress-result"));
    let forged = send(
        &app,
        Request::post("/progress")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(query(&case_no, &code)))
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Every page in English.
    for uri in [
        format!("/my/cases/{key}"),
        "/my/cases".to_owned(),
        format!("/items/{item}"),
        "/progress".to_owned(),
    ] {
        let en = page_in(&app, &uri, &applicant, "en").await;
        assert_eq!(en.status, StatusCode::OK, "{uri}");
        assert!(en.body.contains(r#"<html lang="en">"#), "{uri}");
        assert!(
            !en.body.contains("办件编号") && !en.body.contains("我的办件"),
            "{uri} has untranslated chrome"
        );
    }
    let en_case = page_in(&app, &format!("/my/cases/{key}"), &applicant, "en").await;
    assert!(en_case.body.contains("Case details") && en_case.body.contains("Granted"));
    let en_form = page_in(&app, &format!("/apply/{item}"), &applicant, "en").await;
    assert!(
        en_form.body.contains("Save and check")
            && en_form.body.contains("A whole number from 1 to 100000.")
    );
}

db_test!(withdrawing_and_declined_cases_through_the_pages);

async fn withdrawing_and_declined_cases_through_the_pages(t: &TestDb) {
    let state = state(t).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state);
    let applicant = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let window = staff_token(&app, "SC0101").await;
    let admin = staff_token(&app, "SC0001").await;
    let simple = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
"#;
    assert_eq!(
        publish(&app, &admin, item, simple).await.status,
        StatusCode::CREATED
    );
    // Two applications over the API (the pages are covered above).
    let mut keys = Vec::new();
    for n in 0..2 {
        let mut materials = Vec::new();
        for (i, name) in [
            "食品经营许可延续申请书",
            "与延续食品经营许可事项有关的其他材料",
        ]
        .iter()
        .enumerate()
        {
            let up = post_multipart(
                &app,
                "/api/v1/materials",
                &applicant,
                &[],
                &[("file", &format!("{n}-{i}.pdf"), b"%PDF-1.7 x")],
            )
            .await;
            assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
            materials.push(json!({ "material": name, "file": up.json()["id"] }));
        }
        let applied = call(
            &app,
            "POST",
            "/api/v1/cases",
            Some(&applicant),
            Some(json!({ "item": item, "answers": { "operator": "合肥味道" }, "materials": materials })),
        )
        .await;
        assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
        keys.push((
            applied.json()["id"].as_str().unwrap().to_owned(),
            applied.json()["case_no"].as_str().unwrap().to_owned(),
        ));
    }
    // The session's token, as every page's log-out form carries it.
    let csrf = csrf_of(&page(&app, "/my/cases", &applicant).await.body);

    // Withdraw the first: a confirmation page, then the case ends.
    let (key, _) = &keys[0];
    let confirm = page(&app, &format!("/my/cases/{key}/withdraw"), &applicant).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(
        confirm.body.contains("确定要撤回申请吗？")
            && confirm.body.contains(r#"<label for="reason">"#)
    );
    let done = post_form(
        &app,
        &format!("/my/cases/{key}/withdraw"),
        &applicant,
        &[("csrf", &csrf), ("reason", "经营地址变更，重新申请")],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let case = page(&app, &format!("/my/cases/{key}?done=withdrawn"), &applicant).await;
    assert!(case.body.contains("申请已撤回") && case.body.contains("已撤回"));
    assert!(
        case.body.contains("经营地址变更，重新申请"),
        "the reason in the history"
    );
    assert!(!case.body.contains("/withdraw\""), "no second withdrawal");
    let again = page(&app, &format!("/my/cases/{key}/withdraw"), &applicant).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);

    // Decline the second: the decision not to accept, with the reason and the remedies.
    let (key, case_no) = &keys[1];
    let intake = task_of(&app, &window, case_no, "accept").await;
    let declined = act(
        &app,
        &window,
        intake,
        json!({ "action": "decline", "opinion": "申请事项不属于本机关职权范围" }),
    )
    .await;
    assert_eq!(declined.status, StatusCode::OK, "{}", declined.body);
    let notice = page(&app, &format!("/cases/{key}/notices/declined"), &applicant).await;
    assert_eq!(notice.status, StatusCode::OK, "{}", notice.body);
    assert!(notice.body.contains("不予受理决定书"));
    assert_eq!(
        between(&notice.body, r#"id="notice-reason">"#, "<"),
        "申请事项不属于本机关职权范围"
    );
    assert!(notice.body.contains("行政复议") && notice.body.contains("行政诉讼"));
    for kind in ["accepted", "granted", "denied", "supplement"] {
        assert_eq!(
            page(&app, &format!("/cases/{key}/notices/{kind}"), &applicant)
                .await
                .status,
            StatusCode::NOT_FOUND,
            "{kind}"
        );
    }
    let mine = page(&app, "/my/cases?status=declined", &applicant).await;
    assert!(mine.body.contains(case_no.as_str()) && mine.body.contains("共 1 件"));
}

db_test!(commitment_applications_for_an_enterprise);

async fn commitment_applications_for_an_enterprise(t: &TestDb) {
    let state = state(t).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state);
    let representative = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let agent = person_token(&t.db, &app, "李娜", RID_B, MOBILE_B).await;
    let window = staff_token(&app, "SC0101").await;
    let admin = staff_token(&app, "SC0001").await;
    let workflow = r#"
[commitment]
statement = "本单位承诺经营条件未发生变化，所填信息真实有效，如有不实愿承担法律责任。"
replaces = ["与延续食品经营许可事项有关的其他材料"]
verify_post = "hf-scjgj/review"
verify_within_days = 20

[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
"#;
    let published = publish(&app, &admin, item, workflow).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    let uscc = valid_uscc();
    let enterprise = call(
        &app,
        "POST",
        "/api/v1/enterprises",
        Some(&representative),
        Some(json!({ "uscc": uscc, "name": "合肥味道餐饮管理有限公司" })),
    )
    .await;
    assert_eq!(
        enterprise.status,
        StatusCode::CREATED,
        "{}",
        enterprise.body
    );
    let enterprise = enterprise.json()["id"].as_str().unwrap().to_owned();
    let added = call(
        &app,
        "POST",
        &format!("/api/v1/enterprises/{enterprise}/agents"),
        Some(&representative),
        Some(json!({ "login": MOBILE_B })),
    )
    .await;
    assert!(added.status.is_success(), "{}", added.body);

    // The agent applies for the enterprise; the promise is shown and must be ticked.
    let form = page(&app, &format!("/apply/{item}"), &agent).await;
    assert!(form.body.contains(&format!(
        r#"value="{enterprise}"> 合肥味道餐饮管理有限公司（统一社会信用代码 {uscc}）"#
    )));
    assert!(form.body.contains("本单位承诺经营条件未发生变化"));
    assert!(
        form.body
            .contains(r#"<input id="commitment" type="checkbox" name="commitment""#)
    );
    assert!(form.body.contains("以告知承诺代替"));
    let csrf = csrf_of(&form.body);
    let unsigned = post_multipart(
        &app,
        &format!("/apply/{item}"),
        &agent,
        &[
            ("csrf", &csrf),
            ("applicant", &enterprise),
            ("a_operator", "合肥味道餐饮管理有限公司"),
            ("go", "check"),
        ],
        &[("file_0", "延续申请书.pdf", b"%PDF-1.7 ent")],
    )
    .await;
    assert_eq!(unsigned.status, StatusCode::UNPROCESSABLE_ENTITY);
    let summary = between(&unsigned.body, "error-summary", "</div>");
    assert!(summary.contains("请阅读并签署告知承诺书"), "{summary}");
    assert!(
        !summary.contains("请上传"),
        "the promise replaces the other material: {summary}"
    );
    let key = between(&unsigned.body, r#"action="/my/cases/"#, "/edit\"").to_owned();
    assert!(
        unsigned
            .body
            .contains(r#"<p id="applicant">合肥味道餐饮管理有限公司</p>"#)
    );
    let file = my_file_ids(&app, &agent).await[0].1.clone();
    let signed = post_multipart(
        &app,
        &format!("/my/cases/{key}/edit"),
        &agent,
        &[
            ("csrf", &csrf),
            ("a_operator", "合肥味道餐饮管理有限公司"),
            ("reuse_0", &file),
            ("commitment", "on"),
            ("go", "check"),
        ],
        &[],
    )
    .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let check = page(&app, &format!("/my/cases/{key}/check"), &agent).await;
    assert!(check.body.contains("已签署告知承诺"));
    let submitted = post_form(
        &app,
        &format!("/my/cases/{key}/submit"),
        &agent,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER);

    // The legal representative sees the enterprise's case too.
    let theirs = page(&app, "/my/cases", &representative).await;
    assert!(theirs.body.contains("合肥味道餐饮管理有限公司") && theirs.body.contains("待受理"));
    let case_no = call(
        &app,
        "GET",
        &format!("/api/v1/cases/{key}"),
        Some(&agent),
        None,
    )
    .await
    .json()["case_no"]
        .as_str()
        .unwrap()
        .to_owned();

    // Accepted on commitment means granted at once; the notice is addressed to the enterprise.
    let intake = task_of(&app, &window, &case_no, "accept").await;
    let accepted = act(
        &app,
        &window,
        intake,
        json!({ "action": "accept", "opinion": "承诺制受理" }),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    let notice = page(
        &app,
        &format!("/cases/{key}/notices/granted"),
        &representative,
    )
    .await;
    assert_eq!(notice.status, StatusCode::OK, "{}", notice.body);
    assert_eq!(
        between(&notice.body, r#"id="notice-to">"#, "<"),
        "合肥味道餐饮管理有限公司"
    );
    assert!(
        notice.body.contains("你单位于")
            && notice.body.contains(&format!("统一社会信用代码：{uscc}"))
    );
    let disclosed = get(&app, "/disclosures").await;
    assert!(
        disclosed.body.contains("<td>合肥味道餐饮管理有限公司</td>"),
        "enterprise names are published in full"
    );
}

db_test!(guessing_progress_pairs_is_slowed_down);

async fn guessing_progress_pairs_is_slowed_down(t: &TestDb) {
    let app = app(state(t).await);
    let form = get(&app, "/progress").await;
    let csrf = csrf_of(&form.body);
    let cookie = format!("yw_csrf={csrf}");
    let guess = || {
        Request::post("/progress")
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={csrf}&case_no=340100202602130100001&code=AAAAAAAA"
            )))
            .unwrap()
    };
    // The default policy allows 20 failures per address in 15 minutes.
    for _ in 0..20 {
        assert_eq!(
            send(&app, guess()).await.status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let slowed = send(&app, guess()).await;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        get(&app, "/progress").await.status == StatusCode::OK,
        "the form itself stays available"
    );
}
