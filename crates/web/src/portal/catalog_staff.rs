//! Staff pages of the service catalog (事项库): the items of one's department and the review queue;
//! creating an item; an item's versions with drafting, submitting and a second person's review (the
//! readable difference, publish or send back); the draft form covering every element of an item, with
//! line-based lists and template uploads; and, for platform administrators, import and export.
//!
//! Authorization is the catalog service's: these handlers only decide what to offer on a page.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::IgnoredAny;
use yiwang_catalog::diff::{Change, diff};
use yiwang_catalog::model::{
    AdminLevel, AudienceType, CaseType, Faq, Fee, FileRef, HandlingForm, ItemContent, ItemId,
    ItemKind, ItemStatus, ItemVersion, Material, OnlineDepth, Problem, THEMES, ThemeAudience,
    VersionState, Yuan, find_theme, impl_code_problem,
};
use yiwang_catalog::service::ImportReport;
use yiwang_catalog::transfer::{CSV_COLUMNS, Format};
use yiwang_catalog::{CatalogError, Origin};
use yiwang_identity::IdentityError;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::{ErrorCode, TimeLimit, TimeUnit};

use crate::api::catalog::{download, file_url, limit_text};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, CsrfMultipart, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::account::{FormErrors, identity_message, message_for, see_other};
use crate::portal::render;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/catalog", get(list))
        .route("/staff/catalog/new", get(new_form).post(create))
        .route("/staff/catalog/transfer", get(transfer).post(import))
        .route("/staff/catalog/export", get(export))
        .route("/staff/catalog/{id}", get(item_page))
        .route("/staff/catalog/{id}/draft", post(start_draft))
        .route("/staff/catalog/{id}/submit", post(submit))
        .route("/staff/catalog/{id}/review", post(review))
        .route("/staff/catalog/{id}/edit", get(edit_form).post(save))
        .route(
            "/staff/catalog/{id}/materials/{index}/{which}",
            post(upload),
        )
}

// ----- shared helpers -----

fn allowed(principal: &Principal, action: &Action<'_>) -> bool {
    authorize(principal, action).is_ok()
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The status of a refusal the user can act on (shown in the page), or `None` for a failure of the
/// platform or a request the user may not make at all (the error page).
fn refusal_status(error: &CatalogError) -> Option<StatusCode> {
    use CatalogError as E;
    match error {
        E::Invalid(_)
        | E::EffectiveInPast
        | E::NoteRequired
        | E::FileTooLarge { .. }
        | E::FileTypeRefused(_)
        | E::Unreadable(_)
        | E::ImportRejected(_)
        | E::UnknownDepartment(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
        E::ImplCodeTaken(_) | E::DraftExists | E::WrongState { .. } => Some(StatusCode::CONFLICT),
        E::SelfReview | E::Identity(IdentityError::Forbidden) => Some(StatusCode::FORBIDDEN),
        _ => None,
    }
}

/// The locale label of a content field ("materials[2]" is labelled as "materials").
fn field_label(tr: Tr, field: &str) -> &'static str {
    let base = field.split('[').next().unwrap_or(field);
    tr.get(&format!("catalog.field.{base}")).unwrap_or("")
}

/// "materials[2]" → ("materials", Some(2)).
fn split_field(field: &str) -> (&str, Option<usize>) {
    match field.split_once('[') {
        Some((base, rest)) => (base, rest.trim_end_matches(']').parse().ok()),
        None => (field, None),
    }
}

/// A broken rule in words: the field, the entry or line where there is one, and the reason.
fn problem_message(tr: Tr, problem: &Problem, lines: Option<&ListLines>) -> String {
    let (base, index) = split_field(&problem.field);
    let message = message_for(tr, problem.code, &problem.message);
    let label = field_label(tr, base);
    let line = index.and_then(|i| lines.and_then(|l| l.line_of(base, i)));
    match (line, index) {
        (Some(n), _) => tr.fmt(
            "catalog_staff.problem_line",
            &[
                ("field", label),
                ("n", &n.to_string()),
                ("message", &message),
            ],
        ),
        (None, Some(n)) => tr.fmt(
            "catalog_staff.problem_entry",
            &[
                ("field", label),
                ("n", &n.to_string()),
                ("message", &message),
            ],
        ),
        (None, None) if label.is_empty() => message,
        (None, None) => tr.fmt(
            "catalog_staff.problem",
            &[("field", label), ("message", &message)],
        ),
    }
}

/// Messages for a refused action, one per broken rule, in the visitor's language.
fn refusal_messages(tr: Tr, error: &CatalogError) -> Vec<String> {
    match error {
        CatalogError::Invalid(problems) => problems
            .iter()
            .map(|p| problem_message(tr, p, None))
            .collect(),
        CatalogError::Identity(e) => vec![identity_message(tr, e)],
        other => vec![message_for(tr, other.code(), &other.to_string())],
    }
}

/// Form errors for a refused save, each under the field it concerns.
fn refusal_form_errors(tr: Tr, error: &CatalogError, lines: Option<&ListLines>) -> FormErrors {
    match error {
        CatalogError::Invalid(problems) => in_form_order(FormErrors {
            items: problems
                .iter()
                .map(|p| {
                    let (base, _) = split_field(&p.field);
                    (form_anchor(base).to_owned(), problem_message(tr, p, lines))
                })
                .collect(),
        }),
        CatalogError::ImplCodeTaken(_) => FormErrors::one(
            "impl_code",
            message_for(tr, error.code(), &error.to_string()),
        ),
        other => FormErrors::one("form", refusal_messages(tr, other).join(" ")),
    }
}

/// Fields of the form, in the order the form shows them; each control has the field's name as its id
/// (error summaries link there and list errors in this order).
const ANCHORS: &[&str] = &[
    "impl_code",
    "department",
    "name",
    "short_name",
    "base_code",
    "kind",
    "level",
    "audience",
    "themes",
    "status",
    "keywords",
    "legal_basis",
    "conditions",
    "materials",
    "fees",
    "result",
    "case_type",
    "legal_limit",
    "promised_limit",
    "handling_forms",
    "online_depth",
    "visits",
    "place",
    "hours",
    "phone",
    "faq",
];

/// Errors in the order of the form's fields (those of the same field keep their order).
fn in_form_order(mut errors: FormErrors) -> FormErrors {
    errors.items.sort_by_key(|(field, _)| {
        ANCHORS
            .iter()
            .position(|a| a == field)
            .unwrap_or(ANCHORS.len())
    });
    errors
}

/// The id of the form control a field's error links to.
fn form_anchor(field: &str) -> &str {
    if ANCHORS.contains(&field) {
        field
    } else {
        "form"
    }
}

// ----- the line-based draft form -----

/// The draft form as typed: every element of an item's content as text, lists one entry per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentForm {
    pub name: String,
    pub short_name: String,
    pub base_code: String,
    pub kind: String,
    pub level: String,
    pub audience: Vec<String>,
    pub themes: Vec<String>,
    pub legal_basis: String,
    pub conditions: String,
    pub materials: String,
    pub legal_limit: String,
    pub legal_unit: String,
    pub promised_limit: String,
    pub promised_unit: String,
    pub case_type: String,
    pub fees: String,
    pub handling_forms: Vec<String>,
    pub visits: String,
    pub online_depth: Vec<String>,
    pub appointment: bool,
    pub postal_delivery: bool,
    pub place: String,
    pub hours: String,
    pub phone: String,
    pub faq: String,
    pub result: String,
    pub status: String,
    pub keywords: String,
    pub small_business: bool,
}

/// Words accepted for "yes" and "no" in the material lines' 必要 column.
const YES: &[&str] = &["是", "yes", "y", "true", "1", "必要", "必须", "必須"];
const NO: &[&str] = &["否", "no", "n", "false", "0", "非必要", "可选", "可選"];

/// One line of a list: its columns, split on `|` (or the full-width `｜`), trimmed.
fn columns(line: &str) -> Vec<&str> {
    line.split(['|', '｜']).map(str::trim).collect()
}

/// Text kept on one line of a list (an answer written over several lines becomes one).
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

impl ContentForm {
    /// A new item's form: the most common choices preset.
    pub fn blank() -> Self {
        Self {
            kind: ItemKind::Licensing.code().to_owned(),
            level: AdminLevel::Municipal.code().to_owned(),
            case_type: CaseType::Promised.code().to_owned(),
            status: ItemStatus::InUse.code().to_owned(),
            legal_unit: TimeUnit::WorkingDays.code().to_owned(),
            promised_unit: TimeUnit::WorkingDays.code().to_owned(),
            handling_forms: vec![HandlingForm::Window.code().to_owned()],
            ..Self::default()
        }
    }

    /// The form showing a version's content; `yes`/`no` are the words written in the 必要 column.
    pub fn from_content(c: &ItemContent, yes: &str, no: &str) -> Self {
        let limit = |l: Option<TimeLimit>| {
            l.map_or_else(
                || (String::new(), TimeUnit::WorkingDays.code().to_owned()),
                |l| (l.amount.to_string(), l.unit.code().to_owned()),
            )
        };
        let (legal_limit, legal_unit) = limit(c.legal_limit);
        let (promised_limit, promised_unit) = limit(c.promised_limit);
        Self {
            name: c.name.clone(),
            short_name: c.short_name.clone(),
            base_code: c.base_code.clone(),
            kind: c.kind.code().to_owned(),
            level: c.level.code().to_owned(),
            audience: c.audience.iter().map(|a| a.code().to_owned()).collect(),
            themes: c.themes.clone(),
            legal_basis: c.legal_basis.join("\n"),
            conditions: c.conditions.clone(),
            materials: c
                .materials
                .iter()
                .map(|m| {
                    format!(
                        "{} | {} | {} | {} | {} | {}",
                        one_line(&m.name),
                        one_line(&m.source),
                        m.original,
                        m.copies,
                        if m.mandatory { yes } else { no },
                        one_line(&m.note)
                    )
                    .trim_end_matches([' ', '|'])
                    .to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n"),
            legal_limit,
            legal_unit,
            promised_limit,
            promised_unit,
            case_type: c.case_type.code().to_owned(),
            fees: c
                .fees
                .iter()
                .map(|f| {
                    format!(
                        "{} | {} | {}",
                        one_line(&f.item),
                        f.amount_yuan.map(|y| y.to_string()).unwrap_or_default(),
                        one_line(&f.basis)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            handling_forms: c
                .handling_forms
                .iter()
                .map(|f| f.code().to_owned())
                .collect(),
            visits: c.visits.to_string(),
            online_depth: c.online_depth.iter().map(|d| d.code().to_owned()).collect(),
            appointment: c.appointment,
            postal_delivery: c.postal_delivery,
            place: c.place.clone(),
            hours: c.hours.clone(),
            phone: c.phone.clone(),
            faq: c
                .faq
                .iter()
                .map(|f| format!("{} | {}", one_line(&f.q), one_line(&f.a)))
                .collect::<Vec<_>>()
                .join("\n"),
            result: c.result.clone(),
            status: c.status.code().to_owned(),
            keywords: c.keywords.join("、"),
            small_business: c.small_business,
        }
    }

    /// The form as posted (checkbox groups repeat their key).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self::default();
        for (key, value) in pairs {
            let v = value.clone();
            match key.as_str() {
                "name" => f.name = v,
                "short_name" => f.short_name = v,
                "base_code" => f.base_code = v,
                "kind" => f.kind = v,
                "level" => f.level = v,
                "audience" => f.audience.push(v),
                "themes" => f.themes.push(v),
                "legal_basis" => f.legal_basis = v,
                "conditions" => f.conditions = v,
                "materials" => f.materials = v,
                "legal_limit" => f.legal_limit = v,
                "legal_unit" => f.legal_unit = v,
                "promised_limit" => f.promised_limit = v,
                "promised_unit" => f.promised_unit = v,
                "case_type" => f.case_type = v,
                "fees" => f.fees = v,
                "handling_forms" => f.handling_forms.push(v),
                "visits" => f.visits = v,
                "online_depth" => f.online_depth.push(v),
                "appointment" => f.appointment = true,
                "postal_delivery" => f.postal_delivery = true,
                "place" => f.place = v,
                "hours" => f.hours = v,
                "phone" => f.phone = v,
                "faq" => f.faq = v,
                "result" => f.result = v,
                "status" => f.status = v,
                "keywords" => f.keywords = v,
                "small_business" => f.small_business = true,
                _ => {}
            }
        }
        f
    }
}

/// Why a field or one line of a list could not be read. `code` names the message
/// `catalog_staff.parse.<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormProblem {
    pub field: &'static str,
    /// The line of a list field (1-based, as the textarea shows it).
    pub line: Option<usize>,
    pub code: &'static str,
}

/// Where each entry of the list fields came from, so the domain's "materials[2]" names a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListLines {
    pub materials: Vec<usize>,
    pub fees: Vec<usize>,
    pub faq: Vec<usize>,
}

impl ListLines {
    /// The textarea line of the `index`-th (1-based) entry of a list field.
    pub fn line_of(&self, field: &str, index: usize) -> Option<usize> {
        let lines = match field {
            "materials" => &self.materials,
            "fees" => &self.fees,
            "faq" => &self.faq,
            _ => return None,
        };
        lines.get(index.checked_sub(1)?).copied()
    }
}

/// Non-blank lines with their 1-based numbers.
fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

fn count(text: Option<&&str>, default: u32) -> Option<u32> {
    match text.map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => Some(default),
        Some(t) => t.parse().ok(),
    }
}

fn yes_no(text: Option<&&str>) -> Option<bool> {
    let t = text.map_or("", |t| t.trim()).to_lowercase();
    if t.is_empty() || YES.contains(&t.as_str()) {
        Some(true)
    } else if NO.contains(&t.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Materials, one per line: `名称 | 来源 | 原件份数 | 复印件份数 | 必要(是/否) | 备注`. Trailing columns
/// may be left out (one original, no copies, mandatory). A material whose name is unchanged keeps its
/// template and sample files.
pub fn parse_materials(
    text: &str,
    existing: &[Material],
    problems: &mut Vec<FormProblem>,
) -> (Vec<Material>, Vec<usize>) {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in numbered(text) {
        let cols = columns(line);
        let mut bad = |code| {
            problems.push(FormProblem {
                field: "materials",
                line: Some(n),
                code,
            });
        };
        let name = cols.first().copied().unwrap_or_default();
        if name.is_empty() {
            bad("material_name");
            continue;
        }
        let (Some(original), Some(copies)) = (count(cols.get(2), 1), count(cols.get(3), 0)) else {
            bad("count");
            continue;
        };
        let Some(mandatory) = yes_no(cols.get(4)) else {
            bad("yes_no");
            continue;
        };
        let kept = existing.iter().find(|m| m.name.trim() == name);
        out.push(Material {
            name: name.to_owned(),
            source: cols.get(1).copied().unwrap_or_default().to_owned(),
            original,
            copies,
            mandatory,
            note: cols
                .get(5..)
                .map(|rest| rest.join(" | "))
                .unwrap_or_default(),
            template: kept.and_then(|m| m.template.clone()),
            sample: kept.and_then(|m| m.sample.clone()),
        });
        lines.push(n);
    }
    (out, lines)
}

/// Fees, one per line: `项目 | 金额(元) | 依据`.
pub fn parse_fees(text: &str, problems: &mut Vec<FormProblem>) -> (Vec<Fee>, Vec<usize>) {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in numbered(text) {
        let cols = columns(line);
        let mut bad = |code| {
            problems.push(FormProblem {
                field: "fees",
                line: Some(n),
                code,
            });
        };
        if cols.len() < 3 {
            bad("fee_columns");
            continue;
        }
        let amount = cols[1].trim_end_matches(['元', '圓', '圆']).trim();
        // An empty amount: charged by a published standard that varies (the basis says which).
        let amount_yuan = if amount.is_empty() {
            None
        } else {
            let Some(yuan) = Yuan::parse(amount) else {
                bad("amount");
                continue;
            };
            Some(yuan)
        };
        out.push(Fee {
            item: cols[0].to_owned(),
            amount_yuan,
            basis: cols[2..].join(" | "),
        });
        lines.push(n);
    }
    (out, lines)
}

/// Questions, one per line: `问题 | 回答`.
pub fn parse_faq(text: &str, problems: &mut Vec<FormProblem>) -> (Vec<Faq>, Vec<usize>) {
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for (n, line) in numbered(text) {
        let cols = columns(line);
        if cols.len() < 2 {
            problems.push(FormProblem {
                field: "faq",
                line: Some(n),
                code: "faq_columns",
            });
            continue;
        }
        out.push(Faq {
            q: cols[0].to_owned(),
            a: cols[1..].join(" | "),
        });
        lines.push(n);
    }
    (out, lines)
}

/// Keywords separated by 、 or a comma (either width), or written one per line.
pub fn parse_keywords(text: &str) -> Vec<String> {
    text.split(['、', ',', '，', ';', '；', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

/// What a form says: the content (a field that could not be read keeps a neutral value), where each
/// list entry came from, and every field and line that could not be read.
#[derive(Debug, Clone)]
pub struct ReadForm {
    pub content: ItemContent,
    pub lines: ListLines,
    pub problems: Vec<FormProblem>,
}

/// The content a form describes, with where each list entry came from; or every field and line that
/// could not be read. Rules of the content itself (lengths, required elements) are the domain's.
pub fn parse_content(
    form: &ContentForm,
    existing_materials: &[Material],
) -> Result<(ItemContent, ListLines), Vec<FormProblem>> {
    let read = read_form(form, existing_materials);
    if read.problems.is_empty() {
        Ok((read.content, read.lines))
    } else {
        Err(read.problems)
    }
}

/// Read a form as far as it can be read (see [`ReadForm`]).
pub fn read_form(form: &ContentForm, existing_materials: &[Material]) -> ReadForm {
    let mut problems = Vec::new();
    let mut bad = |field: &'static str, code: &'static str| {
        problems.push(FormProblem {
            field,
            line: None,
            code,
        });
    };
    let kind = ItemKind::parse(form.kind.trim());
    let level = AdminLevel::parse(form.level.trim());
    let case_type = CaseType::parse(form.case_type.trim());
    let status = ItemStatus::parse(form.status.trim());
    for (field, ok) in [
        ("kind", kind.is_some()),
        ("level", level.is_some()),
        ("case_type", case_type.is_some()),
        ("status", status.is_some()),
    ] {
        if !ok {
            bad(field, "choice");
        }
    }
    let audience: Vec<_> = form
        .audience
        .iter()
        .filter_map(|c| AudienceType::parse(c))
        .collect();
    let handling_forms: Vec<_> = form
        .handling_forms
        .iter()
        .filter_map(|c| HandlingForm::parse(c))
        .collect();
    let online_depth: Vec<_> = form
        .online_depth
        .iter()
        .filter_map(|c| OnlineDepth::parse(c))
        .collect();
    for (field, read, sent) in [
        ("audience", audience.len(), form.audience.len()),
        (
            "handling_forms",
            handling_forms.len(),
            form.handling_forms.len(),
        ),
        ("online_depth", online_depth.len(), form.online_depth.len()),
    ] {
        if read != sent {
            bad(field, "choice");
        }
    }
    let mut limit = |field: &'static str, amount: &str, unit: &str| {
        let amount = amount.trim();
        if amount.is_empty() {
            return None;
        }
        let Ok(amount) = amount.parse::<u32>() else {
            bad(field, "number");
            return None;
        };
        let Some(unit) = TimeUnit::from_code(unit.trim()) else {
            bad(field, "choice");
            return None;
        };
        Some(TimeLimit::new(amount, unit))
    };
    let legal_limit = limit("legal_limit", &form.legal_limit, &form.legal_unit);
    let promised_limit = limit("promised_limit", &form.promised_limit, &form.promised_unit);
    let visits = match form.visits.trim() {
        "" => Some(0),
        t => t.parse::<u32>().ok(),
    };
    if visits.is_none() {
        bad("visits", "number");
    }
    let (materials, material_lines) =
        parse_materials(&form.materials, existing_materials, &mut problems);
    let (fees, fee_lines) = parse_fees(&form.fees, &mut problems);
    let (faq, faq_lines) = parse_faq(&form.faq, &mut problems);
    let content = ItemContent {
        name: form.name.trim().to_owned(),
        short_name: form.short_name.trim().to_owned(),
        base_code: form.base_code.trim().to_owned(),
        kind: kind.unwrap_or(ItemKind::Licensing),
        level: level.unwrap_or(AdminLevel::Municipal),
        audience,
        themes: form.themes.iter().map(|t| t.trim().to_owned()).collect(),
        legal_basis: numbered(&form.legal_basis)
            .map(|(_, l)| l.to_owned())
            .collect(),
        conditions: form.conditions.trim().to_owned(),
        materials,
        legal_limit,
        promised_limit,
        case_type: case_type.unwrap_or(CaseType::Other),
        fees,
        handling_forms,
        visits: visits.unwrap_or_default(),
        online_depth,
        appointment: form.appointment,
        postal_delivery: form.postal_delivery,
        place: form.place.trim().to_owned(),
        hours: form.hours.trim().to_owned(),
        phone: form.phone.trim().to_owned(),
        faq,
        result: form.result.trim().to_owned(),
        status: status.unwrap_or(ItemStatus::InUse),
        keywords: parse_keywords(&form.keywords),
        small_business: form.small_business,
    };
    ReadForm {
        content,
        lines: ListLines {
            materials: material_lines,
            fees: fee_lines,
            faq: faq_lines,
        },
        problems,
    }
}

/// Every error of a form that could not be read whole: what could not be read, and the content's
/// broken rules in the fields that could (so one round trip shows them all).
fn read_errors(tr: Tr, read: &ReadForm, mut rules: Vec<Problem>) -> FormErrors {
    let mut errors = parse_errors(tr, &read.problems);
    rules.extend(read.content.problems());
    rules.retain(|p| {
        let (base, _) = split_field(&p.field);
        !read.problems.iter().any(|r| r.field == base)
    });
    errors.items.extend(rules.iter().map(|p| {
        let (base, _) = split_field(&p.field);
        (
            form_anchor(base).to_owned(),
            problem_message(tr, p, Some(&read.lines)),
        )
    }));
    in_form_order(errors)
}

/// Form errors for what could not be read, each naming its field and line.
fn parse_errors(tr: Tr, problems: &[FormProblem]) -> FormErrors {
    in_form_order(FormErrors {
        items: problems
            .iter()
            .map(|p| {
                let message = tr.t(&format!("catalog_staff.parse.{}", p.code));
                let label = field_label(tr, p.field);
                let text = match p.line {
                    Some(n) => tr.fmt(
                        "catalog_staff.problem_line",
                        &[
                            ("field", label),
                            ("n", &n.to_string()),
                            ("message", message),
                        ],
                    ),
                    None => tr.fmt(
                        "catalog_staff.problem",
                        &[("field", label), ("message", message)],
                    ),
                };
                (p.field.to_owned(), text)
            })
            .collect(),
    })
}

/// One option of a select or checkbox group.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub on: bool,
}

/// Every option the form offers, with the form's choices marked.
#[derive(Debug, Clone)]
pub struct Choices {
    pub kinds: Vec<Choice>,
    pub levels: Vec<Choice>,
    pub audiences: Vec<Choice>,
    pub person_themes: Vec<Choice>,
    pub enterprise_themes: Vec<Choice>,
    pub case_types: Vec<Choice>,
    pub forms: Vec<Choice>,
    pub depths: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub legal_units: Vec<Choice>,
    pub promised_units: Vec<Choice>,
}

fn choices_of<T: Copy>(
    tr: Tr,
    all: &[T],
    code: impl Fn(T) -> &'static str,
    key: impl Fn(T) -> String,
    on: impl Fn(&str) -> bool,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: code(*v),
            label: tr.t(&key(*v)),
            on: on(code(*v)),
        })
        .collect()
}

impl Choices {
    fn new(tr: Tr, f: &ContentForm) -> Self {
        let has = |list: &[String], code: &str| list.iter().any(|c| c == code);
        let themes = |audience: ThemeAudience| {
            THEMES
                .iter()
                .filter(|t| t.audience == audience)
                .map(|t| Choice {
                    value: t.code,
                    label: tr.t(&t.name_key()),
                    on: has(&f.themes, t.code),
                })
                .collect()
        };
        let units = |chosen: &str| {
            choices_of(
                tr,
                &TimeUnit::ALL,
                TimeUnit::code,
                |u| format!("catalog_staff.unit.{}", u.code()),
                |c| c == chosen,
            )
        };
        Self {
            kinds: choices_of(
                tr,
                ItemKind::ALL,
                ItemKind::code,
                ItemKind::label_key,
                |c| c == f.kind,
            ),
            levels: choices_of(
                tr,
                AdminLevel::ALL,
                AdminLevel::code,
                AdminLevel::label_key,
                |c| c == f.level,
            ),
            audiences: choices_of(
                tr,
                AudienceType::ALL,
                AudienceType::code,
                AudienceType::label_key,
                |c| has(&f.audience, c),
            ),
            person_themes: themes(ThemeAudience::Person),
            enterprise_themes: themes(ThemeAudience::Enterprise),
            case_types: choices_of(
                tr,
                CaseType::ALL,
                CaseType::code,
                CaseType::label_key,
                |c| c == f.case_type,
            ),
            forms: choices_of(
                tr,
                HandlingForm::ALL,
                HandlingForm::code,
                HandlingForm::label_key,
                |c| has(&f.handling_forms, c),
            ),
            depths: choices_of(
                tr,
                OnlineDepth::ALL,
                OnlineDepth::code,
                OnlineDepth::label_key,
                |c| has(&f.online_depth, c),
            ),
            statuses: choices_of(
                tr,
                &ItemStatus::ALL,
                ItemStatus::code,
                |s| s.label_key().to_owned(),
                |c| c == f.status,
            ),
            legal_units: units(&f.legal_unit),
            promised_units: units(&f.promised_unit),
        }
    }
}

/// The content form with its options and errors, as both the new-item and the draft pages show it.
#[derive(Debug, Clone)]
pub struct Editor {
    pub form: ContentForm,
    pub choices: Choices,
    pub errors: FormErrors,
}

impl Editor {
    fn new(tr: Tr, form: ContentForm, errors: FormErrors) -> Self {
        Self {
            choices: Choices::new(tr, &form),
            form,
            errors,
        }
    }

    /// Every error of one field (a list may have several bad lines).
    pub fn errs(&self, field: &str) -> Vec<&str> {
        self.errors
            .items
            .iter()
            .filter(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
            .collect()
    }

    pub fn bad(&self, field: &str) -> bool {
        self.errors.for_field(field).is_some()
    }
}

// ----- 1. the staff member's items and the review queue -----

#[derive(Debug, Clone)]
struct ListRow {
    id: i64,
    name: String,
    impl_code: String,
    department: String,
    in_effect: String,
    open_state: Option<&'static str>,
    open_code: &'static str,
    author: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/list.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<ListRow>,
    queue: Vec<ListRow>,
    can_create: bool,
    can_manage: bool,
}

fn version_text(tr: Tr, version: Option<u32>) -> String {
    version.map_or_else(
        || tr.t("catalog_staff.not_published").to_owned(),
        |n| tr.fmt("catalog_staff.version_no", &[("n", &n.to_string())]),
    )
}

async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let items = state.catalog().staff_items(principal, false).await?;
    let tr = page.tr;
    let can_manage = allowed(principal, &Action::ManageCatalog);
    let can_create = match principal {
        Principal::Staff(s) => allowed(
            principal,
            &Action::EditCatalog {
                department: s.department,
            },
        ),
        _ => false,
    };
    let mut rows = Vec::with_capacity(items.len());
    let mut queue = Vec::new();
    for row in items {
        let department = row.item.department_id;
        let mut entry = ListRow {
            id: row.item.id.get(),
            name: row.name,
            impl_code: row.item.impl_code,
            department: row.item.department_name,
            in_effect: version_text(tr, row.item.current_version),
            open_state: row.open_state.map(|s| tr.t(&s.label_key())),
            open_code: row.open_state.map_or("", VersionState::code),
            author: String::new(),
        };
        // The queue: versions in review that this person may decide (never their own).
        if row.open_state == Some(VersionState::InReview)
            && allowed(
                principal,
                &Action::ReviewCatalog {
                    department,
                    author: None,
                },
            )
        {
            let (_, versions) = state.catalog().staff_item(principal, row.item.id).await?;
            let author = versions
                .iter()
                .find(|v| v.state == VersionState::InReview)
                .and_then(|v| v.author.clone());
            if allowed(
                principal,
                &Action::ReviewCatalog {
                    department,
                    author: author.as_ref().map(|a| a.id),
                },
            ) {
                entry.author = author.map(|a| a.name).unwrap_or_default();
                queue.push(entry.clone());
            }
        }
        rows.push(entry);
    }
    render(&ListPage {
        page,
        rows,
        queue,
        can_create,
        can_manage,
    })
}

// ----- 2. a new item -----

#[derive(Debug)]
struct DeptOption {
    code: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "catalog_staff/new.html")]
struct NewPage {
    page: PageCtx,
    csrf: String,
    impl_code: String,
    /// For platform administrators: every department to choose from.
    departments: Vec<DeptOption>,
    own_department: String,
    ed: Editor,
}

async fn new_page(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    impl_code: String,
    department: &str,
    ed: Editor,
) -> Result<NewPage, AppError> {
    let me = state.accounts().staff(who.session()).await?;
    let principal = &who.principal;
    let chosen = if department.is_empty() {
        me.department_code.as_str()
    } else {
        department
    };
    let departments = if allowed(principal, &Action::ManageCatalog) {
        yiwang_identity::service::departments(state.db(), "")
            .await?
            .into_iter()
            .map(|d| DeptOption {
                selected: d.code == chosen,
                code: d.code,
                name: d.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let own = yiwang_identity::service::department(state.db(), &me.department_code).await?;
    Ok(NewPage {
        page,
        csrf: who.session().csrf_token.clone(),
        impl_code,
        departments,
        own_department: own.name,
        ed,
    })
}

async fn new_form(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let me = state.accounts().staff(who.session()).await?;
    authorize(
        principal,
        &Action::EditCatalog {
            department: me.department_id,
        },
    )?;
    let ed = Editor::new(page.tr, ContentForm::blank(), FormErrors::default());
    render(&new_page(&state, page, &who, String::new(), "", ed).await?)
}

/// The value of a single form key.
fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let me = state.accounts().staff(who.session()).await?;
    let tr = page.tr;
    let impl_code = value_of(&pairs, "impl_code").trim().to_owned();
    let department_code = match value_of(&pairs, "department") {
        "" => me.department_code.clone(),
        chosen => chosen.to_owned(),
    };
    let form = ContentForm::from_pairs(&pairs);
    let show = |form: ContentForm, errors: FormErrors, status: StatusCode| {
        let state = state.clone();
        let page = page.clone();
        let who = who.clone();
        let impl_code = impl_code.clone();
        let department_code = department_code.clone();
        async move {
            let ed = Editor::new(tr, form, errors);
            let new = new_page(&state, page, &who, impl_code, &department_code, ed).await?;
            Ok::<_, AppError>(with_status(render(&new)?, status))
        }
    };
    let read = read_form(&form, &[]);
    if !read.problems.is_empty() {
        let rules = impl_code_problem(&impl_code).into_iter().collect();
        let errors = read_errors(tr, &read, rules);
        return show(form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let ReadForm { content, lines, .. } = read;
    let department = yiwang_identity::service::department(state.db(), &department_code).await?;
    match state
        .catalog()
        .create_item(
            principal,
            &impl_code,
            &department,
            &content,
            &Origin { ip: meta.ip },
        )
        .await
    {
        Ok(id) => Ok(see_other(&format!("/staff/catalog/{id}?created=1"))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                show(form, refusal_form_errors(tr, &error, Some(&lines)), status).await
            }
            _ => Err(error.into()),
        },
    }
}

// ----- 3. an item: versions, actions, review -----

#[derive(Debug)]
struct VersionRow {
    no: u32,
    state: &'static str,
    state_code: &'static str,
    effective: String,
    author: String,
    reviewer: String,
    change_note: String,
    review_note: String,
    in_effect: bool,
}

#[derive(Debug)]
struct ChangeRow {
    label: &'static str,
    before: String,
    after: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReviewForm {
    decision: String,
    effective_from: String,
    note: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/item.html")]
struct ItemPage {
    page: PageCtx,
    csrf: String,
    id: i64,
    impl_code: String,
    name: String,
    department: String,
    in_effect: String,
    versions: Vec<VersionRow>,
    open: Option<VersionRow>,
    can_edit: bool,
    can_review: bool,
    /// The open version is in review and this person wrote it.
    own_version: bool,
    changes: Vec<ChangeRow>,
    /// Which version the open one is compared with (none for an item never published).
    compared: Option<String>,
    review: ReviewForm,
    errors: Vec<String>,
    notice: Option<String>,
}

fn version_row(tr: Tr, v: &ItemVersion, current: Option<u32>) -> VersionRow {
    VersionRow {
        no: v.version_no,
        state: tr.t(&v.state.label_key()),
        state_code: v.state.code(),
        effective: v.effective_from.map(|d| d.to_string()).unwrap_or_default(),
        author: v
            .author
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        reviewer: v
            .reviewer
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        change_note: v.change_note.clone(),
        review_note: v.review_note.clone(),
        in_effect: current == Some(v.version_no),
    }
}

/// Code lists, limits and yes/no in the words of the visitor's language (the difference has codes).
fn readable(tr: Tr, field: &str, text: &str) -> String {
    let each = |f: &dyn Fn(&str) -> Option<String>| {
        text.lines()
            .map(|l| f(l).unwrap_or_else(|| l.to_owned()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let label = |key: String| Some(tr.t(&key).to_owned());
    match field {
        "kind" => each(&|c| ItemKind::parse(c).and_then(|v| label(v.label_key()))),
        "level" => each(&|c| AdminLevel::parse(c).and_then(|v| label(v.label_key()))),
        "audience" => each(&|c| AudienceType::parse(c).and_then(|v| label(v.label_key()))),
        "handling_forms" => each(&|c| HandlingForm::parse(c).and_then(|v| label(v.label_key()))),
        "online_depth" => each(&|c| OnlineDepth::parse(c).and_then(|v| label(v.label_key()))),
        "case_type" => each(&|c| CaseType::parse(c).and_then(|v| label(v.label_key()))),
        "status" => each(&|c| ItemStatus::parse(c).and_then(|v| label(v.label_key().to_owned()))),
        "themes" => each(&|c| find_theme(c).and_then(|t| label(t.name_key()))),
        "legal_limit" | "promised_limit" => each(&|l| {
            let (amount, unit) = l.split_once(' ')?;
            let limit = TimeLimit::new(amount.parse().ok()?, TimeUnit::from_code(unit.trim())?);
            limit_text(tr, Some(limit))
        }),
        "appointment" | "postal_delivery" | "small_business" => each(&|b| match b {
            "true" => Some(tr.t("catalog_staff.yes").to_owned()),
            "false" => Some(tr.t("catalog_staff.no").to_owned()),
            _ => None,
        }),
        // The difference writes an optional material as "（1/0, optional）".
        "materials" => text.replace(
            ", optional）",
            &format!("，{}）", tr.t("catalog_staff.optional")),
        ),
        _ => text.to_owned(),
    }
}

/// The whole content as changes from nothing, for an item that has never been published.
fn from_nothing(content: &ItemContent) -> Vec<Change> {
    let blank = ItemContent {
        name: String::new(),
        short_name: String::new(),
        base_code: String::new(),
        kind: content.kind,
        level: content.level,
        audience: Vec::new(),
        themes: Vec::new(),
        legal_basis: Vec::new(),
        conditions: String::new(),
        materials: Vec::new(),
        legal_limit: None,
        promised_limit: None,
        case_type: content.case_type,
        fees: Vec::new(),
        handling_forms: Vec::new(),
        visits: 0,
        online_depth: Vec::new(),
        appointment: false,
        postal_delivery: false,
        place: String::new(),
        hours: String::new(),
        phone: String::new(),
        faq: Vec::new(),
        result: String::new(),
        status: content.status,
        keywords: Vec::new(),
        small_business: false,
    };
    let mut changes = diff(&blank, content);
    // The code lists the blank had to share with the content are new too.
    for (field, code) in [
        ("kind", content.kind.code()),
        ("level", content.level.code()),
        ("case_type", content.case_type.code()),
        ("status", content.status.code()),
    ] {
        if let Some(field) = CSV_COLUMNS.iter().find(|c| **c == field) {
            changes.push(Change {
                field,
                before: String::new(),
                after: code.to_owned(),
            });
        }
    }
    let position = |f: &str| {
        CSV_COLUMNS
            .iter()
            .position(|c| *c == f)
            .unwrap_or(usize::MAX)
    };
    changes.sort_by_key(|c| position(c.field));
    changes
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemQuery {
    created: Option<String>,
    drafted: Option<String>,
    saved: Option<String>,
    submitted: Option<String>,
    published: Option<String>,
    rejected: Option<String>,
}

impl ItemQuery {
    fn notice(&self, tr: Tr) -> Option<String> {
        let key = if self.created.is_some() {
            "catalog_staff.notice_created"
        } else if self.drafted.is_some() {
            "catalog_staff.notice_drafted"
        } else if self.saved.is_some() {
            "catalog_staff.notice_saved"
        } else if self.submitted.is_some() {
            "catalog_staff.notice_submitted"
        } else if let Some(n) = &self.published {
            let n: u32 = n.parse().ok()?;
            return Some(tr.fmt("catalog_staff.notice_published", &[("n", &n.to_string())]));
        } else if self.rejected.is_some() {
            "catalog_staff.notice_rejected"
        } else {
            return None;
        };
        Some(tr.t(key).to_owned())
    }
}

async fn show_item(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    id: ItemId,
    review: ReviewForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<ItemPage, AppError> {
    let principal = &who.principal;
    let (item, versions) = state.catalog().staff_item(principal, id).await?;
    let tr = page.tr;
    let department = item.department_id;
    let open = versions.iter().find(|v| v.state.is_open());
    let author = open.and_then(|v| v.author.as_ref()).map(|a| a.id);
    let in_review = open.is_some_and(|v| v.state == VersionState::InReview);
    let can_review = in_review && allowed(principal, &Action::ReviewCatalog { department, author });
    let own_version = in_review && matches!(principal, Principal::Staff(s) if Some(s.id) == author);
    let (changes, compared_with) = match open {
        None => (Vec::new(), None),
        Some(open) => {
            let base = item.current_version.or_else(|| {
                versions
                    .iter()
                    .filter(|v| v.state == VersionState::Published)
                    .map(|v| v.version_no)
                    .max()
            });
            match base {
                Some(n) => (
                    state
                        .catalog()
                        .compare(id, n, open.version_no, true)
                        .await?,
                    Some(n),
                ),
                None => (from_nothing(&open.content), None),
            }
        }
    };
    let name = open
        .or_else(|| {
            versions
                .iter()
                .find(|v| Some(v.version_no) == item.current_version)
        })
        .or_else(|| versions.first())
        .map(|v| v.content.name.clone())
        .unwrap_or_default();
    let review = ReviewForm {
        effective_from: if review.effective_from.is_empty() {
            state.catalog().today().to_string()
        } else {
            review.effective_from
        },
        ..review
    };
    Ok(ItemPage {
        csrf: who.session().csrf_token.clone(),
        id: item.id.get(),
        impl_code: item.impl_code.clone(),
        name,
        department: item.department_name.clone(),
        in_effect: version_text(tr, item.current_version),
        versions: versions
            .iter()
            .map(|v| version_row(tr, v, item.current_version))
            .collect(),
        open: open.map(|v| version_row(tr, v, item.current_version)),
        can_edit: allowed(principal, &Action::EditCatalog { department }),
        can_review,
        own_version,
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                label: field_label(tr, c.field),
                before: readable(tr, c.field, &c.before),
                after: readable(tr, c.field, &c.after),
            })
            .collect(),
        compared: compared_with
            .map(|n| tr.fmt("catalog_staff.compared_with", &[("n", &n.to_string())])),
        review,
        errors,
        notice,
        page,
    })
}

async fn item_page(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<ItemQuery>,
) -> Result<Response, AppError> {
    let notice = query.notice(page.tr);
    let item = show_item(
        &state,
        page,
        &who,
        id,
        ReviewForm::default(),
        Vec::new(),
        notice,
    )
    .await?;
    render(&item)
}

/// The item page again with the reason an action was refused, or the error page when it is not the
/// user's to fix.
async fn refused(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    id: ItemId,
    review: ReviewForm,
    error: CatalogError,
) -> Result<Response, AppError> {
    let Some(status) = refusal_status(&error) else {
        return Err(error.into());
    };
    let errors = refusal_messages(page.tr, &error);
    let item = show_item(state, page, who, id, review, errors, None).await?;
    Ok(with_status(render(&item)?, status))
}

/// A one-button step on an item's open version.
#[derive(Debug, Clone, Copy)]
enum Step {
    StartDraft,
    Submit,
}

async fn start_draft(
    state: State<AppState>,
    page: PageCtx,
    client: Client,
    who: PageStaff,
    id: IdPath<ItemId>,
    form: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    step(state, page, client, who, id, form, Step::StartDraft).await
}

async fn submit(
    state: State<AppState>,
    page: PageCtx,
    client: Client,
    who: PageStaff,
    id: IdPath<ItemId>,
    form: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    step(state, page, client, who, id, form, Step::Submit).await
}

async fn step(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    _: CsrfForm<IgnoredAny>,
    step: Step,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let origin = Origin { ip: meta.ip };
    let done = match step {
        Step::StartDraft => state
            .catalog()
            .start_draft(principal, id, &origin)
            .await
            .map(|_| format!("/staff/catalog/{id}/edit?drafted=1")),
        Step::Submit => state
            .catalog()
            .submit(principal, id, &origin)
            .await
            .map(|()| format!("/staff/catalog/{id}?submitted=1")),
    };
    match done {
        Ok(next) => Ok(see_other(&next)),
        Err(error) => refused(&state, page, &who, id, ReviewForm::default(), error).await,
    }
}

async fn review(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let origin = Origin { ip: meta.ip };
    let result = if form.decision == "reject" {
        state
            .catalog()
            .reject(principal, id, &form.note, &origin)
            .await
            .map(|()| "rejected=1".to_owned())
    } else {
        let effective = match form.effective_from.trim() {
            "" => Some(None),
            text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Some),
        };
        let Some(effective) = effective else {
            let errors = vec![message_for(page.tr, "date_invalid", "a date is YYYY-MM-DD")];
            let item = show_item(&state, page, &who, id, form, errors, None).await?;
            return Ok(with_status(
                render(&item)?,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        };
        state
            .catalog()
            .approve(principal, id, effective, &form.note, &origin)
            .await
            .map(|n| format!("published={n}"))
    };
    match result {
        Ok(query) => Ok(see_other(&format!("/staff/catalog/{id}?{query}"))),
        Err(error) => refused(&state, page, &who, id, form, error).await,
    }
}

// ----- 4. the draft form, 5. template uploads -----

#[derive(Debug)]
struct FileLink {
    name: String,
    url: String,
}

impl FileLink {
    fn of(file: Option<&FileRef>) -> Option<Self> {
        file.map(|f| Self {
            name: f.name.clone(),
            url: file_url(f),
        })
    }
}

#[derive(Debug)]
struct MaterialFiles {
    index: usize,
    name: String,
    template: Option<FileLink>,
    sample: Option<FileLink>,
}

#[derive(Template)]
#[template(path = "catalog_staff/edit.html")]
struct EditPage {
    page: PageCtx,
    csrf: String,
    id: i64,
    impl_code: String,
    /// The saved draft's name (the form may hold an edited one).
    name: String,
    version: String,
    state_label: &'static str,
    review_note: String,
    change_note: String,
    ed: Editor,
    materials: Vec<MaterialFiles>,
    notice: Option<&'static str>,
    accept: String,
}

/// The open version if it can be edited (a draft, or one sent back), for someone who may edit it.
async fn editable(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
) -> Result<(yiwang_catalog::model::Item, Option<ItemVersion>), AppError> {
    let (item, versions) = state.catalog().staff_item(principal, id).await?;
    authorize(
        principal,
        &Action::EditCatalog {
            department: item.department_id,
        },
    )?;
    let open = versions
        .into_iter()
        .find(|v| matches!(v.state, VersionState::Draft | VersionState::Rejected));
    Ok((item, open))
}

#[expect(clippy::too_many_arguments, reason = "one page, its parts passed once")]
fn edit_page(
    page: PageCtx,
    who: &PageStaff,
    item: &yiwang_catalog::model::Item,
    open: &ItemVersion,
    form: ContentForm,
    change_note: String,
    errors: FormErrors,
    notice: Option<&'static str>,
) -> EditPage {
    let tr = page.tr;
    EditPage {
        csrf: who.session().csrf_token.clone(),
        id: item.id.get(),
        impl_code: item.impl_code.clone(),
        name: open.content.name.clone(),
        version: tr.fmt(
            "catalog_staff.version_no",
            &[("n", &open.version_no.to_string())],
        ),
        state_label: tr.t(&open.state.label_key()),
        review_note: if open.state == VersionState::Rejected {
            open.review_note.clone()
        } else {
            String::new()
        },
        change_note,
        ed: Editor::new(tr, form, errors),
        materials: open
            .content
            .materials
            .iter()
            .enumerate()
            .map(|(i, m)| MaterialFiles {
                index: i + 1,
                name: m.name.clone(),
                template: FileLink::of(m.template.as_ref()),
                sample: FileLink::of(m.sample.as_ref()),
            })
            .collect(),
        notice,
        accept: yiwang_catalog::service::FILE_TYPES
            .iter()
            .map(|(ext, _)| format!(".{ext}"))
            .collect::<Vec<_>>()
            .join(","),
        page,
    }
}

fn saved_form(tr: Tr, open: &ItemVersion) -> ContentForm {
    ContentForm::from_content(
        &open.content,
        tr.t("catalog_staff.yes"),
        tr.t("catalog_staff.no"),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EditQuery {
    drafted: Option<String>,
    uploaded: Option<String>,
}

async fn edit_form(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        return Ok(see_other(&format!("/staff/catalog/{id}")));
    };
    let notice = if query.uploaded.is_some() {
        Some("catalog_staff.notice_uploaded")
    } else if query.drafted.is_some() {
        Some("catalog_staff.notice_drafted")
    } else {
        None
    };
    let form = saved_form(page.tr, &open);
    let change_note = open.change_note.clone();
    render(&edit_page(
        page,
        &who,
        &item,
        &open,
        form,
        change_note,
        FormErrors::default(),
        notice,
    ))
}

async fn save(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        let error = CatalogError::WrongState {
            state: "in_review",
            action: "edited",
        };
        return refused(&state, page, &who, id, ReviewForm::default(), error).await;
    };
    let tr = page.tr;
    let form = ContentForm::from_pairs(&pairs);
    let change_note = value_of(&pairs, "change_note").to_owned();
    let read = read_form(&form, &open.content.materials);
    if !read.problems.is_empty() {
        let errors = read_errors(tr, &read, Vec::new());
        let edit = edit_page(page, &who, &item, &open, form, change_note, errors, None);
        return Ok(with_status(
            render(&edit)?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let ReadForm { content, lines, .. } = read;
    match state
        .catalog()
        .save_draft(
            principal,
            id,
            &content,
            &change_note,
            &Origin { ip: meta.ip },
        )
        .await
    {
        Ok(()) => Ok(see_other(&format!("/staff/catalog/{id}?saved=1"))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                let errors = refusal_form_errors(tr, &error, Some(&lines));
                let edit = edit_page(page, &who, &item, &open, form, change_note, errors, None);
                Ok(with_status(render(&edit)?, status))
            }
            _ => Err(error.into()),
        },
    }
}

async fn upload(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((id, index, which)): IdPath<(ItemId, usize, String)>,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let upload = upload.single();
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        return Ok(see_other(&format!("/staff/catalog/{id}")));
    };
    if !matches!(which.as_str(), "template" | "sample")
        || index == 0
        || index > open.content.materials.len()
    {
        return Err(AppError::NotFound);
    }
    let origin = Origin { ip: meta.ip };
    let (name, bytes) = upload.file.unwrap_or_default();
    let result = match state
        .catalog()
        .upload_file(principal, &name, &bytes, &origin)
        .await
    {
        Ok(file) => {
            let mut content = open.content.clone();
            if let Some(material) = content.materials.get_mut(index - 1) {
                if which == "template" {
                    material.template = Some(file);
                } else {
                    material.sample = Some(file);
                }
            }
            state
                .catalog()
                .save_draft(principal, id, &content, &open.change_note, &origin)
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/staff/catalog/{id}/edit?uploaded=1#files"
        ))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                let tr = page.tr;
                let mut errors = refusal_form_errors(tr, &error, None);
                for entry in &mut errors.items {
                    entry.0 = format!("file-{index}-{which}");
                }
                let form = saved_form(tr, &open);
                let note = open.change_note.clone();
                let edit = edit_page(page, &who, &item, &open, form, note, errors, None);
                Ok(with_status(render(&edit)?, status))
            }
            _ => Err(error.into()),
        },
    }
}

// ----- 6. import and export (platform administrators) -----

#[derive(Debug)]
struct BadRow {
    row: usize,
    impl_code: String,
    field: String,
    code: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/transfer.html")]
struct TransferPage {
    page: PageCtx,
    csrf: String,
    report: Option<ImportReport>,
    rows: Vec<BadRow>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TransferQuery {
    created: Option<usize>,
    updated: Option<usize>,
    unchanged: Option<usize>,
}

/// Import and export are for platform administrators only.
fn manager(who: &PageStaff) -> Result<(), AppError> {
    Ok(authorize(&who.principal, &Action::ManageCatalog)?)
}

async fn transfer(
    page: PageCtx,
    who: PageStaff,
    Query(query): Query<TransferQuery>,
) -> Result<Response, AppError> {
    manager(&who)?;
    let report = match (query.created, query.updated, query.unchanged) {
        (Some(created), Some(updated), Some(unchanged)) => Some(ImportReport {
            created,
            updated,
            unchanged,
        }),
        _ => None,
    };
    render(&TransferPage {
        page,
        csrf: who.session().csrf_token.clone(),
        report,
        rows: Vec::new(),
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ExportQuery {
    format: Option<String>,
}

async fn export(
    State(state): State<AppState>,
    who: PageStaff,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    manager(&who)?;
    let format = Format::parse(query.format.as_deref().unwrap_or("json")).ok_or_else(|| {
        AppError::Invalid {
            field: "format".to_owned(),
            code: "format_invalid".to_owned(),
            message: "format is json or csv".to_owned(),
        }
    })?;
    let bytes = state.catalog().export(format).await?;
    Ok(download(
        bytes,
        format.content_type(),
        &format!("catalog.{}", format.extension()),
    ))
}

async fn import(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let upload = upload.single();
    manager(&who)?;
    let principal = &who.principal;
    let tr = page.tr;
    let csrf = who.session().csrf_token.clone();
    let refuse = |page: PageCtx, rows: Vec<BadRow>, error: String| {
        render(&TransferPage {
            page,
            csrf: csrf.clone(),
            report: None,
            rows,
            error: Some(error),
        })
        .map(|r| with_status(r, StatusCode::UNPROCESSABLE_ENTITY))
    };
    let (name, bytes) = upload.file.unwrap_or_default();
    if bytes.is_empty() {
        return refuse(page, Vec::new(), tr.t("errors.file_empty").to_owned());
    }
    let format = match value_of(&upload.fields, "format") {
        "" => Format::from_file_name(&name),
        chosen => Format::parse(chosen),
    };
    let Some(format) = format else {
        return refuse(
            page,
            Vec::new(),
            tr.t("catalog_staff.format_unknown").to_owned(),
        );
    };
    match state
        .catalog()
        .import(principal, format, &bytes, &Origin { ip: meta.ip })
        .await
    {
        Ok(r) => Ok(see_other(&format!(
            "/staff/catalog/transfer?created={}&updated={}&unchanged={}",
            r.created, r.updated, r.unchanged
        ))),
        Err(CatalogError::ImportRejected(rows)) => {
            // The message counts rows; a row may break several rules.
            let bad_rows: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.row).collect();
            let message = tr.fmt(
                "errors.import_rejected",
                &[("n", &bad_rows.len().to_string())],
            );
            let rows = rows
                .into_iter()
                .map(|r| {
                    let label = field_label(tr, &r.field);
                    BadRow {
                        row: r.row,
                        impl_code: r.impl_code,
                        field: if label.is_empty() {
                            r.field
                        } else {
                            tr.fmt(
                                "catalog_staff.field_code",
                                &[("label", label), ("code", &r.field)],
                            )
                        },
                        code: r.code,
                        message: r.message,
                    }
                })
                .collect();
            refuse(page, rows, message)
        }
        Err(error @ CatalogError::Unreadable(_)) => {
            let detail = match &error {
                CatalogError::Unreadable(detail) => detail.clone(),
                _ => String::new(),
            };
            let message = format!("{}（{detail}）", message_for(tr, error.code(), ""));
            refuse(page, Vec::new(), message)
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(f: impl FnOnce(&mut Vec<FormProblem>)) -> Vec<FormProblem> {
        let mut problems = Vec::new();
        f(&mut problems);
        problems
    }

    #[test]
    fn materials_read_with_defaults_and_keep_their_files() {
        let file = FileRef {
            name: "申请书.docx".into(),
            digest: "ab".into(),
        };
        let existing = vec![Material {
            name: "申请书".into(),
            source: String::new(),
            original: 1,
            copies: 0,
            mandatory: true,
            note: String::new(),
            template: Some(file.clone()),
            sample: None,
        }];
        let text = "申请书 | 申请人 | 1 | 0 | 是 | 签字\n\n身份证 ｜ 公安 | 1 | 2 | 否 | 出示 | 原件\r\n营业执照";
        let mut problems = Vec::new();
        let (materials, lines) = parse_materials(text, &existing, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(lines, vec![1, 3, 4], "blank lines still count");
        assert_eq!(
            materials[0].template,
            Some(file),
            "same name keeps its template"
        );
        assert_eq!(materials[0].note, "签字");
        assert_eq!(materials[1].source, "公安");
        assert_eq!((materials[1].original, materials[1].copies), (1, 2));
        assert!(!materials[1].mandatory);
        assert_eq!(
            materials[1].note, "出示 | 原件",
            "a note may contain the separator"
        );
        assert_eq!(materials[2].name, "营业执照");
        assert_eq!((materials[2].original, materials[2].copies), (1, 0));
        assert!(materials[2].mandatory && materials[2].template.is_none());
    }

    #[test]
    fn bad_lines_are_named() {
        let problems = problems_of(|p| {
            parse_materials(
                "甲 | x | 1\n乙 | x | 一 | 0\n | x\n丙 | x | 1 | 0 | 也许",
                &[],
                p,
            );
        });
        assert_eq!(
            problems,
            vec![
                FormProblem {
                    field: "materials",
                    line: Some(2),
                    code: "count"
                },
                FormProblem {
                    field: "materials",
                    line: Some(3),
                    code: "material_name"
                },
                FormProblem {
                    field: "materials",
                    line: Some(4),
                    code: "yes_no"
                },
            ]
        );
        let problems = problems_of(|p| {
            let (fees, lines) = parse_fees(
                "工本费 | 10元 | 发改价格〔2019〕1号\n证书费 | 二十 | 依据\n只有项目",
                p,
            );
            assert_eq!(fees[0].amount_yuan, Some(Yuan(1000)));
            assert_eq!(lines, vec![1]);
        });
        assert_eq!(
            problems[0],
            FormProblem {
                field: "fees",
                line: Some(2),
                code: "amount"
            }
        );
        assert_eq!(
            problems[1],
            FormProblem {
                field: "fees",
                line: Some(3),
                code: "fee_columns"
            }
        );
        let problems = problems_of(|p| {
            let (faq, _) = parse_faq("能代办吗？ | 可以 | 带委托书\n没有回答", p);
            assert_eq!(faq[0].a, "可以 | 带委托书");
        });
        assert_eq!(
            problems,
            vec![FormProblem {
                field: "faq",
                line: Some(2),
                code: "faq_columns"
            }]
        );
        assert_eq!(
            parse_keywords("开饭店、餐饮许可证, 小吃店，食品"),
            vec!["开饭店", "餐饮许可证", "小吃店", "食品"]
        );
    }

    fn sample() -> ItemContent {
        ItemContent {
            name: "食品经营许可".into(),
            short_name: String::new(),
            base_code: "000123456789".into(),
            kind: ItemKind::Licensing,
            level: AdminLevel::Municipal,
            audience: vec![AudienceType::Enterprise, AudienceType::NaturalPerson],
            themes: vec!["food".into()],
            legal_basis: vec!["《食品安全法》".into(), "《食品经营许可管理办法》".into()],
            conditions: "有经营场所".into(),
            materials: vec![Material {
                name: "申请书".into(),
                source: "申请人".into(),
                original: 1,
                copies: 0,
                mandatory: true,
                note: String::new(),
                template: None,
                sample: None,
            }],
            legal_limit: Some(TimeLimit::working_days(20)),
            promised_limit: Some(TimeLimit::working_days(5)),
            case_type: CaseType::Promised,
            fees: vec![Fee {
                item: "工本费".into(),
                amount_yuan: Some(Yuan(1050)),
                basis: "某文件".into(),
            }],
            handling_forms: vec![HandlingForm::Window, HandlingForm::OnlinePc],
            visits: 1,
            online_depth: vec![OnlineDepth::Consult],
            appointment: true,
            postal_delivery: false,
            place: "政务服务中心".into(),
            hours: "工作日".into(),
            phone: "0551-12345".into(),
            faq: vec![Faq {
                q: "要钱吗？".into(),
                a: "不要".into(),
            }],
            result: "许可证".into(),
            status: ItemStatus::InUse,
            keywords: vec!["开饭店".into(), "餐馆".into()],
            small_business: true,
        }
    }

    #[test]
    fn a_content_survives_the_form() {
        let content = sample();
        let form = ContentForm::from_content(&content, "是", "否");
        assert_eq!(form.materials, "申请书 | 申请人 | 1 | 0 | 是");
        assert_eq!(form.fees, "工本费 | 10.50 | 某文件");
        let (back, lines) = parse_content(&form, &content.materials).unwrap();
        assert_eq!(back, content);
        assert_eq!(lines.line_of("materials", 1), Some(1));
        assert_eq!(lines.line_of("fees", 2), None);
    }

    #[test]
    fn unknown_choices_and_numbers_are_refused() {
        let mut form = ContentForm::from_content(&sample(), "yes", "no");
        form.kind = "99".into();
        form.audience.push("x".into());
        form.visits = "两".into();
        form.legal_limit = "二十".into();
        form.faq = "只有问题".into();
        let problems = parse_content(&form, &[]).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| (p.field, p.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("kind", "choice"),
                ("audience", "choice"),
                ("legal_limit", "number"),
                ("visits", "number"),
                ("faq", "faq_columns"),
            ]
        );
    }
}
