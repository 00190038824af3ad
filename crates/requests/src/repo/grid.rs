//! Grids (网格) and their members.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, fetch_all, fetch_one, ts};
use yiwang_identity::model::StaffId;

use super::exec;
use crate::RequestError;
use crate::model::{Grid, GridId};

/// A grid to store.
#[derive(Debug, Clone)]
pub struct NewGridRow<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub community_code: &'a str,
    pub polygon: &'a str,
    /// (min lon, min lat, max lon, max lat) in microdegrees.
    pub bbox: (i64, i64, i64, i64),
    pub leader: Option<StaffId>,
    pub now: DateTime<Utc>,
}

/// Stores a grid; `None` when the code is taken.
pub async fn insert_grid<C: ConnectionTrait>(
    conn: &C,
    g: &NewGridRow<'_>,
) -> Result<Option<GridId>, RequestError> {
    fetch_one(
        conn,
        "INSERT INTO request_grids (code, name, community_code, polygon, min_lon, min_lat, max_lon,
             max_lat, leader_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (code) DO NOTHING
         RETURNING id",
        [
            g.code.into(),
            g.name.into(),
            g.community_code.into(),
            g.polygon.into(),
            g.bbox.0.into(),
            g.bbox.1.into(),
            g.bbox.2.into(),
            g.bbox.3.into(),
            g.leader.map(StaffId::get).into(),
            ts(g.now).into(),
        ],
        |row| Ok::<_, RequestError>(GridId::new(row.try_get("", "id")?)),
    )
    .await
}

pub async fn insert_member<C: ConnectionTrait>(
    conn: &C,
    grid: GridId,
    staff: StaffId,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_grid_members (grid_id, staff_id) VALUES ($1, $2)
         ON CONFLICT (grid_id, staff_id) DO NOTHING",
        [grid.get().into(), staff.get().into()],
    )
    .await?;
    Ok(())
}

fn grid_from_row(row: &QueryResult) -> Result<Grid, RequestError> {
    Ok(Grid {
        id: GridId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        community_code: row.try_get("", "community_code")?,
        polygon: row.try_get("", "polygon")?,
        leader: row
            .try_get::<Option<i64>>("", "leader_id")?
            .map(StaffId::new),
        members: Vec::new(),
    })
}

async fn with_members<C: ConnectionTrait>(conn: &C, mut grid: Grid) -> Result<Grid, RequestError> {
    grid.members = fetch_all(
        conn,
        "SELECT staff_id FROM request_grid_members WHERE grid_id = $1 ORDER BY staff_id",
        [grid.id.get().into()],
        |row| Ok::<_, RequestError>(StaffId::new(row.try_get("", "staff_id")?)),
    )
    .await?;
    Ok(grid)
}

pub async fn grid<C: ConnectionTrait>(conn: &C, id: GridId) -> Result<Option<Grid>, RequestError> {
    let found = fetch_one(
        conn,
        "SELECT id, code, name, community_code, polygon, leader_id FROM request_grids WHERE id = $1",
        [id.get().into()],
        grid_from_row,
    )
    .await?;
    match found {
        Some(g) => Ok(Some(with_members(conn, g).await?)),
        None => Ok(None),
    }
}

/// Grids whose bounding box holds the point (microdegrees), by id: the candidates of the
/// point-in-polygon test.
pub async fn grids_around<C: ConnectionTrait>(
    conn: &C,
    lon: i64,
    lat: i64,
) -> Result<Vec<Grid>, RequestError> {
    fetch_all(
        conn,
        "SELECT id, code, name, community_code, polygon, leader_id FROM request_grids
         WHERE min_lon <= $1 AND max_lon >= $1 AND min_lat <= $2 AND max_lat >= $2
         ORDER BY id LIMIT 100",
        [lon.into(), lat.into()],
        grid_from_row,
    )
    .await
}

/// The staff member leads the grid or belongs to it.
pub async fn works_in<C: ConnectionTrait>(
    conn: &C,
    grid: GridId,
    staff: StaffId,
) -> Result<bool, RequestError> {
    Ok(fetch_one(
        conn,
        "SELECT 1 AS one FROM request_grids g
         WHERE g.id = $1 AND (g.leader_id = $2 OR EXISTS (
             SELECT 1 FROM request_grid_members m WHERE m.grid_id = g.id AND m.staff_id = $2))",
        [grid.get().into(), staff.get().into()],
        |_| Ok::<_, RequestError>(()),
    )
    .await?
    .is_some())
}
