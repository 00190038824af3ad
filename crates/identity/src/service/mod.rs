//! Organisation use cases: load (import) the region tree and departments, and read them for the portal.

pub mod account;
pub mod enterprise;
pub mod recovery;
pub mod register;
pub mod registration;
pub mod staff;
pub mod tokens;

use std::collections::HashMap;

use yiwang_db::Db;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::{RegionCode, SharedClock, Uscc};

use crate::IdentityError;
use crate::model::{Department, DepartmentKind, NewDepartment, OrgData, Region, RegionLevel};
use crate::repo::{self, Upserted};

/// Checked organisation data, ready to store.
#[derive(Debug, Clone)]
pub struct ParsedOrg {
    pub regions: Vec<Region>,
    pub departments: Vec<NewDepartment>,
}

/// Check raw organisation data: code formats per level, parents present and of the right level, codes
/// below county level inside their county, departments in a known region with a valid USCC. Every
/// problem names its entry.
pub fn parse_org(data: &OrgData) -> Result<ParsedOrg, IdentityError> {
    let invalid = |entry: &str, reason: String| IdentityError::InvalidOrgData {
        entry: entry.to_owned(),
        reason,
    };
    let mut regions = Vec::with_capacity(data.regions.len());
    let mut levels: HashMap<&str, RegionLevel> = HashMap::new();
    for raw in &data.regions {
        let entry = format!("region {} ({})", raw.code, raw.name);
        let level = RegionLevel::parse(&raw.level)
            .ok_or_else(|| invalid(&entry, format!("unknown level {:?}", raw.level)))?;
        if raw.code.len() != level.code_len() || !raw.code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                &entry,
                format!("a {} code has {} digits", level.code(), level.code_len()),
            ));
        }
        RegionCode::parse(&raw.code[..6]).map_err(|e| invalid(&entry, e.to_string()))?;
        if raw.name.trim().is_empty() {
            return Err(invalid(&entry, "the name is empty".to_owned()));
        }
        match (level.parent_level(), raw.parent.as_deref()) {
            (None, None) => {}
            (None, Some(_)) => return Err(invalid(&entry, "a province has no parent".to_owned())),
            (Some(_), None) => return Err(invalid(&entry, "the parent is missing".to_owned())),
            (Some(expected), Some(parent)) => {
                let parent_level = levels.get(parent).ok_or_else(|| {
                    invalid(&entry, format!("parent {parent} is not listed before it"))
                })?;
                if *parent_level != expected {
                    return Err(invalid(
                        &entry,
                        format!(
                            "parent {parent} is a {}, expected a {}",
                            parent_level.code(),
                            expected.code()
                        ),
                    ));
                }
                let shared_prefix = match level {
                    RegionLevel::City => 2,
                    RegionLevel::District => 4,
                    _ => 0,
                };
                if shared_prefix > 0 && raw.code[..shared_prefix] != parent[..shared_prefix] {
                    return Err(invalid(
                        &entry,
                        format!(
                            "the code must start with its parent's {}",
                            &parent[..shared_prefix]
                        ),
                    ));
                }
                if matches!(level, RegionLevel::Street) && raw.code[..6] != parent[..6] {
                    return Err(invalid(
                        &entry,
                        format!("a street code must start with its district's code {parent}"),
                    ));
                }
                if matches!(level, RegionLevel::Community) && raw.code[..9] != parent[..9] {
                    return Err(invalid(
                        &entry,
                        format!(
                            "a community code must start with its street's code {}",
                            &parent[..9]
                        ),
                    ));
                }
            }
        }
        if levels.insert(&raw.code, level).is_some() {
            return Err(invalid(&entry, "the code is listed twice".to_owned()));
        }
        regions.push(Region {
            code: raw.code.clone(),
            name: raw.name.trim().to_owned(),
            level,
            parent_code: raw.parent.clone(),
        });
    }
    let mut departments = Vec::with_capacity(data.departments.len());
    let mut seen_codes = std::collections::HashSet::new();
    let mut seen_usccs = std::collections::HashSet::new();
    for raw in &data.departments {
        let entry = format!("department {} ({})", raw.code, raw.name);
        let region_code =
            RegionCode::parse(&raw.region).map_err(|e| invalid(&entry, e.to_string()))?;
        if !levels.contains_key(raw.region.as_str()) {
            return Err(invalid(
                &entry,
                format!("region {} is not in the region list", raw.region),
            ));
        }
        let uscc = Uscc::parse(&raw.uscc).map_err(|e| invalid(&entry, format!("USCC: {e}")))?;
        let kind = DepartmentKind::parse(&raw.kind)
            .ok_or_else(|| invalid(&entry, format!("unknown kind {:?}", raw.kind)))?;
        if raw.code.is_empty()
            || !raw
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(
                &entry,
                "the code must be lowercase letters, digits and '-'".to_owned(),
            ));
        }
        if !seen_codes.insert(raw.code.clone()) {
            return Err(invalid(&entry, "the code is listed twice".to_owned()));
        }
        if !seen_usccs.insert(uscc.as_str().to_owned()) {
            return Err(invalid(
                &entry,
                format!("USCC {uscc} belongs to another department in the list"),
            ));
        }
        if raw.name.trim().is_empty() || raw.short_name.trim().is_empty() {
            return Err(invalid(
                &entry,
                "the name and the short name must not be empty".to_owned(),
            ));
        }
        departments.push(NewDepartment {
            code: raw.code.clone(),
            name: raw.name.trim().to_owned(),
            short_name: raw.short_name.trim().to_owned(),
            region_code,
            uscc,
            kind,
            former_names: raw.former_names.clone(),
            phone: raw.phone.clone(),
            address: raw.address.clone(),
        });
    }
    Ok(ParsedOrg {
        regions,
        departments,
    })
}

/// What a load changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub regions_changed: usize,
    pub departments_created: usize,
    pub departments_updated: usize,
    pub departments_unchanged: usize,
}

/// Store organisation data in one transaction; loading the same data twice changes nothing. Every
/// created or changed department writes an audit entry.
#[tracing::instrument(skip_all, err)]
pub async fn load_org(
    db: &Db,
    clock: &SharedClock,
    org: &ParsedOrg,
    actor: &str,
) -> Result<LoadReport, IdentityError> {
    let now = clock.now();
    let tx = db.begin().await?;
    let mut report = LoadReport::default();
    for (i, region) in org.regions.iter().enumerate() {
        if repo::upsert_region(&tx, region, i as i64).await? {
            report.regions_changed += 1;
        }
    }
    for dept in &org.departments {
        let (action, id) = match repo::upsert_department(&tx, dept, now).await? {
            Upserted::Created(id) => {
                report.departments_created += 1;
                ("department.create", id)
            }
            Upserted::Updated(id) => {
                report.departments_updated += 1;
                ("department.update", id)
            }
            Upserted::Unchanged(_) => {
                report.departments_unchanged += 1;
                continue;
            }
        };
        audit::append(
            &tx,
            now,
            &AuditEvent::new(actor, action, format!("department:{}", dept.code), "import").detail(
                serde_json::json!({ "id": id.get(), "name": dept.name, "uscc": dept.uscc.as_str() }),
            ),
        )
        .await?;
    }
    tx.commit().await.map_err(yiwang_db::DbError::from)?;
    Ok(report)
}

pub async fn departments(db: &Db, region_prefix: &str) -> Result<Vec<Department>, IdentityError> {
    repo::list_departments(db.conn(), region_prefix).await
}

pub async fn department(db: &Db, code: &str) -> Result<Department, IdentityError> {
    repo::department_by_code(db.conn(), code)
        .await?
        .ok_or_else(|| IdentityError::DepartmentNotFound(code.to_owned()))
}

pub async fn region_children(db: &Db, parent: Option<&str>) -> Result<Vec<Region>, IdentityError> {
    repo::region_children(db.conn(), parent).await
}

pub async fn region(db: &Db, code: &str) -> Result<Option<Region>, IdentityError> {
    repo::region_by_code(db.conn(), code).await
}

/// A region and its ancestors, root first.
pub async fn region_path(db: &Db, code: &str) -> Result<Vec<Region>, IdentityError> {
    Ok(region_paths(db, &[code])
        .await?
        .remove(code)
        .unwrap_or_default())
}

/// The deepest a region tree goes (province, city, county, township, village and a margin); a longer
/// chain of parents is cut there rather than followed round a cycle in bad data.
const MAX_REGION_DEPTH: usize = 8;

/// Each region's path (the region and its ancestors, root first), for many regions in one query.
/// A code that names no region has no entry.
pub async fn region_paths(
    db: &Db,
    codes: &[&str],
) -> Result<HashMap<String, Vec<Region>>, IdentityError> {
    let found = repo::region_paths::regions_with_ancestors(db.conn(), codes).await?;
    let by_code: HashMap<&str, &Region> = found.iter().map(|r| (r.code.as_str(), r)).collect();
    let mut paths = HashMap::with_capacity(codes.len());
    for code in codes {
        let mut path = Vec::new();
        let mut next = by_code.get(code).copied();
        while let Some(region) = next.filter(|_| path.len() < MAX_REGION_DEPTH) {
            path.push(region.clone());
            next = region
                .parent_code
                .as_deref()
                .and_then(|parent| by_code.get(parent).copied());
        }
        if !path.is_empty() {
            path.reverse();
            paths.insert((*code).to_owned(), path);
        }
    }
    Ok(paths)
}

/// Departments grouped by their region, with the region's path.
#[derive(Debug, Clone)]
pub struct RegionDepartments {
    /// The region and its ancestors, root first (empty when the region is unknown).
    pub path: Vec<Region>,
    pub departments: Vec<Department>,
}

/// Departments grouped by region (consecutive departments of one region form a group, as listed),
/// the groups inside `home` first and the others after them in their order; two queries in all.
pub async fn departments_by_region(
    db: &Db,
    departments: Vec<Department>,
    home: Option<&RegionCode>,
) -> Result<Vec<RegionDepartments>, IdentityError> {
    let mut groups: Vec<(RegionCode, Vec<Department>)> = Vec::new();
    for dept in departments {
        match groups.last_mut() {
            Some((region, members)) if *region == dept.region_code => members.push(dept),
            _ => groups.push((dept.region_code.clone(), vec![dept])),
        }
    }
    let codes: Vec<&str> = groups.iter().map(|(region, _)| region.as_str()).collect();
    let mut paths = region_paths(db, &codes).await?;
    let mut out: Vec<(bool, RegionDepartments)> = groups
        .into_iter()
        .map(|(region, departments)| {
            let inside_home = home.is_some_and(|home| home.contains(&region));
            let path = paths.remove(region.as_str()).unwrap_or_default();
            (inside_home, RegionDepartments { path, departments })
        })
        .collect();
    // Stable: the platform's own region first, the others after it in their order.
    out.sort_by_key(|(inside_home, _)| !inside_home);
    Ok(out.into_iter().map(|(_, group)| group).collect())
}

/// Counts of regions per level and of departments.
pub async fn org_counts(db: &Db) -> Result<(Vec<(String, i64)>, i64), IdentityError> {
    repo::org_counts(db.conn()).await
}

/// Departments and regions matching a visitor's search text.
#[derive(Debug, Clone, Default)]
pub struct OrgSearch {
    pub departments: Vec<Department>,
    pub regions: Vec<Region>,
}

pub async fn search_org(db: &Db, text: &str, limit: i64) -> Result<OrgSearch, IdentityError> {
    // JSON punctuation never occurs in a name; dropping it keeps former-name matching inside the names.
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '"' | '[' | ']' | ',' | '\\'))
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(OrgSearch::default());
    }
    Ok(OrgSearch {
        departments: repo::search_departments(db.conn(), text, limit).await?,
        regions: repo::search_regions(db.conn(), text, limit).await?,
    })
}
