//! The staff case page: item, applicant (masked), answers, materials, deadlines, tasks, history with
//! opinions, links to the notices, and the forms to act on a task the staff member holds (the
//! actions the step offers, with opinion, supplement list or special procedure), to resume a special
//! procedure, return an unanswered case, ask for the extension and decide it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use yiwang_cases::model::{
    Act, ActInput, CaseId, CaseStatus, ExtensionState, Outcome, SpecialKind, TaskId, TaskKind,
    TaskStatus,
};
use yiwang_cases::workflow::StepAction;
use yiwang_cases::{CaseError, CaseView, Origin};
use yiwang_identity::model::ClientMeta;
use yiwang_identity::policy::{Action, Principal, authorize};

use super::{DueView, due_view, refusal, status_name, with_status};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::see_other;
use crate::portal::render;
use crate::prefs::encode_component;
use crate::state::AppState;

fn origin(meta: &ClientMeta) -> Origin {
    Origin {
        ip: meta.ip.clone(),
    }
}

async fn case_id(state: &AppState, principal: &Principal, key: &str) -> Result<CaseId, AppError> {
    state
        .cases()
        .find(principal, key)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug)]
struct Fact {
    label: &'static str,
    value: String,
}

#[derive(Debug)]
struct MaterialRow {
    material: String,
    name: String,
    href: String,
    size_kb: u64,
}

#[derive(Debug)]
struct TaskRow {
    step_name: String,
    post_name: String,
    status: &'static str,
    status_code: &'static str,
    claimed_by: String,
    opened_at: String,
    due_at: String,
    result: String,
    opinion: String,
    acted: String,
}

#[derive(Debug)]
struct EventRow {
    at: String,
    actor: String,
    action: String,
    step_name: String,
    note: String,
    details: Vec<String>,
    public: bool,
}

#[derive(Debug)]
struct ActionChoice {
    code: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Debug)]
struct Check {
    value: String,
    checked: bool,
}

/// The form to act on one task.
#[derive(Debug)]
struct ActForm {
    task_id: i64,
    title: String,
    claimed: bool,
    actions: Vec<ActionChoice>,
    /// The step offers 补正: the checklist of the item's materials.
    supplement: bool,
    materials: Vec<Check>,
    /// The step offers 特别程序.
    special: bool,
    special_kinds: Vec<ActionChoice>,
    opinion: String,
    missing_other: String,
    special_until: String,
    /// The refusal of the last attempt, shown at the form.
    refused: Option<String>,
}

/// A waiting task the staff member may resume (特别程序) or return (补正 period over).
#[derive(Debug)]
struct WaitForm {
    task_id: i64,
    step_name: String,
}

#[derive(Debug)]
struct NoticeLink {
    href: String,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "workbench/case.html")]
#[expect(
    clippy::struct_excessive_bools,
    reason = "what the page offers, one flag each"
)]
struct CasePage {
    page: PageCtx,
    csrf: String,
    key: String,
    case_no: String,
    item_name: String,
    facts: Vec<Fact>,
    due: Option<DueView>,
    deadlines: Vec<Fact>,
    answers: Vec<(String, String)>,
    materials: Vec<MaterialRow>,
    /// 免提交: materials fulfilled by the applicant's e-licence (material, identifier, link).
    licences: Vec<(String, String, String)>,
    tasks: Vec<TaskRow>,
    events: Vec<EventRow>,
    notices: Vec<NoticeLink>,
    act_forms: Vec<ActForm>,
    resume: Vec<WaitForm>,
    can_return: bool,
    can_request_extension: bool,
    can_decide_extension: bool,
    extension_reason: String,
    done: bool,
    /// A refusal not tied to one task's form (resume, return, extension).
    refused: Option<String>,
}

/// What was posted, to show again with a refusal.
#[derive(Debug, Default)]
struct Kept {
    task: Option<i64>,
    action: String,
    opinion: String,
    missing: Vec<String>,
    missing_other: String,
    special_kind: String,
    special_until: String,
}

fn action_label(tr: Tr, code: &str) -> &'static str {
    tr.t(&format!("workbench.action.{code}"))
}

fn event_details(page: &PageCtx, detail: &serde_json::Value) -> Vec<String> {
    let tr = page.tr;
    let mut out = Vec::new();
    if let Some(list) = detail.get("missing").and_then(serde_json::Value::as_array) {
        let items: Vec<&str> = list.iter().filter_map(serde_json::Value::as_str).collect();
        if !items.is_empty() {
            out.push(format!(
                "{}{}",
                tr.t("workbench.case.history_missing"),
                items.join("；")
            ));
        }
    }
    if let (Some(kind), Some(until)) = (
        detail.get("kind").and_then(serde_json::Value::as_str),
        detail.get("until").and_then(serde_json::Value::as_str),
    ) {
        out.push(tr.fmt(
            "workbench.case.history_special",
            &[
                ("kind", tr.t(&format!("workbench.special.{kind}"))),
                ("until", until),
            ],
        ));
    }
    if let Some(n) = detail
        .get("stopped_days")
        .and_then(serde_json::Value::as_u64)
    {
        out.push(tr.fmt("workbench.case.history_stopped", &[("n", &n.to_string())]));
    }
    if let Some(n) = detail.get("days").and_then(serde_json::Value::as_u64) {
        out.push(tr.fmt("workbench.case.history_extension", &[("n", &n.to_string())]));
    }
    out
}

fn notice_links(view: &CaseView) -> Vec<NoticeLink> {
    let case = &view.case;
    let key = &case.public_id;
    let mut kinds: Vec<(&str, &'static str)> = Vec::new();
    if case.accepted_at.is_some() {
        kinds.push(("accepted", "workbench.case.notice_accepted"));
    }
    if view.events.iter().any(|e| e.action == "supplement") {
        kinds.push(("supplement", "workbench.case.notice_supplement"));
    }
    match case.outcome {
        Some(Outcome::Declined) => kinds.push(("declined", "workbench.case.notice_declined")),
        Some(Outcome::Granted | Outcome::Voided) => {
            kinds.push(("granted", "workbench.case.notice_granted"));
        }
        Some(Outcome::Denied) => kinds.push(("denied", "workbench.case.notice_denied")),
        _ => {}
    }
    kinds
        .into_iter()
        .map(|(kind, label)| NoticeLink {
            href: format!("/cases/{key}/notices/{kind}"),
            label,
        })
        .collect()
}

/// Render the case page; `kept` and `refused` bring back a refused form.
#[expect(clippy::too_many_lines, reason = "one page, assembled in one place")]
#[expect(clippy::too_many_arguments, reason = "the page and what to show again")]
async fn show(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    key: &str,
    meta: &ClientMeta,
    kept: &Kept,
    refused: Option<(StatusCode, String)>,
    done: bool,
) -> Result<Response, AppError> {
    let principal = who.principal.clone();
    let id = case_id(state, &principal, key).await?;
    let view = state.cases().view(&principal, id, &origin(meta)).await?;
    let tr = page.tr;
    let case = &view.case;
    let case_key = case
        .case_no
        .clone()
        .unwrap_or_else(|| case.public_id.clone());
    let my_id = match &principal {
        Principal::Staff(s) => Some(s.id),
        _ => None,
    };

    let mut facts = vec![
        Fact {
            label: tr.t("workbench.case.item"),
            value: format!("{}（{}）", case.item_name, case.item_code),
        },
        Fact {
            label: tr.t("workbench.case.department"),
            value: case.department_name.clone(),
        },
        Fact {
            label: tr.t("workbench.case.applicant"),
            value: case.applicant.name.clone(),
        },
        Fact {
            label: tr.t("workbench.case.applicant_id"),
            value: case.applicant.id_masked.clone(),
        },
        Fact {
            label: tr.t("workbench.case.channel"),
            value: tr
                .t(&format!("workbench.case.channel_{}", case.channel.code()))
                .to_owned(),
        },
        Fact {
            label: tr.t("workbench.case.status"),
            value: status_name(tr, case.status).to_owned(),
        },
        Fact {
            label: tr.t("workbench.case.workflow_version"),
            value: view.workflow.version_no.to_string(),
        },
    ];
    if let Some(outcome) = case.outcome {
        facts.push(Fact {
            label: tr.t("workbench.case.outcome"),
            value: tr
                .t(&format!("workbench.outcome.{}", outcome.code()))
                .to_owned(),
        });
    }
    if !case.decision_note.is_empty() {
        facts.push(Fact {
            label: tr.t("workbench.case.decision_note"),
            value: case.decision_note.clone(),
        });
    }

    let mut deadlines = Vec::new();
    let mut push_at = |label: &str, at: Option<chrono::DateTime<chrono::Utc>>| {
        if let Some(at) = at {
            deadlines.push(Fact {
                label: tr.t(label),
                value: page.local_time(&at),
            });
        }
    };
    push_at("workbench.case.accept_due", case.accept_due_at);
    push_at("workbench.case.decision_due", case.decision_due_at);
    push_at("workbench.case.supplement_due", case.supplement_due_at);
    push_at("workbench.case.verify_due", case.verify_due_at);
    if let Some(since) = case.suspended_at {
        deadlines.push(Fact {
            label: tr.t("workbench.case.deadlines"),
            value: tr.fmt(
                "workbench.case.stopped_since",
                &[("at", &page.local_time(&since))],
            ),
        });
    }
    if let Some(until) = case.special_until {
        deadlines.push(Fact {
            label: tr.t("workbench.case.special_until"),
            value: until.format("%Y-%m-%d").to_string(),
        });
    }
    if case.extension != ExtensionState::None {
        deadlines.push(Fact {
            label: tr.t("workbench.case.extension"),
            value: tr.fmt(
                &format!("workbench.extension.{}", case.extension.code()),
                &[("n", &case.extension_days.to_string())],
            ),
        });
        if !case.extension_reason.is_empty() {
            deadlines.push(Fact {
                label: tr.t("workbench.case.extension_reason"),
                value: case.extension_reason.clone(),
            });
        }
    }
    let due = case
        .running_deadline()
        .map(|d| due_view(&page, state, case.warning, Some(d)));

    let materials = view
        .materials
        .iter()
        .map(|m| MaterialRow {
            material: m.material.clone(),
            name: m.file.name.clone(),
            href: format!(
                "/staff/cases/{}/materials/{}",
                encode_component(&case_key),
                m.file.public_id
            ),
            size_kb: m.file.size.div_ceil(1024),
        })
        .collect();
    let licences = state
        .cases()
        .case_licences(&principal, id)
        .await?
        .into_iter()
        .map(|(material, identifier)| {
            let href = format!(
                "/staff/cases/{}/licence?material={}",
                encode_component(&case_key),
                encode_component(&material)
            );
            (material, identifier, href)
        })
        .collect();

    let tasks = view
        .tasks
        .iter()
        .map(|t| TaskRow {
            step_name: t.step_name.clone(),
            post_name: t.post_name.clone(),
            status: tr.t(&format!("workbench.task_status.{}", t.status.code())),
            status_code: t.status.code(),
            claimed_by: t.claimed_by_name.clone().unwrap_or_default(),
            opened_at: page.local_time(&t.opened_at),
            due_at: t.due_at.map(|d| page.local_time(&d)).unwrap_or_default(),
            result: t
                .result
                .as_deref()
                .map(|r| action_label(tr, r).to_owned())
                .unwrap_or_default(),
            opinion: t.opinion.clone(),
            acted: match (&t.acted_by_name, t.acted_at) {
                (Some(name), Some(at)) => format!("{name} · {}", page.local_time(&at)),
                _ => String::new(),
            },
        })
        .collect();

    let events = view
        .events
        .iter()
        .map(|e| EventRow {
            at: page.local_time(&e.at),
            actor: e.actor_name.clone(),
            action: tr
                .get(&format!("workbench.event.{}", e.action))
                .map_or_else(|| e.action.clone(), str::to_owned),
            step_name: e.step_name.clone(),
            note: e.note.clone(),
            details: event_details(&page, &e.detail),
            public: e.public,
        })
        .collect();

    // The forms for the tasks this person can act on now.
    let (task_refusal, mut page_refusal) = match (&refused, kept.task) {
        (Some((_, message)), Some(_)) => (Some(message.clone()), None),
        (Some((_, message)), None) => (None, Some(message.clone())),
        (None, _) => (None, None),
    };
    let material_names: Vec<String> = view
        .item_version
        .content
        .materials
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let mut act_forms = Vec::new();
    let mut resume = Vec::new();
    let mut can_return = false;
    for task in view
        .tasks
        .iter()
        .filter(|t| view.actionable.contains(&t.id))
    {
        let this = kept.task == Some(task.id.get());
        match task.status {
            TaskStatus::Open => {
                let offered: Vec<&'static str> = match task.kind {
                    TaskKind::Step => view
                        .workflow
                        .definition
                        .step(&task.step_id)
                        .map(|s| s.offered().into_iter().map(StepAction::code).collect())
                        .unwrap_or_default(),
                    TaskKind::Deliver => vec!["conclude"],
                    TaskKind::Verify => vec!["verify_confirmed", "verify_failed"],
                };
                let title_key = if task.kind == TaskKind::Verify {
                    "workbench.case.verify_title"
                } else {
                    "workbench.case.act_title"
                };
                act_forms.push(ActForm {
                    task_id: task.id.get(),
                    title: tr.fmt(title_key, &[("step", &task.step_name)]),
                    claimed: task.claimed_by.is_some() && task.claimed_by == my_id,
                    supplement: offered.contains(&"supplement"),
                    special: offered.contains(&"special"),
                    actions: offered
                        .iter()
                        .map(|code| ActionChoice {
                            code,
                            label: action_label(tr, code),
                            // Nothing is chosen for the clerk: a consequential action is
                            // always a deliberate choice.
                            checked: this && kept.action == *code,
                        })
                        .collect(),
                    materials: material_names
                        .iter()
                        .map(|m| Check {
                            value: m.clone(),
                            checked: this && kept.missing.contains(m),
                        })
                        .collect(),
                    special_kinds: SpecialKind::ALL
                        .iter()
                        .map(|k| ActionChoice {
                            code: k.code(),
                            label: tr.t(&format!("workbench.special.{}", k.code())),
                            checked: this && kept.special_kind == k.code(),
                        })
                        .collect(),
                    opinion: if this {
                        kept.opinion.clone()
                    } else {
                        String::new()
                    },
                    missing_other: if this {
                        kept.missing_other.clone()
                    } else {
                        String::new()
                    },
                    special_until: if this {
                        kept.special_until.clone()
                    } else {
                        String::new()
                    },
                    refused: if this { task_refusal.clone() } else { None },
                });
            }
            TaskStatus::Waiting if case.status == CaseStatus::Suspended => resume.push(WaitForm {
                task_id: task.id.get(),
                step_name: task.step_name.clone(),
            }),
            TaskStatus::Waiting if case.status == CaseStatus::Supplement => {
                can_return = case
                    .supplement_due_at
                    .is_some_and(|due| state.clock().now() > due);
            }
            _ => {}
        }
    }
    // A refusal for a task this person has no form for (not their post, already done) is shown at
    // the top of the page.
    if page_refusal.is_none() && !act_forms.iter().any(|f| f.refused.is_some()) {
        page_refusal = task_refusal;
    }
    let holds_open = view
        .tasks
        .iter()
        .any(|t| t.status == TaskStatus::Open && view.actionable.contains(&t.id));
    let can_request_extension = holds_open
        && matches!(case.status, CaseStatus::InReview | CaseStatus::Suspended)
        && case.extension == ExtensionState::None;
    let can_decide_extension = case.extension == ExtensionState::Requested
        && authorize(
            &principal,
            &Action::ApproveExtension {
                department: case.department_id,
                requested_by: case.extension_requested_by,
            },
        )
        .is_ok();

    let status = refused.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let response = render(&CasePage {
        csrf: who.user.session.csrf_token.clone(),
        key: case_key,
        case_no: case.case_no.clone().unwrap_or_default(),
        item_name: case.item_name.clone(),
        facts,
        due,
        deadlines,
        answers: view.answers.clone(),
        materials,
        licences,
        tasks,
        events,
        notices: notice_links(&view),
        act_forms,
        resume,
        can_return,
        can_request_extension,
        can_decide_extension,
        extension_reason: case.extension_reason.clone(),
        done,
        refused: page_refusal,
        page,
    })?;
    Ok(with_status(response, status))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CaseQuery {
    done: String,
}

pub(super) async fn case_page(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, AppError> {
    show(
        &state,
        page,
        &who,
        &key,
        &meta,
        &Kept::default(),
        None,
        query.done == "1",
    )
    .await
}

/// A material file of the case, for staff who may see the case.
pub(super) async fn material(
    State(state): State<AppState>,
    Caller { principal, .. }: PageStaff,
    IdPath((key, file)): IdPath<(String, String)>,
) -> Result<Response, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let (file, content) = state
        .cases()
        .file_content(&principal, Some(id), &file)
        .await?;
    let mut response = content.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        encode_component(&file.name)
    )) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// `?material=`: which material's licence the reviewer opens.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct LicenceQuery {
    material: String,
}

/// The e-licence that fulfils a material of the case (免提交), read by a reviewer who may see the
/// case through the grant the application made; the read is logged with the case number.
pub(super) async fn licence(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Query(query): Query<LicenceQuery>,
) -> Result<Response, AppError> {
    if query.material.is_empty() || query.material.chars().nth(200).is_some() {
        return Err(AppError::Invalid {
            field: "material".to_owned(),
            code: "query_invalid".to_owned(),
            message: "material: 1 to 200 characters".to_owned(),
        });
    }
    let id = case_id(&state, &who.principal, &key).await?;
    let licence = state
        .cases()
        .read_case_licence(
            &who.principal,
            id,
            &query.material,
            &format!("web:{}", meta.ip),
        )
        .await?;
    crate::portal::licences::staff::case_licence_page(
        page,
        &state,
        &who,
        &licence,
        format!("/staff/cases/{}", encode_component(&key)),
    )
    .await
}

/// The case page again after a change (POST/redirect/GET).
fn changed(key: &str) -> Response {
    see_other(&format!("/staff/cases/{}?done=1", encode_component(key)))
}

/// After a change was refused: the page with the message (and the form as it was), or the error
/// page for what is not a refusal.
async fn refused_or_error(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    key: &str,
    meta: &ClientMeta,
    kept: &Kept,
    error: CaseError,
) -> Result<Response, AppError> {
    match refusal(page.tr, &error) {
        Some(refused) => show(state, page, who, key, meta, kept, Some(refused), false).await,
        None => Err(error.into()),
    }
}

/// The act form: repeated `missing` checkboxes, so read as pairs.
fn act_form(pairs: Vec<(String, String)>) -> Kept {
    let mut kept = Kept::default();
    for (key, value) in pairs {
        match key.as_str() {
            "action" => kept.action = value,
            "opinion" => kept.opinion = value,
            "missing" => kept.missing.push(value),
            "missing_other" => kept.missing_other = value,
            "special_kind" => kept.special_kind = value,
            "special_until" => kept.special_until = value,
            _ => {}
        }
    }
    kept
}

/// The engine's act from the form, or the refusal message of an unreadable field.
fn parse_act(tr: Tr, kept: &Kept) -> Result<(Act, ActInput), String> {
    let act = match kept.action.as_str() {
        "" => return Err(tr.t("errors.action_required").to_owned()),
        "conclude" => Act::Conclude,
        "verify_confirmed" => Act::Verify { confirmed: true },
        "verify_failed" => Act::Verify { confirmed: false },
        other => Act::Step(
            StepAction::parse(other).ok_or_else(|| tr.t("errors.action_invalid").to_owned())?,
        ),
    };
    let special = if act == Act::Step(StepAction::Special) {
        match (
            SpecialKind::parse(&kept.special_kind),
            NaiveDate::parse_from_str(kept.special_until.trim(), "%Y-%m-%d"),
        ) {
            (Some(kind), Ok(until)) => Some((kind, until)),
            _ => None,
        }
    } else {
        None
    };
    let mut missing: Vec<String> = kept.missing.clone();
    missing.extend(
        kept.missing_other
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
    );
    Ok((
        act,
        ActInput {
            opinion: kept.opinion.clone(),
            missing,
            special,
        },
    ))
}

pub(super) async fn act(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath((key, task)): IdPath<(String, TaskId)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut kept = act_form(pairs);
    kept.task = Some(task.get());
    let (act, input) = match parse_act(page.tr, &kept) {
        Ok(parsed) => parsed,
        Err(message) => {
            return show(
                &state,
                page,
                &who,
                &key,
                &meta,
                &kept,
                Some((StatusCode::UNPROCESSABLE_ENTITY, message)),
                false,
            )
            .await;
        }
    };
    match state
        .cases()
        .act(&who.principal, task, &act, &input, &origin(&meta))
        .await
    {
        Ok(_) => Ok(changed(&key)),
        Err(e) => refused_or_error(&state, page, &who, &key, &meta, &kept, e).await,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct NoteForm {
    note: String,
    reason: String,
    decision: String,
}

pub(super) async fn resume(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath((key, task)): IdPath<(String, TaskId)>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, AppError> {
    match state
        .cases()
        .end_special(&who.principal, task, &form.note, &origin(&meta))
        .await
    {
        Ok(_) => Ok(changed(&key)),
        Err(e) => refused_or_error(&state, page, &who, &key, &meta, &Kept::default(), e).await,
    }
}

pub(super) async fn return_case(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfForm(_form): CsrfForm<NoteForm>,
) -> Result<Response, AppError> {
    let id = case_id(&state, &who.principal, &key).await?;
    match state
        .cases()
        .return_case(&who.principal, id, &origin(&meta))
        .await
    {
        Ok(_) => Ok(changed(&key)),
        Err(e) => refused_or_error(&state, page, &who, &key, &meta, &Kept::default(), e).await,
    }
}

pub(super) async fn request_extension(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, AppError> {
    let id = case_id(&state, &who.principal, &key).await?;
    match state
        .cases()
        .request_extension(&who.principal, id, &form.reason, &origin(&meta))
        .await
    {
        Ok(_) => Ok(changed(&key)),
        Err(e) => refused_or_error(&state, page, &who, &key, &meta, &Kept::default(), e).await,
    }
}

pub(super) async fn decide_extension(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, AppError> {
    let id = case_id(&state, &who.principal, &key).await?;
    let approve = form.decision == "approve";
    match state
        .cases()
        .decide_extension(&who.principal, id, approve, &form.note, &origin(&meta))
        .await
    {
        Ok(_) => Ok(changed(&key)),
        Err(e) => refused_or_error(&state, page, &who, &key, &meta, &Kept::default(), e).await,
    }
}
