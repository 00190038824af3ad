//! A caller without the right gets the same answer whether the thing exists or not: a table of routes
//! (no-show, tasks, catalog review, import, sessions, bookings, cases, tickets, windows, enterprises,
//! material files, tokens) walked by an outsider — a citizen and a staff member of an unrelated
//! department — against a real target of the demo and one that does not exist.

use serde_json::{Value, json};
use yiwang_db::testing::TestDb;
use yiwang_demo::{DEMO_LOGINS, DEMO_PASSWORD};

use super::client::{Reply, request};
use super::nodes::{Node, load_demo, login};
use super::{count, scalar_text};

/// The same shape as `existing` (length, kind of characters) but naming nothing.
fn missing(existing: &str) -> String {
    if let Ok(id) = existing.parse::<i64>() {
        return (id + 987_654_321).to_string();
    }
    let mut text: Vec<char> = existing.chars().collect();
    for c in text.iter_mut().rev().take(4) {
        *c = match *c {
            '0' => '1',
            '9' => '8',
            c if c.is_ascii_digit() => '0',
            'a' => 'b',
            c if c.is_ascii_lowercase() => 'a',
            'A' => 'B',
            _ => 'A',
        };
    }
    text.into_iter().collect()
}

/// What a refusal says: status and error code.
fn refusal(reply: &Reply) -> (u16, String) {
    let code = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    (reply.status, code)
}

/// Targets that are public anyway — catalog items (their guide is `GET /api/v1/items/{id}`) and
/// hall windows and doctors (listed on the booking pages and the hall board) — so a 403 for a real
/// one tells an outsider nothing a visitor cannot read; the refusal must still be a 4xx and change
/// nothing, but need not look like the answer for a missing one.
const PUBLIC_TARGETS: &[(&str, &str, &str)] = &[
    ("staff", "POST", "/api/v1/items/{}/approve"),
    ("staff", "POST", "/api/v1/items/{}/reject"),
    ("staff", "POST", "/api/v1/items/{}/draft"),
    ("staff", "POST", "/api/v1/items/{}/submit"),
    ("staff", "POST", "/api/v1/queue/windows/{}/call-next"),
    ("staff", "GET", "/api/v1/queue/windows/{}/ticket"),
    ("staff", "PUT", "/api/v1/appointments/resources/{}"),
];

async fn outsiders_learn_nothing(t: &TestDb) {
    walk(t).await;
}

/// Walk the table: every route refuses the outsider, alike for real and missing targets (public
/// targets: refused).
async fn walk(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    load_demo(&t.url, dir.path()).await;
    let node = Node::start("node", &t.url, dir.path()).await;
    let addr = node.addr.clone();
    let citizen_login =
        |who: usize| json!({"login": DEMO_LOGINS[who].mobile, "password": DEMO_PASSWORD});
    // The owner: 张晓明 (his session, his API token). The outsiders: 王丽华 (his enterprise's agent,
    // so his personal things only) and 陈雨桐, window staff of 合肥市公安局 (hf-gaj).
    let owner = login(&addr, "/api/v1/auth/login", citizen_login(0)).await;
    let citizen = login(&addr, "/api/v1/auth/login", citizen_login(1)).await;
    let staff = login(
        &addr,
        "/api/v1/staff/login",
        json!({"employee_no": "GA0101", "password": DEMO_PASSWORD}),
    )
    .await;
    let sessions = request(&addr, "GET", "/api/v1/me/sessions", Some(&owner), None).await;
    let session = sessions.json().as_array().unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = request(
        &addr,
        "POST",
        "/api/v1/me/tokens",
        Some(&owner),
        Some(&json!({"name": "outsider test", "scopes": ["profile:read"], "expires_in_days": 30})),
    )
    .await;
    assert_eq!(token.status, 201, "{}", token.body);
    let token = token.json()["id"].as_str().unwrap().to_owned();

    let not_theirs = "(SELECT id FROM departments WHERE code = 'hf-gaj')";
    let booking = count(
        &t.db,
        "SELECT MIN(b.id) FROM appt_bookings b JOIN persons p ON p.id = b.person_id WHERE p.name <> '王丽华'",
    )
    .await
    .to_string();
    let task = count(
        &t.db,
        &format!(
            "SELECT MIN(id) FROM case_tasks WHERE status = 'open' AND department_id <> {not_theirs}"
        ),
    )
    .await
    .to_string();
    let item = count(
        &t.db,
        &format!("SELECT MIN(id) FROM catalog_items WHERE department_id <> {not_theirs}"),
    )
    .await
    .to_string();
    let case = scalar_text(
        &t.db,
        &format!(
            "SELECT MIN(c.public_id) FROM cases c JOIN persons p ON p.id = c.applicant_person_id \
             WHERE p.name <> '王丽华' AND c.enterprise_id IS NULL AND c.case_no IS NOT NULL \
             AND c.department_id <> {not_theirs}"
        ),
    )
    .await;
    let case_no = scalar_text(
        &t.db,
        &format!("SELECT case_no FROM cases WHERE public_id = '{case}'"),
    )
    .await;
    let ticket = count(&t.db, "SELECT MIN(id) FROM appt_tickets")
        .await
        .to_string();
    let window = count(&t.db, "SELECT MIN(id) FROM appt_resources")
        .await
        .to_string();
    let enterprise = scalar_text(&t.db, "SELECT MIN(public_id) FROM enterprises").await;
    let file = scalar_text(
        &t.db,
        "SELECT MIN(f.public_id) FROM material_files f JOIN persons p ON p.id = f.owner_person_id WHERE p.name <> '王丽华'",
    )
    .await;

    // (who, method, path with `{}` for the target, the target, body)
    let remark = json!({"note": "核查", "reason": "核查", "approve": true, "action": "accept", "opinion": "同意"});
    let table: Vec<(&str, &str, &str, String, Option<Value>)> = vec![
        (
            "citizen",
            "DELETE",
            "/api/v1/me/sessions/{}",
            session.clone(),
            None,
        ),
        (
            "staff",
            "DELETE",
            "/api/v1/me/sessions/{}",
            session.clone(),
            None,
        ),
        (
            "citizen",
            "DELETE",
            "/api/v1/me/tokens/{}",
            token.clone(),
            None,
        ),
        (
            "citizen",
            "POST",
            "/api/v1/appointments/bookings/{}/no-show",
            booking.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/appointments/bookings/{}/no-show",
            booking.clone(),
            None,
        ),
        (
            "citizen",
            "GET",
            "/api/v1/appointments/bookings/{}",
            booking.clone(),
            None,
        ),
        (
            "staff",
            "GET",
            "/api/v1/appointments/bookings/{}",
            booking.clone(),
            None,
        ),
        (
            "citizen",
            "POST",
            "/api/v1/appointments/bookings/{}/cancel",
            booking.clone(),
            None,
        ),
        (
            "citizen",
            "GET",
            "/api/v1/appointments/bookings/{}/ics",
            booking.clone(),
            None,
        ),
        (
            "citizen",
            "POST",
            "/api/v1/tasks/{}/claim",
            task.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/tasks/{}/claim",
            task.clone(),
            None,
        ),
        (
            "staff",
            "DELETE",
            "/api/v1/tasks/{}/claim",
            task.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/tasks/{}/act",
            task.clone(),
            Some(remark.clone()),
        ),
        (
            "staff",
            "POST",
            "/api/v1/tasks/{}/resume",
            task.clone(),
            Some(remark.clone()),
        ),
        (
            "citizen",
            "POST",
            "/api/v1/items/{}/approve",
            item.clone(),
            Some(json!({})),
        ),
        (
            "staff",
            "POST",
            "/api/v1/items/{}/approve",
            item.clone(),
            Some(json!({})),
        ),
        (
            "staff",
            "POST",
            "/api/v1/items/{}/reject",
            item.clone(),
            Some(remark.clone()),
        ),
        (
            "staff",
            "POST",
            "/api/v1/items/{}/draft",
            item.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/items/{}/submit",
            item.clone(),
            None,
        ),
        ("citizen", "GET", "/api/v1/cases/{}", case.clone(), None),
        ("citizen", "GET", "/api/v1/cases/{}", case_no.clone(), None),
        ("staff", "GET", "/api/v1/cases/{}", case.clone(), None),
        (
            "citizen",
            "POST",
            "/api/v1/cases/{}/withdraw",
            case.clone(),
            Some(remark.clone()),
        ),
        (
            "citizen",
            "POST",
            "/api/v1/cases/{}/resubmit",
            case.clone(),
            Some(json!({})),
        ),
        (
            "staff",
            "POST",
            "/api/v1/cases/{}/extension",
            case.clone(),
            Some(remark.clone()),
        ),
        (
            "staff",
            "POST",
            "/api/v1/cases/{}/extension/decision",
            case.clone(),
            Some(remark.clone()),
        ),
        ("citizen", "GET", "/api/v1/materials/{}", file.clone(), None),
        ("staff", "GET", "/api/v1/materials/{}", file.clone(), None),
        (
            "staff",
            "POST",
            "/api/v1/queue/tickets/{}/start",
            ticket.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/queue/tickets/{}/skip",
            ticket.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/queue/tickets/{}/finish",
            ticket.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/queue/windows/{}/call-next",
            window.clone(),
            None,
        ),
        (
            "staff",
            "GET",
            "/api/v1/queue/windows/{}/ticket",
            window.clone(),
            None,
        ),
        (
            "staff",
            "PUT",
            "/api/v1/appointments/resources/{}",
            window.clone(),
            Some(json!({})),
        ),
        (
            "staff",
            "GET",
            "/api/v1/enterprises/{}",
            enterprise.clone(),
            None,
        ),
        (
            "staff",
            "POST",
            "/api/v1/enterprises/{}/agents",
            enterprise.clone(),
            Some(json!({"login": DEMO_LOGINS[1].mobile})),
        ),
    ];
    let mut failures = Vec::new();
    for (who, method, template, target, body) in &table {
        let caller = if *who == "citizen" { &citizen } else { &staff };
        let real = request(
            &addr,
            method,
            &template.replace("{}", target),
            Some(caller),
            body.as_ref(),
        )
        .await;
        let fake = request(
            &addr,
            method,
            &template.replace("{}", &missing(target)),
            Some(caller),
            body.as_ref(),
        )
        .await;
        let what = format!("{who} {method} {template} ({target})");
        // Refused (a 4xx: 403, 404, or the same 422 as for anything not theirs), and alike.
        if !(400..500).contains(&real.status) {
            failures.push(format!(
                "{what}: the outsider got {} {}",
                real.status, real.body
            ));
        } else if !PUBLIC_TARGETS.contains(&(*who, *method, *template))
            && refusal(&real) != refusal(&fake)
        {
            failures.push(format!(
                "{what}: {:?} for the real one, {:?} for one that does not exist",
                refusal(&real),
                refusal(&fake)
            ));
        }
    }
    // Import: whoever may not import is refused before the file is read, good file or bad.
    for who in [&citizen, &staff] {
        let good = request(
            &addr,
            "POST",
            "/api/v1/catalog/import?format=json",
            Some(who),
            Some(&json!([])),
        )
        .await;
        let bad = request(
            &addr,
            "POST",
            "/api/v1/catalog/import?format=xml",
            Some(who),
            Some(&json!("garbage")),
        )
        .await;
        if refusal(&good) != refusal(&bad) || good.status != 403 {
            failures.push(format!(
                "import: {:?} / {:?}",
                refusal(&good),
                refusal(&bad)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "outsiders learned something:\n{}",
        failures.join("\n")
    );
    // Nothing the outsiders did changed the owner's session.
    assert_eq!(
        request(&addr, "GET", "/api/v1/me", Some(&owner), None)
            .await
            .status,
        200
    );
    node.stop().await;
}
yiwang_db::db_test!(outsiders_learn_nothing);
