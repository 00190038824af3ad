//! Service items (政务服务事项) with the GB/T 39046 elements, their versions, themes and life events.
//!
//! An item's identity (its implementation code and the department that performs it) never changes;
//! everything else lives in an [`ItemContent`] that is versioned: each change is a new version that a
//! second staff member reviews before it is published with an effective date.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::StaffId;
use yiwang_kernel::{TimeLimit, TimeUnit};

yiwang_kernel::define_id!(pub ItemId);
yiwang_kernel::define_id!(pub VersionId);
yiwang_kernel::define_id!(pub LifeEventId);

/// A code list from GB/T 39046-2020 appendix A: stored and exchanged as its code, shown through the
/// locale key `<key>.<code>`.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident, $key:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The locale key prefix of this list's names.
            pub const KEY: &'static str = $key;

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// The locale key of this code's name.
            pub fn label_key(self) -> String {
                format!("{}.{}", $key, self.code())
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(code: String) -> Result<Self, String> {
                Self::parse(&code).ok_or_else(|| format!("unknown {} code {code:?}", $key))
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self {
                value.code()
            }
        }
    };
}

code_list!(
    /// 事项类型 (A.1).
    ItemKind, "catalog.kind" {
        AdministrativePower = "00", Licensing = "01", Penalty = "02", Enforcement = "03", Levy = "04",
        Benefit = "05", Inspection = "06", Confirmation = "07", Reward = "08", Adjudication = "09",
        Other = "10", PublicService = "20",
    }
);

code_list!(
    /// 行使层级 (A.2).
    AdminLevel, "catalog.level" {
        National = "1", Provincial = "2", Municipal = "3", County = "4", Township = "5", Village = "6",
        Tiered = "7",
    }
);

code_list!(
    /// 服务对象 (A.4).
    AudienceType, "catalog.audience" {
        NaturalPerson = "1", Enterprise = "2", PublicInstitution = "3", SocialOrganisation = "4",
        Government = "5", OtherOrganisation = "6",
    }
);

code_list!(
    /// 办理形式 (A.5).
    HandlingForm, "catalog.form" {
        Window = "1", OnlinePc = "2", OnlineMobile = "3", Post = "4", Other = "9",
    }
);

code_list!(
    /// 办件类型 (A.6).
    CaseType, "catalog.case_type" { Instant = "1", Promised = "2", Other = "9" }
);

code_list!(
    /// 网办深度 (multi-select).
    OnlineDepth, "catalog.depth" {
        Consult = "1", Receive = "2", Prereview = "3", Accept = "4", Handle = "5", ResultFeedback = "6",
        LicenceFeedback = "7",
    }
);

impl AudienceType {
    /// Whether the audience is a legal person or organisation rather than a natural person.
    pub fn is_legal(self) -> bool {
        self != AudienceType::NaturalPerson
    }
}

/// 事项状态: whether an item is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemStatus {
    #[serde(rename = "在用")]
    InUse,
    #[serde(rename = "暂停")]
    Suspended,
    #[serde(rename = "取消")]
    Cancelled,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 3] = [Self::InUse, Self::Suspended, Self::Cancelled];

    /// The code as stored and exchanged (the national wording).
    pub fn code(self) -> &'static str {
        match self {
            Self::InUse => "在用",
            Self::Suspended => "暂停",
            Self::Cancelled => "取消",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::InUse => "catalog.status.in_use",
            Self::Suspended => "catalog.status.suspended",
            Self::Cancelled => "catalog.status.cancelled",
        }
    }
}

/// Whom a theme serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeAudience {
    Person,
    Enterprise,
}

/// A citizen or enterprise theme (主题); names come from the locale key `theme.<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub code: &'static str,
    pub audience: ThemeAudience,
}

impl Theme {
    pub fn name_key(&self) -> String {
        format!("theme.{}", self.code)
    }
}

const fn theme(code: &'static str, audience: ThemeAudience) -> Theme {
    Theme { code, audience }
}

/// Every theme, in the order the portal shows them.
pub const THEMES: &[Theme] = &[
    theme("birth", ThemeAudience::Person),
    theme("hukou", ThemeAudience::Person),
    theme("marriage", ThemeAudience::Person),
    theme("social_security", ThemeAudience::Person),
    theme("medical", ThemeAudience::Person),
    theme("housing", ThemeAudience::Person),
    theme("employment", ThemeAudience::Person),
    theme("assistance", ThemeAudience::Person),
    theme("legal", ThemeAudience::Person),
    theme("establishment", ThemeAudience::Enterprise),
    theme("investment", ThemeAudience::Enterprise),
    theme("tax", ThemeAudience::Enterprise),
    theme("construction", ThemeAudience::Enterprise),
    theme("safety", ThemeAudience::Enterprise),
    theme("food", ThemeAudience::Enterprise),
];

pub fn find_theme(code: &str) -> Option<&'static Theme> {
    THEMES.iter().find(|t| t.code == code)
}

pub fn themes_for(audience: ThemeAudience) -> Vec<&'static Theme> {
    THEMES.iter().filter(|t| t.audience == audience).collect()
}

/// A file kept with the catalog (a material's blank template or filled-in sample), named by the SM3
/// digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// File name shown and offered on download.
    pub name: String,
    /// SM3 of the content, lowercase hex.
    pub digest: String,
}

/// One required document (申请材料).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Material {
    pub name: String,
    /// 来源渠道: who issues it (申请人, a department, …).
    #[serde(default)]
    pub source: String,
    /// Originals to show or hand in.
    #[serde(default)]
    pub original: u32,
    /// Copies to hand in.
    #[serde(default)]
    pub copies: u32,
    #[serde(default = "yes")]
    pub mandatory: bool,
    /// Form, requirements, when it is not needed.
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub template: Option<FileRef>,
    #[serde(default)]
    pub sample: Option<FileRef>,
}

fn yes() -> bool {
    true
}

/// An amount of money in fen (分), written as yuan with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Yuan(pub i64);

impl Yuan {
    pub fn fen(self) -> i64 {
        self.0
    }

    /// Parse "20", "20.5" or "20.50".
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
            return None;
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        whole.checked_mul(100)?.checked_add(frac).map(Yuan)
    }
}

impl std::fmt::Display for Yuan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 % 100 == 0 {
            write!(f, "{}", self.0 / 100)
        } else {
            write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
        }
    }
}

impl Serialize for Yuan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 100 == 0 {
            s.serialize_i64(self.0 / 100)
        } else {
            s.serialize_f64(self.0 as f64 / 100.0)
        }
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let text = match &value {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => String::new(),
        };
        Yuan::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{value} is not an amount in yuan with at most two decimals"
            ))
        })
    }
}

/// A fee (收费项目) with its legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub item: String,
    /// None: charged by a published standard that varies (the basis says which).
    #[serde(default)]
    pub amount_yuan: Option<Yuan>,
    pub basis: String,
}

/// A frequently asked question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faq {
    pub q: String,
    pub a: String,
}

/// Everything about an item that a version may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemContent {
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    pub base_code: String,
    pub kind: ItemKind,
    pub level: AdminLevel,
    pub audience: Vec<AudienceType>,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub legal_basis: Vec<String>,
    pub conditions: String,
    #[serde(default)]
    pub materials: Vec<Material>,
    #[serde(default)]
    pub legal_limit: Option<TimeLimit>,
    #[serde(default)]
    pub promised_limit: Option<TimeLimit>,
    pub case_type: CaseType,
    #[serde(default)]
    pub fees: Vec<Fee>,
    pub handling_forms: Vec<HandlingForm>,
    /// 跑动次数: visits to a hall the applicant needs at most.
    #[serde(default)]
    pub visits: u32,
    #[serde(default)]
    pub online_depth: Vec<OnlineDepth>,
    #[serde(default)]
    pub appointment: bool,
    #[serde(default)]
    pub postal_delivery: bool,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub hours: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub faq: Vec<Faq>,
    /// 办理结果: what the applicant receives (a licence type, a decision…).
    #[serde(default)]
    pub result: String,
    pub status: ItemStatus,
    /// Words people use for this item (colloquial names, old names) that search should know.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Listed in the small-business zone (小微企业专区).
    #[serde(default)]
    pub small_business: bool,
}

/// One item as exchanged in imports and exports: identity plus the content of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRecord {
    pub impl_code: String,
    /// The performing department's code.
    pub department: String,
    #[serde(flatten)]
    pub content: ItemContent,
}

impl ItemContent {
    /// The name to show where space is short.
    pub fn display_short_name(&self) -> &str {
        if self.short_name.trim().is_empty() {
            &self.name
        } else {
            &self.short_name
        }
    }

    /// The limit the platform tracks: the promised one when set, else the legal one.
    pub fn effective_limit(&self) -> Option<TimeLimit> {
        self.promised_limit.or(self.legal_limit)
    }

    /// Whether the item can be applied for online (PC or mobile).
    pub fn is_online(&self) -> bool {
        self.handling_forms
            .iter()
            .any(|f| matches!(f, HandlingForm::OnlinePc | HandlingForm::OnlineMobile))
    }

    /// Whether natural persons, legal persons, or both may apply.
    pub fn serves_persons(&self) -> bool {
        self.audience.contains(&AudienceType::NaturalPerson)
    }

    pub fn serves_legal_persons(&self) -> bool {
        self.audience.iter().any(|a| a.is_legal())
    }

    /// Every rule a version's content must satisfy before it can be saved, each broken rule reported.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |field: &str, code: &'static str, message: String| {
            out.push(Problem {
                field: field.to_owned(),
                code,
                message,
            });
        };
        let name_len = self.name.trim().chars().count();
        if !(2..=100).contains(&name_len) {
            bad(
                "name",
                "item_name_length",
                "the name has 2 to 100 characters".to_owned(),
            );
        }
        if self.short_name.chars().count() > 50 {
            bad(
                "short_name",
                "item_short_name_length",
                "the short name has at most 50 characters".to_owned(),
            );
        }
        if self.base_code.len() != 12 || !self.base_code.bytes().all(|b| b.is_ascii_digit()) {
            bad(
                "base_code",
                "item_base_code_invalid",
                format!("the base code has 12 digits, got {:?}", self.base_code),
            );
        }
        if self.audience.is_empty() {
            bad(
                "audience",
                "item_audience_missing",
                "name at least one audience".to_owned(),
            );
        }
        for theme in &self.themes {
            if find_theme(theme).is_none() {
                bad(
                    "themes",
                    "item_theme_unknown",
                    format!("unknown theme {theme:?}"),
                );
            }
        }
        if self.kind != ItemKind::PublicService
            && self.legal_basis.iter().all(|b| b.trim().is_empty())
        {
            bad(
                "legal_basis",
                "item_legal_basis_missing",
                "an administrative power item cites its legal basis".to_owned(),
            );
        }
        if self.conditions.trim().is_empty() {
            bad(
                "conditions",
                "item_conditions_missing",
                "state the acceptance conditions".to_owned(),
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in self.materials.iter().enumerate() {
            let field = format!("materials[{}]", i + 1);
            if m.name.trim().is_empty() {
                bad(
                    &field,
                    "material_name_missing",
                    "a material needs a name".to_owned(),
                );
            } else if !names.insert(m.name.trim()) {
                bad(
                    &field,
                    "material_duplicate",
                    format!("material {:?} is listed twice", m.name),
                );
            }
            if m.original > 99 || m.copies > 99 {
                bad(
                    &field,
                    "material_count_invalid",
                    "originals and copies are 0 to 99".to_owned(),
                );
            }
        }
        for (field, limit) in [
            ("legal_limit", self.legal_limit),
            ("promised_limit", self.promised_limit),
        ] {
            if let Some(limit) = limit
                && (limit.amount == 0 || limit.amount > 3650)
            {
                bad(
                    field,
                    "item_limit_invalid",
                    "a time limit is 1 to 3650 units".to_owned(),
                );
            }
        }
        if let (Some(legal), Some(promised)) = (self.legal_limit, self.promised_limit)
            && legal.unit == promised.unit
            && promised.amount > legal.amount
        {
            bad(
                "promised_limit",
                "item_promise_exceeds_law",
                format!(
                    "the promised limit ({}) exceeds the legal limit ({})",
                    promised.amount, legal.amount
                ),
            );
        }
        if self.case_type == CaseType::Promised && self.effective_limit().is_none() {
            bad(
                "promised_limit",
                "item_limit_missing",
                "a promised item (承诺件) states its time limit".to_owned(),
            );
        }
        for (i, fee) in self.fees.iter().enumerate() {
            let field = format!("fees[{}]", i + 1);
            if fee.item.trim().is_empty() || fee.basis.trim().is_empty() {
                bad(
                    &field,
                    "fee_incomplete",
                    "a fee names the item and its basis".to_owned(),
                );
            }
        }
        if self.handling_forms.is_empty() {
            bad(
                "handling_forms",
                "item_forms_missing",
                "name at least one handling form".to_owned(),
            );
        }
        if self.visits > 9 {
            bad(
                "visits",
                "item_visits_invalid",
                "visits are 0 to 9".to_owned(),
            );
        }
        for (i, faq) in self.faq.iter().enumerate() {
            if faq.q.trim().is_empty() || faq.a.trim().is_empty() {
                bad(
                    &format!("faq[{}]", i + 1),
                    "faq_incomplete",
                    "a question needs its answer".to_owned(),
                );
            }
        }
        if self.phone.trim().is_empty() {
            bad(
                "phone",
                "item_phone_missing",
                "give a phone number for questions".to_owned(),
            );
        }
        out
    }
}

/// Whether an implementation code is well formed: 1 to 36 ASCII letters and digits.
pub fn impl_code_problem(code: &str) -> Option<Problem> {
    let ok = !code.is_empty()
        && code.len() <= 36
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    (!ok).then(|| Problem {
        field: "impl_code".to_owned(),
        code: "item_impl_code_invalid",
        message: format!(
            "the implementation code has 1 to 36 digits and capital letters, got {code:?}"
        ),
    })
}

/// One broken rule: which field, a stable code and an English explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// Where a version is in the review workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Being edited.
    Draft,
    /// Submitted; waiting for a second staff member.
    InReview,
    /// Sent back by the reviewer; the author edits it again.
    Rejected,
    /// Approved; in effect from its effective date.
    Published,
}

impl VersionState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InReview => "in_review",
            Self::Rejected => "rejected",
            Self::Published => "published",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Self::Draft, Self::InReview, Self::Rejected, Self::Published]
            .into_iter()
            .find(|s| s.code() == code)
    }

    pub fn label_key(self) -> String {
        format!("catalog.version_state.{}", self.code())
    }

    /// Still open: not yet published.
    pub fn is_open(self) -> bool {
        self != Self::Published
    }
}

/// An item with its department, as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub id: ItemId,
    pub impl_code: String,
    pub department_id: DepartmentId,
    pub department_code: String,
    pub department_name: String,
    pub region_code: String,
    /// The version in effect today, if any has been published.
    pub current_version: Option<u32>,
}

/// One version of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVersion {
    pub id: VersionId,
    pub item_id: ItemId,
    pub version_no: u32,
    pub state: VersionState,
    pub content: ItemContent,
    pub effective_from: Option<NaiveDate>,
    pub author: Option<StaffRef>,
    pub reviewer: Option<StaffRef>,
    pub review_note: String,
    /// What the author says changed.
    pub change_note: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

/// A staff member named on a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffRef {
    pub id: StaffId,
    pub name: String,
}

/// An item with one version: what a guide page or an API answer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemWithVersion {
    pub item: Item,
    pub version: ItemVersion,
}

/// 一件事: several items handled together for one life situation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifeEventRecord {
    pub code: String,
    pub name: String,
    pub description: String,
    /// Implementation codes of the items, in the order they are handled.
    pub items: Vec<String>,
    pub audience: Vec<AudienceType>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifeEvent {
    pub id: LifeEventId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub audience: Vec<AudienceType>,
    pub item_ids: Vec<ItemId>,
}

/// The unit of a limit as a locale key.
pub fn unit_key(unit: TimeUnit) -> String {
    format!("catalog.unit.{}", unit.code())
}
