//! The category tree (派单目录) and its routing rules, kept by platform administrators (or the
//! system when seeding), and the routing itself: the most specific category with a rule, then the
//! most specific region with a rule, from the request's region up to the province.

use serde_json::json;
use yiwang_db::ConnectionTrait;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{DepartmentId, Role};
use yiwang_identity::policy::Principal;

use super::{MAX_NOTE_CHARS, Requests, actor, record_in, required};
use crate::RequestError;
use crate::model::Category;
use crate::repo;

/// Deepest category tree and region chain walked (guards against a cycle in stored data).
const MAX_DEPTH: usize = 12;

fn may_configure(principal: &Principal) -> Result<(), RequestError> {
    match principal {
        Principal::System => Ok(()),
        Principal::Staff(s) if s.has(Role::PlatformAdmin) => Ok(()),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// The department responsible for `category` in `region_code`: for each category from the given
/// one up to the root, for each region from the given one up to the province, the first rule.
pub(crate) async fn route_in<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    region_code: &str,
) -> Result<Option<DepartmentId>, RequestError> {
    let mut regions = Vec::new();
    let mut next = Some(region_code.to_owned());
    while let Some(code) = next.take() {
        if regions.len() >= MAX_DEPTH {
            break;
        }
        let Some(row) = repo::region(conn, &code).await? else {
            break;
        };
        next = row.parent;
        regions.push(code);
    }
    let mut next = Some(category.to_owned());
    let mut depth = 0;
    while let Some(code) = next.take() {
        depth += 1;
        if depth > MAX_DEPTH {
            break;
        }
        for region in &regions {
            if let Some(department) = repo::route(conn, &code, region).await? {
                return Ok(Some(department));
            }
        }
        next = repo::category(conn, &code).await?.and_then(|c| c.parent);
    }
    Ok(None)
}

impl Requests {
    /// Adds or renames a node of the category tree; its parent must exist.
    #[tracing::instrument(skip_all, err)]
    pub async fn define_category(
        &self,
        principal: &Principal,
        code: &str,
        name: &str,
        parent: Option<&str>,
        source: &str,
    ) -> Result<Category, RequestError> {
        may_configure(principal)?;
        let code = code.trim();
        if !valid_code(code) {
            return Err(RequestError::BadCategoryCode(code.to_owned()));
        }
        let name = required("name", name, MAX_NOTE_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if let Some(parent) = parent
            && (parent == code || repo::category(&tx, parent).await?.is_none())
        {
            return Err(RequestError::UnknownCategory(parent.to_owned()));
        }
        repo::upsert_category(&tx, code, name, parent, now).await?;
        record_in(
            &tx,
            now,
            &actor(principal),
            "request.category",
            format!("request_category:{code}"),
            source,
            json!({ "name": name, "parent": parent }),
        )
        .await?;
        let stored = repo::category(&tx, code)
            .await?
            .ok_or_else(|| RequestError::UnknownCategory(code.to_owned()))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Sets the department responsible for a category in a region (a routing rule).
    #[tracing::instrument(skip_all, err)]
    pub async fn set_route(
        &self,
        principal: &Principal,
        category: &str,
        region_code: &str,
        department: DepartmentId,
        source: &str,
    ) -> Result<(), RequestError> {
        may_configure(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if repo::category(&tx, category).await?.is_none() {
            return Err(RequestError::UnknownCategory(category.to_owned()));
        }
        if repo::region(&tx, region_code).await?.is_none() {
            return Err(RequestError::UnknownRegion(region_code.to_owned()));
        }
        if !repo::department_exists(&tx, department).await? {
            return Err(RequestError::UnknownDepartment);
        }
        repo::upsert_route(&tx, category, region_code, department, now).await?;
        record_in(
            &tx,
            now,
            &actor(principal),
            "request.route",
            format!("request_category:{category}"),
            source,
            json!({ "region": region_code, "department": department.get() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The department a request of `category` in `region_code` is routed to.
    pub async fn route(
        &self,
        category: &str,
        region_code: &str,
    ) -> Result<DepartmentId, RequestError> {
        route_in(self.db.conn(), category, region_code)
            .await?
            .ok_or_else(|| RequestError::NoRoute {
                category: category.to_owned(),
                region: region_code.to_owned(),
            })
    }

    /// The whole category tree, by code.
    pub async fn categories(&self) -> Result<Vec<Category>, RequestError> {
        repo::categories(self.db.conn()).await
    }
}
