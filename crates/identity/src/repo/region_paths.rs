//! Regions with all their ancestors, for many regions in one query.

use yiwang_db::{ConnectionTrait, stmt};

use crate::IdentityError;
use crate::model::Region;

/// The regions named by `codes` and every ancestor of theirs, each once, in no particular order (one
/// recursive query, whatever the number of regions or the depth of the tree).
#[tracing::instrument(skip_all, err)]
pub async fn regions_with_ancestors<C: ConnectionTrait>(
    conn: &C,
    codes: &[&str],
) -> Result<Vec<Region>, IdentityError> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=codes.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "WITH RECURSIVE up(code, name, level, parent_code) AS (
                     SELECT code, name, level, parent_code FROM regions WHERE code IN ({placeholders})
                     UNION
                     SELECT r.code, r.name, r.level, r.parent_code
                     FROM regions r JOIN up ON r.code = up.parent_code
                 )
                 SELECT code, name, level, parent_code FROM up"
            ),
            codes.iter().map(|c| (*c).into()),
        ))
        .await?;
    rows.iter().map(super::region_from_row).collect()
}
