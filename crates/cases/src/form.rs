//! Application forms: typed fields with validation rules, declared in a workflow definition.
//!
//! An answer is parsed field by field; every problem is reported at once with a stable code the UI
//! translates, and nothing is stored until the whole form is valid.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yiwang_kernel::{Mobile, ResidentId, Uscc};

use crate::workflow::WorkflowProblem;

/// The type of a form field, which decides its input control and how its answer is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Textarea,
    /// A whole number (area in m², number of staff…).
    Number,
    Date,
    /// One of `options`.
    Select,
    ResidentId,
    Mobile,
    Email,
    Uscc,
    /// A yes/no confirmation; when required it must be ticked.
    Checkbox,
}

impl FieldKind {
    pub fn code(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Textarea => "textarea",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Select => "select",
            FieldKind::ResidentId => "resident_id",
            FieldKind::Mobile => "mobile",
            FieldKind::Email => "email",
            FieldKind::Uscc => "uscc",
            FieldKind::Checkbox => "checkbox",
        }
    }

    /// Whether the field holds personal data that is masked when shown to others.
    pub fn is_personal(self) -> bool {
        matches!(self, FieldKind::ResidentId | FieldKind::Mobile)
    }
}

/// One field of an application form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Lowercase letters, digits and `_`; the answer's name.
    pub key: String,
    /// Shown next to the input (the form is data, written in the item's language).
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// Longest text accepted in any field when the definition sets no limit.
pub const DEFAULT_MAX_LEN: u32 = 500;
/// Longest text of a multi-line field when the definition sets no limit.
pub const DEFAULT_TEXTAREA_MAX_LEN: u32 = 4000;

impl FieldDef {
    fn max_chars(&self) -> u32 {
        self.max_len.unwrap_or(match self.kind {
            FieldKind::Textarea => DEFAULT_TEXTAREA_MAX_LEN,
            _ => DEFAULT_MAX_LEN,
        })
    }
}

/// The problems of a form's declaration (part of a workflow's problems).
pub fn form_problems(fields: &[FieldDef]) -> Vec<WorkflowProblem> {
    let mut out = Vec::new();
    let mut keys = HashSet::new();
    let mut push = |code: &'static str, key: &str, message: String| {
        out.push(WorkflowProblem {
            code,
            at: Some(format!("form.{key}")),
            message,
        });
    };
    for field in fields {
        let key = field.key.as_str();
        if key.is_empty()
            || key.len() > 40
            || !key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            push(
                "field_bad_key",
                key,
                format!("field key {key:?} must be 1–40 lowercase letters, digits or '_'"),
            );
        }
        if !keys.insert(key) {
            push(
                "field_duplicate",
                key,
                format!("field {key:?} is declared twice"),
            );
        }
        if field.label.trim().is_empty() {
            push("field_no_label", key, format!("field {key:?} has no label"));
        }
        if field.kind == FieldKind::Select && field.options.is_empty() {
            push(
                "field_no_options",
                key,
                format!("select field {key:?} has no options"),
            );
        }
        if let (Some(min), Some(max)) = (field.min_len, field.max_len)
            && min > max
        {
            push(
                "field_bad_range",
                key,
                format!("field {key:?}: min_len {min} is above max_len {max}"),
            );
        }
        if let (Some(min), Some(max)) = (field.min, field.max)
            && min > max
        {
            push(
                "field_bad_range",
                key,
                format!("field {key:?}: min {min} is above max {max}"),
            );
        }
    }
    out
}

/// One answer that does not pass its field's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub key: String,
    /// `field_required`, `field_too_short`, `field_too_long`, `field_not_number`, `field_out_of_range`,
    /// `field_bad_date`, `field_bad_option`, `field_bad_resident_id`, `field_bad_mobile`,
    /// `field_bad_email`, `field_bad_uscc`, `field_unknown`.
    pub code: &'static str,
}

/// A valid set of answers, normalised (trimmed; identifiers in canonical form; dates ISO).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FormData(pub BTreeMap<String, String>);

impl FormData {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
}

fn check(field: &FieldDef, raw: &str) -> Result<Option<String>, &'static str> {
    let value = raw.trim();
    if value.is_empty() {
        return if field.required {
            Err("field_required")
        } else {
            Ok(None)
        };
    }
    let chars = value.chars().count() as u32;
    if chars > field.max_chars() {
        return Err("field_too_long");
    }
    let normalised = match field.kind {
        FieldKind::Text | FieldKind::Textarea => {
            if field.min_len.is_some_and(|min| chars < min) {
                return Err("field_too_short");
            }
            value.to_owned()
        }
        FieldKind::Number => {
            let n: i64 = value.parse().map_err(|_| "field_not_number")?;
            if field.min.is_some_and(|min| n < min) || field.max.is_some_and(|max| n > max) {
                return Err("field_out_of_range");
            }
            n.to_string()
        }
        FieldKind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| "field_bad_date")?
            .to_string(),
        FieldKind::Select => {
            if !field.options.iter().any(|o| o == value) {
                return Err("field_bad_option");
            }
            value.to_owned()
        }
        FieldKind::ResidentId => ResidentId::parse(value)
            .map_err(|_| "field_bad_resident_id")?
            .as_str()
            .to_owned(),
        FieldKind::Mobile => Mobile::parse(value)
            .map_err(|_| "field_bad_mobile")?
            .as_str()
            .to_owned(),
        FieldKind::Uscc => Uscc::parse(value)
            .map_err(|_| "field_bad_uscc")?
            .as_str()
            .to_owned(),
        FieldKind::Email => {
            let ok = value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(char::is_whitespace)
            });
            if !ok {
                return Err("field_bad_email");
            }
            value.to_owned()
        }
        FieldKind::Checkbox => {
            if matches!(value, "on" | "true" | "1" | "yes") {
                "yes".to_owned()
            } else if field.required {
                return Err("field_required");
            } else {
                return Ok(None);
            }
        }
    };
    Ok(Some(normalised))
}

/// Check answers against the form. Answers to fields the form does not have are refused, so a stale
/// or forged form cannot smuggle data in.
pub fn validate_form(
    fields: &[FieldDef],
    answers: &BTreeMap<String, String>,
) -> Result<FormData, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let mut data = BTreeMap::new();
    for field in fields {
        let raw = answers.get(&field.key).map_or("", String::as_str);
        match check(field, raw) {
            Ok(Some(value)) => {
                data.insert(field.key.clone(), value);
            }
            Ok(None) => {}
            Err(code) => problems.push(FieldProblem {
                key: field.key.clone(),
                code,
            }),
        }
    }
    for key in answers.keys() {
        if !fields.iter().any(|f| &f.key == key) {
            problems.push(FieldProblem {
                key: key.clone(),
                code: "field_unknown",
            });
        }
    }
    if problems.is_empty() {
        Ok(FormData(data))
    } else {
        Err(problems)
    }
}

/// Answers as shown to someone other than the applicant: personal identifiers masked.
pub fn masked(fields: &[FieldDef], data: &FormData) -> Vec<(String, String)> {
    fields
        .iter()
        .filter_map(|f| {
            let value = data.get(&f.key)?;
            let shown = match f.kind {
                FieldKind::ResidentId => {
                    ResidentId::parse(value).map_or_else(|_| "***".to_owned(), |id| id.masked())
                }
                FieldKind::Mobile => {
                    Mobile::parse(value).map_or_else(|_| "***".to_owned(), |m| m.masked())
                }
                _ => value.to_owned(),
            };
            Some((f.label.clone(), shown))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(key: &str, kind: FieldKind, required: bool) -> FieldDef {
        FieldDef {
            key: key.to_owned(),
            label: key.to_owned(),
            kind,
            required,
            help: String::new(),
            min_len: None,
            max_len: None,
            min: None,
            max: None,
            options: vec![],
        }
    }

    #[test]
    fn checks_every_field_and_reports_all_problems() {
        let mut area = field("area", FieldKind::Number, true);
        area.min = Some(1);
        area.max = Some(10_000);
        let mut scale = field("scale", FieldKind::Select, true);
        scale.options = vec!["小型".into(), "中型".into()];
        let fields = vec![
            field("name", FieldKind::Text, true),
            area,
            scale,
            field("opened", FieldKind::Date, false),
            field("id", FieldKind::ResidentId, true),
            field("mobile", FieldKind::Mobile, false),
            field("email", FieldKind::Email, false),
            field("promise", FieldKind::Checkbox, true),
        ];
        let answers: BTreeMap<String, String> = [
            ("name", "  合肥味道餐饮  "),
            ("area", "120"),
            ("scale", "小型"),
            ("opened", "2026-03-01"),
            ("id", "11010519491231002x"),
            ("mobile", "13800138000"),
            ("email", "a@example.cn"),
            ("promise", "on"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let data = validate_form(&fields, &answers).unwrap();
        assert_eq!(data.get("name"), Some("合肥味道餐饮"));
        assert_eq!(data.get("id"), Some("11010519491231002X"));
        let shown = masked(&fields, &data);
        assert!(
            shown
                .iter()
                .any(|(_, v)| v.contains('*') && v.ends_with("002X"))
        );

        let bad: BTreeMap<String, String> = [
            ("area", "0"),
            ("scale", "大型"),
            ("opened", "2026-02-30"),
            ("id", "110105194912310021"),
            ("mobile", "2380013800"),
            ("email", "not-an-address"),
            ("extra", "x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let problems = validate_form(&fields, &bad).unwrap_err();
        let codes: Vec<(&str, &str)> = problems.iter().map(|p| (p.key.as_str(), p.code)).collect();
        assert_eq!(
            codes,
            vec![
                ("name", "field_required"),
                ("area", "field_out_of_range"),
                ("scale", "field_bad_option"),
                ("opened", "field_bad_date"),
                ("id", "field_bad_resident_id"),
                ("mobile", "field_bad_mobile"),
                ("email", "field_bad_email"),
                ("promise", "field_required"),
                ("extra", "field_unknown"),
            ]
        );
    }

    #[test]
    fn declaration_problems() {
        let mut select = field("kind", FieldKind::Select, true);
        select.options.clear();
        let mut ranged = field("n", FieldKind::Number, false);
        ranged.min = Some(5);
        ranged.max = Some(1);
        let codes: Vec<&str> = form_problems(&[
            select,
            ranged,
            field("n", FieldKind::Text, false),
            field("Bad Key", FieldKind::Text, false),
        ])
        .into_iter()
        .map(|p| p.code)
        .collect();
        assert_eq!(
            codes,
            vec![
                "field_no_options",
                "field_bad_range",
                "field_duplicate",
                "field_bad_key"
            ]
        );
    }
}
