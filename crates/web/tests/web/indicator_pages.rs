//! The indicator pages on both backends: an instant case concluded at 合肥市市场监督管理局's window
//! in February 2026 and rated 非常满意 gives the department 100% on-time, first-time, online and
//! satisfaction rates; its window staff see the figures, the scoreboard and the SVG charts; a
//! supervisor sees the region's departments and downloads the scoreboard as CSV; refused periods
//! answer 422 on their field and show nothing else; citizens get 403, visitors the log-in page.
//! The same figures over `/api/v1/indicators` and `/api/v1/indicators/scoreboard` (JSON and CSV).

use axum::http::StatusCode;
use serde_json::json;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;

use crate::appointment_pages::User;
use crate::ratings_api::{World, concluded_case, world};
use crate::staff::call;
use crate::support::{Reply, get};

fn assert_status(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

/// A concluded case of 张晓明 rated 非常满意.
async fn rated_case(w: &World) {
    let case = concluded_case(w, &w.applicant).await;
    let rated = call(
        &w.app,
        "POST",
        "/api/v1/ratings",
        Some(&w.applicant),
        Some(
            json!({ "event": { "kind": "case", "id": case }, "level": 1, "tags": [], "text": "" }),
        ),
    )
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
}

/// The text of the element with `id` (up to its first tag), as the tests read figures.
fn text_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find('<').unwrap();
    html[start..end].to_owned()
}

/// The cells (`<td>`) of the table row with `id`.
fn cells_of(html: &str, id: &str) -> Vec<String> {
    let at = html
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("no row {id}"));
    let end = at + html[at..].find("</tr>").unwrap();
    html[at..end]
        .split("<td")
        .skip(1)
        .map(|c| {
            let start = c.find('>').unwrap() + 1;
            c[start..].split('<').next().unwrap().to_owned()
        })
        .collect()
}

db_test!(
    staff_see_indicators_scoreboard_and_charts,
    refused_periods_answer_on_their_field,
    scoreboard_csv_has_one_row_per_department,
    only_staff_see_indicators,
    indicators_over_the_api
);

async fn staff_see_indicators_scoreboard_and_charts(t: &TestDb) {
    let w = world(t).await;
    rated_case(&w).await;
    let clerk = User::from_token(&w.app, &w.window).await;

    // The workspace links the page.
    let workspace = clerk.get(&w.app, "/staff/departments/hf-scjgj").await;
    assert_status(&workspace, StatusCode::OK, "workspace");
    workspace.assert_has(r#"a#indicators-link[href="/staff/indicators"]"#, "a link");

    // This month (the test clock's February 2026) by default.
    let page = clerk.get(&w.app, "/staff/indicators").await;
    assert_status(&page, StatusCode::OK, "indicators");
    page.assert_has(r#"input#month[value="2026-02"]"#, "this month");
    for text in [
        "绩效指标与排行",
        "按时办结率",
        "满意率",
        "平均办理用时",
        "小时",
        "分钟",
        "指标说明与计算公式",
        "合肥市市场监督管理局",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    assert!(!page.body.contains("rating.page."), "no raw keys");
    page.assert_has("details#formulas", "the formulas");
    page.assert_has("table#indicators", "the indicator table");
    // Only the department's own line for its window staff.
    assert!(!page.body.contains("id=\"line-hf-mzj\""));
    let cells = cells_of(&page.body, "line-hf-scjgj");
    // received, concluded, on-time, handling, allowed, ratio, first-time, online, instant,
    // ratings, satisfaction, bad, bad on time, no-show, wait avg, wait p90.
    assert_eq!(cells.len(), 16, "{cells:?}");
    assert_eq!(cells[0], "1", "received");
    assert_eq!(cells[1], "1", "concluded");
    assert_eq!(cells[2], "100.0%", "on time");
    assert_eq!(cells[6], "100.0%", "first time");
    assert_eq!(cells[7], "100.0%", "online");
    assert_eq!(cells[8], "100.0%", "instant");
    assert_eq!(cells[9], "1", "ratings");
    assert_eq!(cells[10], "100.0%", "satisfaction");
    assert_eq!(cells[11], "0", "no 差评");
    assert_eq!(cells[12], "—", "差评按时整改率 undefined");
    assert_eq!(cells[13], "—", "no bookings");
    assert_eq!(cells[14], "—", "no tickets");
    assert_eq!(cells_of(&page.body, "line-total")[0], "1");

    // The scoreboard: rank 1, score 100, no previous month, level trend with its words.
    page.assert_has("table#scoreboard", "the scoreboard");
    let score = cells_of(&page.body, "score-hf-scjgj");
    assert_eq!(score[0], "1", "rank");
    assert_eq!(score[1], "100.0", "score");
    assert_eq!(score[2], "—", "no score in January");
    assert!(page.body.contains(
        "<span aria-hidden=\"true\">→</span><span class=\"visually-hidden\">持平</span>"
    ));
    page.assert_has(
        r#"a#csv-link[href="/staff/indicators/scoreboard.csv?month=2026-02"]"#,
        "the CSV",
    );

    // Both charts, inline SVG named by their titles.
    for id in ["score-chart", "rates-chart"] {
        let svg = page.select(&format!(r#"svg#{id}[role=img][width="100%"]"#));
        assert_eq!(svg.len(), 1, "the chart {id}");
        assert_eq!(
            svg[0].attr("aria-labelledby"),
            Some(format!("{id}-title {id}-desc").as_str())
        );
        page.assert_has(&format!("title#{id}-title"), "its title");
    }
    assert_eq!(
        text_of(&page.body, "score-chart-title"),
        "2026-02 各部门综合得分"
    );
    assert_eq!(
        text_of(&page.body, "rates-chart-title"),
        "各部门按时办结率与满意率"
    );
    assert!(page.body.contains("viewBox=\"0 0 390 "));

    // Per item and per region.
    let items = clerk
        .get(&w.app, "/staff/indicators?month=2026-02&by=item")
        .await;
    assert_status(&items, StatusCode::OK, "by item");
    items.assert_has("option[value=item][selected]", "the grouping kept");
    let regions = clerk
        .get(&w.app, "/staff/indicators?month=2026-02&by=region")
        .await;
    assert_status(&regions, StatusCode::OK, "by region");
    assert_eq!(cells_of(&regions.body, "line-340100")[0], "1");

    // A range: the figures, and the scoreboard only per month.
    let range = clerk
        .get(&w.app, "/staff/indicators?from=2026-01-01&to=2026-03-31")
        .await;
    assert_status(&range, StatusCode::OK, "range");
    assert!(range.body.contains("2026-01-01 – 2026-03-31"));
    assert_eq!(cells_of(&range.body, "line-hf-scjgj")[1], "1");
    range.assert_lacks("table#scoreboard", "no scoreboard for a range");
    range.assert_has("p#board-month-only", "why");

    // Another month has no figures: "—" for the rates.
    let january = clerk.get(&w.app, "/staff/indicators?month=2026-01").await;
    assert_status(&january, StatusCode::OK, "January");
    let cells = cells_of(&january.body, "line-hf-scjgj");
    assert_eq!((cells[0].as_str(), cells[2].as_str()), ("0", "—"));

    // English.
    let en = crate::support::get_with(
        &w.app,
        "/staff/indicators?month=2026-02",
        &[("cookie", &format!("{}; yw_lang=en", clerk.cookie))],
    )
    .await;
    assert_status(&en, StatusCode::OK, "English");
    assert!(en.body.contains("On-time rate"));
    assert!(
        en.body
            .contains("<span class=\"visually-hidden\">Level</span>")
    );
}

async fn refused_periods_answer_on_their_field(t: &TestDb) {
    let w = world(t).await;
    let clerk = User::from_token(&w.app, &w.window).await;
    for (uri, field, words) in [
        (
            "/staff/indicators?month=2026-13",
            "month",
            "月份格式应为 YYYY-MM",
        ),
        (
            "/staff/indicators?month=2026-02-01x",
            "month",
            "月份格式应为 YYYY-MM",
        ),
        (
            "/staff/indicators?from=2026-1-1&to=2026-02-01",
            "from",
            "开始日期格式",
        ),
        (
            "/staff/indicators?from=2026-03-02&to=2026-03-01",
            "to",
            "不早于开始日期",
        ),
        ("/staff/indicators?from=2026-02-01", "to", "结束日期格式"),
        (
            "/staff/indicators?from=2025-01-01&to=2026-01-02",
            "to",
            "最长 366 天",
        ),
        (
            "/staff/indicators?month=2026-02&by=weekday",
            "by",
            "统计维度",
        ),
    ] {
        let page = clerk.get(&w.app, uri).await;
        assert_status(&page, StatusCode::UNPROCESSABLE_ENTITY, uri);
        page.assert_has(&format!("span#{field}-error"), uri);
        assert!(
            text_of(&page.body, &format!("{field}-error")).contains(words),
            "{uri}"
        );
        page.assert_has(".error-summary", "the summary");
        page.assert_lacks("table#indicators", "nothing else");
        page.assert_lacks("table#scoreboard", "nothing else");
        page.assert_lacks("svg", "nothing else");
    }
    // The longest range is fine: 366 days.
    let year = clerk
        .get(&w.app, "/staff/indicators?from=2025-01-01&to=2026-01-01")
        .await;
    assert_status(&year, StatusCode::OK, "366 days");
    // A department outside the clerk's scope is refused.
    let other = clerk
        .get(&w.app, "/staff/indicators?month=2026-02&dept=hf-mzj")
        .await;
    assert_status(&other, StatusCode::FORBIDDEN, "another department");
    let own = clerk
        .get(&w.app, "/staff/indicators?month=2026-02&dept=hf-scjgj")
        .await;
    assert_status(&own, StatusCode::OK, "own department");
}

async fn scoreboard_csv_has_one_row_per_department(t: &TestDb) {
    let w = world(t).await;
    rated_case(&w).await;
    let supervisor = User::from_token(&w.app, &w.supervisor).await;

    // The supervisor sees the region's departments (合肥市: 民政局 and 市场监督管理局).
    let page = supervisor
        .get(&w.app, "/staff/indicators?month=2026-02")
        .await;
    assert_status(&page, StatusCode::OK, "supervisor's page");
    let departments = page.body.matches("<tr id=\"score-").count();
    assert_eq!(departments, 2, "the region's departments");
    assert_eq!(cells_of(&page.body, "score-hf-scjgj")[0], "1");
    assert_eq!(cells_of(&page.body, "score-hf-mzj")[1], "—", "no score");
    assert!(!page.body.contains("kbs-mzj"), "another region");

    let csv = supervisor
        .get(&w.app, "/staff/indicators/scoreboard.csv?month=2026-02")
        .await;
    assert_status(&csv, StatusCode::OK, "CSV");
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"scoreboard-2026-02.csv\""
    );
    assert!(csv.body.starts_with('\u{feff}'), "the byte-order mark");
    let lines: Vec<&str> = csv.body.trim_end().split("\r\n").collect();
    assert!(
        lines[0]
            .starts_with("\u{feff}排名,部门编码,部门,综合得分,上月得分,趋势,收件,办结,按时办结率"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 1 + departments, "{lines:?}");
    assert!(
        lines[1].starts_with("1,hf-scjgj,合肥市市场监督管理局,100.0,,→,1,1,100.0%"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",hf-mzj,合肥市民政局,"), "{}", lines[2]);

    // This month by default; a bad month is 422.
    let default = supervisor
        .get(&w.app, "/staff/indicators/scoreboard.csv")
        .await;
    assert_status(&default, StatusCode::OK, "default month");
    assert!(
        default
            .header("content-disposition")
            .contains("scoreboard-2026-02.csv")
    );
    for month in ["2026-13", "2026-02-01", "x"] {
        let bad = supervisor
            .get(
                &w.app,
                &format!("/staff/indicators/scoreboard.csv?month={month}"),
            )
            .await;
        assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, month);
    }
}

async fn only_staff_see_indicators(t: &TestDb) {
    let w = world(t).await;
    let citizen = User::from_token(&w.app, &w.applicant).await;
    for uri in [
        "/staff/indicators",
        "/staff/indicators?month=2026-13",
        "/staff/indicators/scoreboard.csv?month=2026-02",
    ] {
        assert_status(&citizen.get(&w.app, uri).await, StatusCode::FORBIDDEN, uri);
        let visitor = get(&w.app, uri).await;
        assert_status(&visitor, StatusCode::SEE_OTHER, uri);
        assert!(visitor.header("location").starts_with("/login"), "{uri}");
    }
}

async fn indicators_over_the_api(t: &TestDb) {
    let w = world(t).await;
    rated_case(&w).await;
    let json_of =
        |reply: &Reply| -> serde_json::Value { serde_json::from_str(&reply.body).unwrap() };

    // The window staff's own department, this month by default, counts and rates.
    let mine = call(&w.app, "GET", "/api/v1/indicators", Some(&w.window), None).await;
    assert_status(&mine, StatusCode::OK, "indicators");
    let mine = json_of(&mine);
    assert_eq!(mine["from"], "2026-02-01");
    assert_eq!(mine["to"], "2026-02-28");
    assert_eq!(mine["by"], "department");
    let rows = mine["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the own department: {rows:?}");
    let line = &rows[0];
    assert_eq!(line["key"], "hf-scjgj");
    assert_eq!(line["name"], "合肥市市场监督管理局");
    for (field, value) in [
        ("received", json!(1)),
        ("concluded", json!(1)),
        ("on_time", json!(1)),
        ("ratings", json!(1)),
        ("satisfied", json!(1)),
        ("bad", json!(0)),
        ("on_time_rate", json!(1.0)),
        ("first_time_rate", json!(1.0)),
        ("online_share", json!(1.0)),
        ("satisfaction_rate", json!(1.0)),
        ("bad_on_time_rate", json!(null)),
        ("no_show_rate", json!(null)),
        ("wait_p90_secs", json!(null)),
        ("score", json!(100.0)),
    ] {
        assert_eq!(line[field], value, "{field}");
    }
    assert_eq!(mine["total"]["received"], 1);

    // A range by region; another month is empty.
    let range = call(
        &w.app,
        "GET",
        "/api/v1/indicators?by=region&from=2026-01-01&to=2026-03-31",
        Some(&w.window),
        None,
    )
    .await;
    assert_status(&range, StatusCode::OK, "range");
    let range = json_of(&range);
    assert_eq!(range["by"], "region");
    assert_eq!(range["rows"][0]["key"], "340100");
    assert_eq!(range["rows"][0]["concluded"], 1);
    let january = call(
        &w.app,
        "GET",
        "/api/v1/indicators?month=2026-01",
        Some(&w.window),
        None,
    )
    .await;
    let january = json_of(&january);
    assert_eq!(january["rows"][0]["received"], 0);
    assert_eq!(january["rows"][0]["on_time_rate"], json!(null));

    // The supervisor's scoreboard: the region's two departments ranked, as JSON and as CSV.
    let board = call(
        &w.app,
        "GET",
        "/api/v1/indicators/scoreboard?month=2026-02",
        Some(&w.supervisor),
        None,
    )
    .await;
    assert_status(&board, StatusCode::OK, "scoreboard");
    let board = json_of(&board);
    assert_eq!(board["month"], "2026-02");
    assert_eq!(board["previous_month"], "2026-01");
    let lines = board["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["rank"], 1);
    assert_eq!(lines[0]["indicators"]["key"], "hf-scjgj");
    assert_eq!(lines[0]["score"], json!(100.0));
    assert_eq!(lines[0]["trend"], "level");
    assert_eq!(lines[1]["score"], json!(null));
    let csv = call(
        &w.app,
        "GET",
        "/api/v1/indicators/scoreboard?month=2026-02&format=csv",
        Some(&w.supervisor),
        None,
    )
    .await;
    assert_status(&csv, StatusCode::OK, "CSV");
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.body
            .contains("1,hf-scjgj,合肥市市场监督管理局,100.0,,→,1,1,100.0%")
    );

    // Bad input answers 422 on its field; a department outside the scope 403; citizens 403.
    for (uri, field) in [
        ("/api/v1/indicators?by=street", "by"),
        ("/api/v1/indicators?month=2026-13", "month"),
        ("/api/v1/indicators?from=2026-03-01&to=2026-02-01", "to"),
        ("/api/v1/indicators?from=2020-01-01&to=2026-01-01", "range"),
        ("/api/v1/indicators?from=2026-01-01", "to"),
        (
            "/api/v1/indicators?department=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "department",
        ),
        ("/api/v1/indicators/scoreboard?format=pdf", "format"),
    ] {
        let bad = call(&w.app, "GET", uri, Some(&w.supervisor), None).await;
        assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, uri);
        assert_eq!(json_of(&bad)["error"]["field"], field, "{uri}");
    }
    let other = call(
        &w.app,
        "GET",
        "/api/v1/indicators?department=hf-mzj",
        Some(&w.window),
        None,
    )
    .await;
    assert_status(&other, StatusCode::FORBIDDEN, "another department");
    for uri in ["/api/v1/indicators", "/api/v1/indicators/scoreboard"] {
        let citizen = call(&w.app, "GET", uri, Some(&w.applicant), None).await;
        assert_status(&citizen, StatusCode::FORBIDDEN, uri);
        let visitor = call(&w.app, "GET", uri, None, None).await;
        assert_status(&visitor, StatusCode::UNAUTHORIZED, uri);
    }
}
