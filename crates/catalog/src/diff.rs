//! A readable difference between two versions of an item: the fields that changed, each with its
//! text before and after. Lists (materials, fees, questions) show one line per entry.

use serde::Serialize;
use serde_json::Value;

use crate::model::ItemContent;
use crate::transfer::CSV_COLUMNS;

/// One changed field. `field` names it (the locale key is `catalog.field.<field>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

fn line_of(entry: &Value) -> String {
    match entry {
        Value::Object(o) => {
            // Materials: name (originals/copies, mandatory) — note; fees: item amount basis; FAQ: q / a.
            if let Some(name) = o.get("name").and_then(Value::as_str) {
                let mut line = format!(
                    "{name}（{}/{}{}）",
                    o.get("original").map(Value::to_string).unwrap_or_default(),
                    o.get("copies").map(Value::to_string).unwrap_or_default(),
                    if o.get("mandatory").and_then(Value::as_bool) == Some(false) {
                        ", optional"
                    } else {
                        ""
                    }
                );
                for key in ["source", "note"] {
                    if let Some(text) = o.get(key).and_then(Value::as_str).filter(|t| !t.is_empty())
                    {
                        line.push_str(" — ");
                        line.push_str(text);
                    }
                }
                if let Some(t) = o
                    .get("template")
                    .and_then(|t| t.get("name"))
                    .and_then(Value::as_str)
                {
                    line.push_str(" [");
                    line.push_str(t);
                    line.push(']');
                }
                line
            } else if let Some(item) = o.get("item").and_then(Value::as_str) {
                format!(
                    "{item} {} — {}",
                    o.get("amount_yuan")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    o.get("basis").and_then(Value::as_str).unwrap_or_default()
                )
            } else if let Some(q) = o.get("q").and_then(Value::as_str) {
                format!(
                    "{q} / {}",
                    o.get("a").and_then(Value::as_str).unwrap_or_default()
                )
            } else if let (Some(a), Some(u)) =
                (o.get("amount"), o.get("unit").and_then(Value::as_str))
            {
                format!("{a} {u}")
            } else {
                entry.to_string()
            }
        }
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Array(items)) => items.iter().map(line_of).collect::<Vec<_>>().join("\n"),
        Some(other) => line_of(other),
    }
}

/// Fields that differ between `before` and `after`, in the catalog's column order.
pub fn diff(before: &ItemContent, after: &ItemContent) -> Vec<Change> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(before), serde_json::to_value(after)) else {
        return Vec::new();
    };
    CSV_COLUMNS
        .iter()
        .filter(|c| !matches!(**c, "impl_code" | "department"))
        .filter_map(|field| {
            let old = text_of(a.get(*field));
            let new = text_of(b.get(*field));
            (old != new).then_some(Change {
                field,
                before: old,
                after: new,
            })
        })
        .collect()
}
