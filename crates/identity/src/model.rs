//! Organisation types: regions and departments, parsed from raw input before they reach the database.

use serde::{Deserialize, Serialize};
use yiwang_kernel::{Mobile, RegionCode, ResidentId, Uscc};

yiwang_kernel::define_id!(pub DepartmentId);

/// The level of an administrative region node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    Province,
    City,
    District,
    Street,
    Community,
}

impl RegionLevel {
    pub fn code(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::District => "district",
            RegionLevel::Street => "street",
            RegionLevel::Community => "community",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RegionLevel::Province,
            RegionLevel::City,
            RegionLevel::District,
            RegionLevel::Street,
            RegionLevel::Community,
        ]
        .into_iter()
        .find(|l| l.code() == text)
    }

    /// Six-digit GB/T 2260 codes down to county level, twelve-digit statistical codes below.
    pub fn code_len(self) -> usize {
        match self {
            RegionLevel::Province | RegionLevel::City | RegionLevel::District => 6,
            RegionLevel::Street | RegionLevel::Community => 12,
        }
    }

    /// The level a parent of this level must have.
    pub fn parent_level(self) -> Option<Self> {
        match self {
            RegionLevel::Province => None,
            RegionLevel::City => Some(RegionLevel::Province),
            RegionLevel::District => Some(RegionLevel::City),
            RegionLevel::Street => Some(RegionLevel::District),
            RegionLevel::Community => Some(RegionLevel::Street),
        }
    }
}

/// A node of the region tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: RegionLevel,
    pub parent_code: Option<String>,
}

impl Region {
    /// The six-digit county-level (or higher) code this node lies in.
    pub fn region_code(&self) -> &str {
        &self.code[..6]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepartmentKind {
    /// A government organ (机关).
    Government,
    /// A public institution (事业单位), e.g. a hospital or a housing-fund centre.
    PublicInstitution,
    /// A vertically managed body, e.g. the tax bureau.
    Vertical,
}

impl DepartmentKind {
    pub fn code(self) -> &'static str {
        match self {
            DepartmentKind::Government => "government",
            DepartmentKind::PublicInstitution => "public_institution",
            DepartmentKind::Vertical => "vertical",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            DepartmentKind::Government,
            DepartmentKind::PublicInstitution,
            DepartmentKind::Vertical,
        ]
        .into_iter()
        .find(|k| k.code() == text)
    }
}

/// A department (实施主体) as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Department {
    pub id: DepartmentId,
    /// Short stable slug, e.g. `hf-scjgj`.
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub region_code: RegionCode,
    pub uscc: Uscc,
    pub kind: DepartmentKind,
    /// Names before the 2018–2019 institutional reform, so people can still find them.
    pub former_names: Vec<String>,
    pub phone: String,
    pub address: String,
}

/// A department before it is stored (parsed input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDepartment {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub region_code: RegionCode,
    pub uscc: Uscc,
    pub kind: DepartmentKind,
    pub former_names: Vec<String>,
    pub phone: String,
    pub address: String,
}

/// Raw organisation data as found in a demo or import file; [`crate::service::parse_org`] checks it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrgData {
    #[serde(default)]
    pub regions: Vec<RawRegion>,
    #[serde(default)]
    pub departments: Vec<RawDepartment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawRegion {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RawDepartment {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub region: String,
    pub uscc: String,
    pub kind: String,
    #[serde(default)]
    pub former_names: Vec<String>,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub address: String,
}

yiwang_kernel::define_id!(pub PersonId);

/// One input problem, for forms (all of them at once) and the API (the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    /// Stable message key, e.g. `ident_bad_check_char`, `password_too_short`.
    pub code: &'static str,
    /// What is wrong, in English (the UI shows the translated `code`).
    pub message: String,
}

/// A person's real name as on the resident ID: 2–40 characters, letters (any script), the middle dot of
/// minority and foreign names (阿依古丽·买买提), and single spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let name: String = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let count = name.chars().count();
        let bad = |code: &'static str, message: String| FieldError {
            field: "name",
            code,
            message,
        };
        if count < 2 {
            return Err(bad(
                "name_too_short",
                "the name must have at least 2 characters".to_owned(),
            ));
        }
        if count > 40 {
            return Err(bad(
                "name_too_long",
                "the name must have at most 40 characters".to_owned(),
            ));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_alphabetic() || matches!(c, '·' | '•' | '.' | ' ')))
        {
            return Err(bad(
                "name_invalid_char",
                format!("the name may not contain {c:?}"),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Registration input exactly as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RawRegistration {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub resident_id: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub password: String,
}

/// Registration input, parsed.
#[derive(Debug, Clone)]
pub struct Registration {
    pub name: PersonName,
    pub resident_id: ResidentId,
    pub mobile: Mobile,
    pub password: String,
}

impl Registration {
    /// Parse every field; all problems are returned together so a form can show them at once.
    pub fn parse(raw: &RawRegistration) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = PersonName::parse(&raw.name)
            .map_err(|e| errors.push(e))
            .ok();
        let resident_id = ResidentId::parse(&raw.resident_id)
            .map_err(|e| {
                errors.push(FieldError {
                    field: "resident_id",
                    code: e.code(),
                    message: e.to_string(),
                });
            })
            .ok();
        let mobile = Mobile::parse(&raw.mobile)
            .map_err(|e| {
                errors.push(FieldError {
                    field: "mobile",
                    code: e.code(),
                    message: e.to_string(),
                });
            })
            .ok();
        let mut identifiers = Vec::new();
        if let Some(id) = &resident_id {
            identifiers.push(id.as_str());
        }
        if let Some(m) = &mobile {
            identifiers.push(m.as_str());
        }
        if let Err(problem) = crate::password::check_rules(&raw.password, &identifiers) {
            errors.push(FieldError {
                field: "password",
                code: problem.code(),
                message: problem.message(),
            });
        }
        match (name, resident_id, mobile) {
            (Some(name), Some(resident_id), Some(mobile)) if errors.is_empty() => Ok(Self {
                name,
                resident_id,
                mobile,
                password: raw.password.clone(),
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Disabled,
}

/// A person as anyone but the owner may see them: identifiers masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    #[serde(skip)]
    pub id: PersonId,
    /// Stable public identifier, safe in URLs.
    pub public_id: String,
    pub name: String,
    pub resident_id_masked: String,
    pub mobile_masked: String,
    pub status: AccountStatus,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The owner's own view: identifiers in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnProfile {
    pub person: Person,
    pub resident_id: ResidentId,
    pub mobile: Mobile,
}

/// Who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Person(PersonId),
    Staff(StaffId),
}

impl Account {
    /// The `account_kind` stored with sessions.
    pub fn kind(self) -> &'static str {
        match self {
            Account::Person(_) => "person",
            Account::Staff(_) => "staff",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Account::Person(id) => id.get(),
            Account::Staff(id) => id.get(),
        }
    }
}

/// A live session as its owner sees it in "my sessions".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub public_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub ip: String,
    pub user_agent: String,
    /// The session this request is using.
    pub current: bool,
}

/// An authenticated request's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSession {
    pub account: Account,
    pub public_id: String,
    pub csrf_token: String,
    pub token_hash: String,
}

/// Where a request came from, recorded with sessions and audit entries.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    pub ip: String,
    pub user_agent: String,
}

yiwang_kernel::define_id!(pub StaffId);
yiwang_kernel::define_id!(pub PostId);
yiwang_kernel::define_id!(pub EnterpriseId);

/// What a staff member may do (ARCHITECTURE §6). Roles add to what their posts allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 窗口人员: registers cases at the counter.
    WindowStaff,
    /// 审批人员: decides on cases at their post.
    Approver,
    /// 部门管理员: manages the department's staff and posts.
    DepartmentAdmin,
    /// 平台管理员: manages every department.
    PlatformAdmin,
    /// 监察人员: watches deadlines and quality in their region.
    Supervisor,
    /// 审计人员: reads the audit log in their region.
    Auditor,
    GridWorker,
    HotlineOperator,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::WindowStaff,
        Role::Approver,
        Role::DepartmentAdmin,
        Role::PlatformAdmin,
        Role::Supervisor,
        Role::Auditor,
        Role::GridWorker,
        Role::HotlineOperator,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::WindowStaff => "window_staff",
            Role::Approver => "approver",
            Role::DepartmentAdmin => "department_admin",
            Role::PlatformAdmin => "platform_admin",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::GridWorker => "grid_worker",
            Role::HotlineOperator => "hotline_operator",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.code() == text.trim())
    }

    /// Roles that reach beyond one department; only platform administrators grant them.
    pub fn is_wide(self) -> bool {
        matches!(self, Role::PlatformAdmin | Role::Supervisor | Role::Auditor)
    }
}

/// A post (岗位) of a department, with its duties; workflow steps are assigned to posts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    #[serde(skip)]
    pub id: PostId,
    pub code: String,
    pub name: String,
    pub duties: String,
}

/// A new post as submitted (checked by the service).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PostInput {
    pub code: String,
    pub name: String,
    pub duties: String,
}

/// A staff member as administrators see them (mobile masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staff {
    #[serde(skip)]
    pub id: StaffId,
    pub public_id: String,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_code: String,
    pub region_code: String,
    pub employee_no: String,
    pub name: String,
    pub mobile_masked: String,
    pub roles: Vec<Role>,
    pub posts: Vec<Post>,
    pub status: AccountStatus,
}

/// New staff input exactly as submitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RawNewStaff {
    pub employee_no: String,
    pub name: String,
    pub mobile: String,
    pub password: String,
    pub roles: Vec<String>,
    pub posts: Vec<String>,
}

/// New staff input, parsed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// 工号: 4–20 letters and digits, unique across the platform.
    pub employee_no: String,
    pub name: PersonName,
    pub mobile: Mobile,
    pub password: String,
    pub roles: Vec<Role>,
    /// Codes of posts of the same department.
    pub posts: Vec<String>,
}

impl NewStaff {
    pub fn parse(raw: &RawNewStaff) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let employee_no = raw.employee_no.trim().to_ascii_uppercase();
        if !(4..=20).contains(&employee_no.len())
            || !employee_no.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            errors.push(FieldError {
                field: "employee_no",
                code: "employee_no_invalid",
                message: "the employee number has 4–20 letters and digits".to_owned(),
            });
        }
        let name = PersonName::parse(&raw.name)
            .map_err(|e| errors.push(e))
            .ok();
        let mobile = Mobile::parse(&raw.mobile)
            .map_err(|e| {
                errors.push(FieldError {
                    field: "mobile",
                    code: e.code(),
                    message: e.to_string(),
                });
            })
            .ok();
        let identifiers: Vec<&str> = mobile.iter().map(Mobile::as_str).collect();
        if let Err(problem) = crate::password::check_rules(&raw.password, &identifiers) {
            errors.push(FieldError {
                field: "password",
                code: problem.code(),
                message: problem.message(),
            });
        }
        let mut roles = Vec::new();
        for text in &raw.roles {
            match Role::parse(text) {
                Some(role) if !roles.contains(&role) => roles.push(role),
                Some(_) => {}
                None => errors.push(FieldError {
                    field: "roles",
                    code: "role_unknown",
                    message: format!("unknown role {text:?}"),
                }),
            }
        }
        roles.sort();
        match (name, mobile) {
            (Some(name), Some(mobile)) if errors.is_empty() => Ok(Self {
                employee_no,
                name,
                mobile,
                password: raw.password.clone(),
                roles,
                posts: raw
                    .posts
                    .iter()
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
            }),
            _ => Err(errors),
        }
    }
}

/// An enterprise (legal person) registered on the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    #[serde(skip)]
    pub id: EnterpriseId,
    pub public_id: String,
    pub uscc: Uscc,
    pub name: String,
    #[serde(skip)]
    pub legal_representative: PersonId,
    pub legal_representative_name: String,
}

/// An agent authorised to act for an enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub person_public_id: String,
    pub name: String,
    pub mobile_masked: String,
    pub granted_at: chrono::DateTime<chrono::Utc>,
}

/// How the caller relates to an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnterpriseRelation {
    LegalRepresentative,
    Agent,
}

/// Where a claim to represent an enterprise stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// The register did not confirm it; a clerk has not decided yet.
    Pending,
    Approved,
    Rejected,
}

impl ClaimStatus {
    pub fn code(self) -> &'static str {
        match self {
            ClaimStatus::Pending => "pending",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Rejected => "rejected",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "pending" => Some(ClaimStatus::Pending),
            "approved" => Some(ClaimStatus::Approved),
            "rejected" => Some(ClaimStatus::Rejected),
            _ => None,
        }
    }
}

/// A person's claim to be an enterprise's legal representative, held for a clerk because the
/// enterprise register could not confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnterpriseClaim {
    #[serde(skip)]
    pub id: i64,
    pub public_id: String,
    pub uscc: Uscc,
    pub name: String,
    #[serde(skip)]
    pub person: PersonId,
    pub person_name: String,
    pub person_mobile_masked: String,
    pub person_resident_id_masked: String,
    pub status: ClaimStatus,
    /// Why the register did not decide.
    pub register_note: String,
    pub decision_note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}
