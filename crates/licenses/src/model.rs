//! Licence types (证照目录), licences, their status code list, grants, reads and show codes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId};

use crate::error::FieldProblem;
use crate::identifier::LicenseIdentifier;

yiwang_kernel::define_id!(
    /// A licence version row.
    pub LicenseId
);
yiwang_kernel::define_id!(
    /// A pending issuance (a granted case whose licence still lacks data).
    pub PendingId
);
yiwang_kernel::define_id!(
    /// A usage grant (用证授权).
    pub GrantId
);

/// Longest licence type name, field label, reason or purpose, in characters.
pub const MAX_TEXT_CHARS: usize = 200;
/// Longest value of one data field, in characters.
pub const MAX_VALUE_CHARS: usize = 500;
/// Most data fields a type may define.
pub const MAX_FIELDS: usize = 40;

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal / $zh:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored and sent in JSON.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese term shown on licences and notices.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} code {text:?}", stringify!($name)))
                })
            }
        }
    };
}

code_enum! {
    /// The status of a licence version (code list of this platform; GB/T 36903 证照状态).
    LicenseStatus {
        Valid = "valid" / "有效",
        Cancelled = "cancelled" / "注销",
        Revoked = "revoked" / "吊销",
        Expired = "expired" / "已过期",
        Replaced = "replaced" / "已换发",
    }
}

code_enum! {
    /// Who holds licences of a type (持证主体).
    HolderKind {
        Person = "person" / "自然人",
        Enterprise = "enterprise" / "法人和其他组织",
    }
}

code_enum! {
    /// The type of a data field.
    FieldKind {
        Text = "text" / "文本",
        Date = "date" / "日期",
        Number = "number" / "数字",
    }
}

code_enum! {
    /// How a licence came to be.
    Source {
        Case = "case" / "办件出证",
        Staff = "staff" / "窗口制证",
        Import = "import" / "存量证照导入",
        Renewal = "renewal" / "换发",
    }
}

/// One data field of a licence type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    /// The key in the data (and the form field name a case fills it from), e.g. `address`.
    pub name: String,
    /// The label printed on the licence, e.g. `住所`.
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    /// Shown on the public verification page.
    #[serde(default)]
    pub public: bool,
}

/// How long a licence of a type is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Validity {
    /// 长期有效.
    None,
    /// N years from the day it takes effect (the day before the anniversary is the last day).
    Years { years: u32 },
    /// Until a fixed date.
    Until { date: NaiveDate },
}

impl Validity {
    /// The last day of validity for a licence valid from `from`.
    pub fn expires_on(self, from: NaiveDate) -> Option<NaiveDate> {
        match self {
            Validity::None => None,
            Validity::Years { years } => {
                let year = from.year() + i32::try_from(years).unwrap_or(i32::MAX - from.year());
                // 29 February falls back to 28 February in a common year.
                let anniversary = NaiveDate::from_ymd_opt(year, from.month(), from.day())
                    .or_else(|| NaiveDate::from_ymd_opt(year, from.month(), 28))?;
                anniversary.pred_opt()
            }
            Validity::Until { date } => Some(date),
        }
    }
}

/// A material of an item that a licence of the type replaces (免提交).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    /// The item's implementation code.
    pub item: String,
    /// The material's name as in the item's guide.
    pub material: String,
}

/// A licence type (证照目录条目) as defined and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseType {
    /// The type code in identifiers: digits and capitals, at most 24.
    pub code: String,
    pub name: String,
    /// Codes of the departments that issue it.
    pub departments: Vec<String>,
    pub holder: HolderKind,
    pub fields: Vec<FieldDef>,
    pub validity: Validity,
    /// Implementation codes of the items whose grant produces it.
    #[serde(default)]
    pub producing_items: Vec<String>,
    /// Item materials it replaces.
    #[serde(default)]
    pub replaces: Vec<Replacement>,
    /// Codes of departments that may read licences of this type without the holder's grant
    /// (法定依据), with the basis in words.
    #[serde(default)]
    pub legal_basis: Vec<LegalBasis>,
}

/// A department that may read licences of a type without a grant, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBasis {
    pub department: String,
    pub basis: String,
}

fn problem(
    field: impl Into<String>,
    code: &'static str,
    message: impl Into<String>,
) -> FieldProblem {
    FieldProblem {
        field: field.into(),
        code,
        message: message.into(),
    }
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().nth(max).is_some()
}

impl LicenseType {
    /// Every problem of the definition (empty when it can be stored).
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        if self.code.is_empty()
            || self.code.len() > crate::identifier::MAX_TYPE_CODE_CHARS
            || !self
                .code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        {
            out.push(problem(
                "code",
                "licence_type_code_invalid",
                "the type code has 1 to 24 digits or capital letters",
            ));
        }
        if self.name.trim().is_empty() || too_long(&self.name, MAX_TEXT_CHARS) {
            out.push(problem(
                "name",
                "field_required",
                "the name is required (at most 200 characters)",
            ));
        }
        if self.departments.is_empty() {
            out.push(problem(
                "departments",
                "field_required",
                "at least one issuing department is required",
            ));
        }
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            out.push(problem(
                "fields",
                "licence_type_fields",
                "a type has 1 to 40 data fields",
            ));
        }
        let mut names = BTreeSet::new();
        for (i, f) in self.fields.iter().enumerate() {
            let valid_name = !f.name.is_empty()
                && f.name.len() <= 64
                && f.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_name {
                out.push(problem(
                    format!("fields[{i}].name"),
                    "licence_field_name_invalid",
                    format!(
                        "field name {:?} must be lowercase letters, digits or _",
                        f.name
                    ),
                ));
            }
            if !names.insert(f.name.as_str()) {
                out.push(problem(
                    format!("fields[{i}].name"),
                    "licence_field_duplicate",
                    format!("field {:?} is defined twice", f.name),
                ));
            }
            if f.label.trim().is_empty() || too_long(&f.label, MAX_TEXT_CHARS) {
                out.push(problem(
                    format!("fields[{i}].label"),
                    "field_required",
                    format!("field {:?} needs a label", f.name),
                ));
            }
        }
        match self.validity {
            Validity::Years { years } if !(1..=100).contains(&years) => out.push(problem(
                "validity",
                "licence_validity_invalid",
                "a validity in years is between 1 and 100",
            )),
            _ => {}
        }
        out
    }

    /// Checks licence data against the fields: unknown fields, missing required ones, wrong
    /// kinds and lengths. Returns the data with values trimmed and empty values dropped.
    pub fn check_data(
        &self,
        data: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, Vec<FieldProblem>> {
        let mut out = BTreeMap::new();
        let mut problems = Vec::new();
        for key in data.keys() {
            if !self.fields.iter().any(|f| &f.name == key) {
                problems.push(problem(
                    key.as_str(),
                    "licence_field_unknown",
                    format!("{key:?} is not a field of {}", self.name),
                ));
            }
        }
        for field in &self.fields {
            let value = data.get(&field.name).map_or("", |v| v.trim());
            if value.is_empty() {
                if field.required {
                    problems.push(problem(
                        field.name.as_str(),
                        "field_required",
                        format!("{} is required", field.label),
                    ));
                }
                continue;
            }
            if too_long(value, MAX_VALUE_CHARS) {
                problems.push(problem(
                    field.name.as_str(),
                    "field_too_long",
                    format!(
                        "{} is longer than {MAX_VALUE_CHARS} characters",
                        field.label
                    ),
                ));
                continue;
            }
            let ok = match field.kind {
                FieldKind::Text => true,
                FieldKind::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
                FieldKind::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
            };
            if ok {
                out.insert(field.name.clone(), value.to_owned());
            } else {
                problems.push(problem(
                    field.name.as_str(),
                    match field.kind {
                        FieldKind::Date => "field_bad_date",
                        _ => "field_not_number",
                    },
                    format!("{} must be a {}", field.label, field.kind.code()),
                ));
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// The names of required fields missing from `data`.
    pub fn missing_required(&self, data: &BTreeMap<String, String>) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.required && data.get(&f.name).is_none_or(|v| v.trim().is_empty()))
            .map(|f| f.name.clone())
            .collect()
    }

    /// Whether `department` may read licences of this type without a grant.
    pub fn basis_for(&self, department: &str) -> Option<&LegalBasis> {
        self.legal_basis.iter().find(|b| b.department == department)
    }
}

/// Who holds a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    Person(PersonId),
    Enterprise(EnterpriseId),
}

impl Holder {
    pub fn kind(self) -> HolderKind {
        match self {
            Holder::Person(_) => HolderKind::Person,
            Holder::Enterprise(_) => HolderKind::Enterprise,
        }
    }
}

/// A licence version as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct License {
    #[serde(skip)]
    pub id: LicenseId,
    pub identifier: LicenseIdentifier,
    pub type_code: String,
    pub type_name: String,
    pub version: u16,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_code: String,
    pub department_name: String,
    #[serde(skip)]
    pub holder: Holder,
    pub holder_name: String,
    /// Masked resident ID for persons, the USCC for enterprises.
    pub holder_id: String,
    pub data: BTreeMap<String, String>,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub status: LicenseStatus,
    pub status_reason: String,
    pub status_at: DateTime<Utc>,
    pub source: Source,
    /// The case whose grant produced it.
    pub case_no: Option<String>,
    /// The exact UTF-8 bytes that were signed (canonical JSON, see [`crate::document`]).
    #[serde(skip)]
    pub signed: String,
    /// `r ‖ s`, hex.
    #[serde(skip)]
    pub signature: String,
    pub key_id: String,
    /// Base64url `r ‖ s` over the QR statement (see [`crate::document::qr_statement`]).
    #[serde(skip)]
    pub qr_signature: String,
    pub created_at: DateTime<Utc>,
}

impl License {
    /// The document served to holders and verifiers.
    pub fn document(&self) -> crate::document::SignedDocument {
        crate::document::SignedDocument::new(
            self.identifier.as_str(),
            &self.key_id,
            self.signed.as_bytes(),
            &hex::decode(&self.signature).unwrap_or_default(),
            self.status.code(),
        )
    }

    /// The offline QR payload (`YWL1.…`).
    pub fn qr_payload(&self) -> String {
        format!(
            "{}.{}.{}.{}.{}",
            crate::document::QR_PREFIX,
            self.identifier,
            self.expires_on
                .map_or_else(|| "0".to_owned(), |d| d.format("%Y%m%d").to_string()),
            self.key_id,
            self.qr_signature
        )
    }
}

/// One line of a licence's status history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseEvent {
    pub identifier: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from_status: Option<LicenseStatus>,
    pub to_status: LicenseStatus,
    pub reason: String,
}

/// A granted case whose licence could not be issued yet: required data is missing. Art. 44: the
/// licence is due within 10 working days of the decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingIssuance {
    pub id: PendingId,
    pub case_no: String,
    pub type_code: String,
    pub type_name: String,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub holder_name: String,
    pub data: BTreeMap<String, String>,
    pub missing: Vec<String>,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Set once the licence is issued.
    pub licence: Option<String>,
}

code_enum! {
    /// What a usage grant covers.
    GrantScope {
        License = "licence" / "单张证照",
        Type = "type" / "同类证照",
    }
}

/// A usage grant (用证授权): a holder lets a department read a licence (or all of a type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    #[serde(skip)]
    pub id: GrantId,
    pub public_id: String,
    #[serde(skip)]
    pub holder: Holder,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_name: String,
    pub purpose: String,
    pub scope: GrantScope,
    pub identifier: Option<String>,
    pub type_code: Option<String>,
    pub case_no: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

code_enum! {
    /// On what ground a licence was read.
    ReadBasis {
        Grant = "grant" / "持证人授权",
        LegalBasis = "legal_basis" / "法定依据",
        ShowCode = "show_code" / "亮证",
        Issuer = "issuer" / "发证部门",
        None = "none" / "无",
    }
}

/// One reading of a licence (every read is logged, refused ones too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseRead {
    pub identifier: String,
    pub type_name: String,
    pub at: DateTime<Utc>,
    pub department_name: String,
    pub reader: String,
    pub purpose: String,
    pub case_no: Option<String>,
    pub basis: ReadBasis,
    pub allowed: bool,
}

/// A 亮证 code: 6 digits to type and a token for the QR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShowCode {
    pub digits: String,
    pub token: String,
    pub identifier: String,
    pub expires_at: DateTime<Utc>,
}
