//! The catalog as a file: JSON (an array of item records) and CSV (one row per item) for import and
//! export. Parsing reports every bad row with its reason; the service imports only when none is bad.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::CatalogError;
use crate::model::{ItemRecord, Problem, impl_code_problem};

/// A file format of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// Guess from a file name.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit('.').next()?;
        Self::parse(ext)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
        }
    }
}

/// One bad row of an import: where, which item, which field and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based: the element of a JSON array, or the data row of a CSV file (the header is row 0).
    pub row: usize,
    pub impl_code: String,
    pub field: String,
    /// Stable code of the reason (a message key of the UI).
    pub code: &'static str,
    /// The reason in English, with the details (the value found, the rule).
    pub message: String,
}

impl RowError {
    pub fn new(row: usize, impl_code: &str, problem: Problem) -> Self {
        Self {
            row,
            impl_code: impl_code.to_owned(),
            field: problem.field,
            code: problem.code,
            message: problem.message,
        }
    }
}

/// CSV columns, in order. Lists of codes are separated by ';', legal bases by line breaks; materials,
/// fees and FAQ are JSON arrays in their cell; limits are "20 working_days".
pub const CSV_COLUMNS: &[&str] = &[
    "impl_code",
    "department",
    "name",
    "short_name",
    "base_code",
    "kind",
    "level",
    "audience",
    "themes",
    "legal_basis",
    "conditions",
    "materials",
    "legal_limit",
    "promised_limit",
    "case_type",
    "fees",
    "handling_forms",
    "visits",
    "online_depth",
    "appointment",
    "postal_delivery",
    "place",
    "hours",
    "phone",
    "faq",
    "result",
    "status",
    "keywords",
    "small_business",
];

const SEMICOLON_LISTS: &[&str] = &[
    "audience",
    "themes",
    "handling_forms",
    "online_depth",
    "keywords",
];
const JSON_CELLS: &[&str] = &["materials", "fees", "faq"];
const BOOLS: &[&str] = &["appointment", "postal_delivery", "small_business"];
const LIMITS: &[&str] = &["legal_limit", "promised_limit"];

/// Rows of a file, each parsed into a record or the reason it could not be.
pub fn parse(
    format: Format,
    bytes: &[u8],
) -> Result<Vec<Result<ItemRecord, RowError>>, CatalogError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| CatalogError::Unreadable(format!("the file is not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Json => parse_json(text),
        Format::Csv => parse_csv(text),
    }
}

fn record_from_value(row: usize, value: Value) -> Result<ItemRecord, RowError> {
    let impl_code = value
        .get("impl_code")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    serde_json::from_value::<ItemRecord>(value).map_err(|e| {
        let message = e.to_string();
        // serde names the field in its message ("missing field `name`"); keep it as the field too.
        let field = message.split('`').nth(1).unwrap_or("").to_owned();
        RowError {
            row,
            impl_code,
            field,
            code: "row_unreadable",
            message,
        }
    })
}

fn parse_json(text: &str) -> Result<Vec<Result<ItemRecord, RowError>>, CatalogError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CatalogError::Unreadable(format!("not valid JSON: {e}")))?;
    let Value::Array(rows) = value else {
        return Err(CatalogError::Unreadable(
            "a catalog JSON file is an array of items".to_owned(),
        ));
    };
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, v)| record_from_value(i + 1, v))
        .collect())
}

fn cell_value(column: &str, cell: &str) -> Result<Value, String> {
    let cell = cell.trim();
    if SEMICOLON_LISTS.contains(&column) {
        return Ok(Value::Array(
            cell.split([';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ));
    }
    if column == "legal_basis" {
        return Ok(Value::Array(
            cell.lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ));
    }
    if JSON_CELLS.contains(&column) {
        if cell.is_empty() {
            return Ok(json!([]));
        }
        return serde_json::from_str(cell).map_err(|e| format!("not a JSON array: {e}"));
    }
    if BOOLS.contains(&column) {
        return match cell {
            "" | "false" | "否" | "0" => Ok(Value::Bool(false)),
            "true" | "是" | "1" => Ok(Value::Bool(true)),
            other => Err(format!("{other:?} is neither true nor false")),
        };
    }
    if LIMITS.contains(&column) {
        if cell.is_empty() {
            return Ok(Value::Null);
        }
        let (amount, unit) = cell.split_once(' ').ok_or_else(|| {
            format!("{cell:?} is not \"<amount> <unit>\", e.g. \"20 working_days\"")
        })?;
        let amount: u32 = amount
            .trim()
            .parse()
            .map_err(|_| format!("{amount:?} is not a whole number"))?;
        return Ok(json!({ "amount": amount, "unit": unit.trim() }));
    }
    if column == "visits" {
        if cell.is_empty() {
            return Ok(json!(0));
        }
        return cell
            .parse::<u32>()
            .map(|n| json!(n))
            .map_err(|_| format!("{cell:?} is not a whole number"));
    }
    Ok(Value::String(cell.to_owned()))
}

fn parse_csv(text: &str) -> Result<Vec<Result<ItemRecord, RowError>>, CatalogError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CatalogError::Unreadable(format!("no header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    for required in ["impl_code", "department", "name"] {
        if !headers.iter().any(|h| h == required) {
            return Err(CatalogError::Unreadable(format!(
                "the header row has no {required} column"
            )));
        }
    }
    if let Some(unknown) = headers.iter().find(|h| !CSV_COLUMNS.contains(&h.as_str())) {
        return Err(CatalogError::Unreadable(format!(
            "unknown column {unknown:?}; the columns are {}",
            CSV_COLUMNS.join(", ")
        )));
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(RowError {
                    row,
                    impl_code: String::new(),
                    field: String::new(),
                    code: "row_unreadable",
                    message: e.to_string(),
                }));
                continue;
            }
        };
        let impl_code = headers
            .iter()
            .position(|h| h == "impl_code")
            .and_then(|p| record.get(p))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let mut object = Map::new();
        let mut failed = None;
        for (header, cell) in headers.iter().zip(record.iter()) {
            match cell_value(header, cell) {
                Ok(v) => {
                    object.insert(header.clone(), v);
                }
                Err(message) => {
                    failed = Some(RowError {
                        row,
                        impl_code: impl_code.clone(),
                        field: header.clone(),
                        code: "row_unreadable",
                        message,
                    });
                    break;
                }
            }
        }
        out.push(match failed {
            Some(e) => Err(e),
            None => record_from_value(row, Value::Object(object)),
        });
    }
    Ok(out)
}

/// Every problem of a parsed record that does not need the database.
pub fn record_problems(row: usize, record: &ItemRecord) -> Vec<RowError> {
    impl_code_problem(&record.impl_code)
        .into_iter()
        .chain(record.content.problems())
        .map(|p| RowError::new(row, &record.impl_code, p))
        .collect()
}

/// The file for these records.
pub fn write(format: Format, records: &[ItemRecord]) -> Result<Vec<u8>, CatalogError> {
    match format {
        Format::Json => serde_json::to_vec_pretty(records)
            .map_err(|e| CatalogError::Corrupt(format!("export: {e}"))),
        Format::Csv => write_csv(records),
    }
}

fn csv_cell(column: &str, value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if SEMICOLON_LISTS.contains(&column) || column == "legal_basis" => {
            let sep = if column == "legal_basis" { "\n" } else { ";" };
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(sep)
        }
        Value::Object(o) if LIMITS.contains(&column) => format!(
            "{} {}",
            o.get("amount").map(Value::to_string).unwrap_or_default(),
            o.get("unit").and_then(Value::as_str).unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn write_csv(records: &[ItemRecord]) -> Result<Vec<u8>, CatalogError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| CatalogError::Corrupt(format!("export: {e}"));
    writer.write_record(CSV_COLUMNS).map_err(fail)?;
    for record in records {
        let value = serde_json::to_value(record)
            .map_err(|e| CatalogError::Corrupt(format!("export: {e}")))?;
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|c| csv_cell(c, value.get(*c).unwrap_or(&Value::Null)))
            .collect();
        writer.write_record(&row).map_err(fail)?;
    }
    let mut bytes = b"\xef\xbb\xbf".to_vec(); // a BOM, so spreadsheet programs read UTF-8
    bytes.extend(
        writer
            .into_inner()
            .map_err(|e| CatalogError::Corrupt(format!("export: {e}")))?,
    );
    Ok(bytes)
}
