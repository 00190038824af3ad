//! Organisation types: regions and departments, parsed from raw input before they reach the database.

use serde::{Deserialize, Serialize};
use yiwang_kernel::{RegionCode, Uscc};

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
