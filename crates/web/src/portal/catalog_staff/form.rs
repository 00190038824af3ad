//! The item editor's line-based form: every element of an item's content as text, lists one entry
//! per line with `|` columns, read back into content with each broken line named.

use yiwang_catalog::model::{
    AdminLevel, AudienceType, CaseType, Faq, Fee, HandlingForm, ItemContent, ItemKind, ItemStatus,
    Material, OnlineDepth, Problem, THEMES, ThemeAudience, Yuan,
};
use yiwang_kernel::{TimeLimit, TimeUnit};

use super::{field_label, form_anchor, in_form_order, problem_message, split_field};
use crate::i18n::Tr;
use crate::portal::form::FormErrors;

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
pub(super) fn read_errors(tr: Tr, read: &ReadForm, mut rules: Vec<Problem>) -> FormErrors {
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
    pub(super) fn new(tr: Tr, f: &ContentForm) -> Self {
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
    pub(super) fn new(tr: Tr, form: ContentForm, errors: FormErrors) -> Self {
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

#[cfg(test)]
mod tests {
    use yiwang_catalog::model::{
        AdminLevel, AudienceType, CaseType, Faq, Fee, FileRef, HandlingForm, ItemContent, ItemKind,
        ItemStatus, Material, OnlineDepth, Yuan,
    };
    use yiwang_kernel::TimeLimit;

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
