//! Grids (网格): platform administrators (or the system when seeding) draw grids inside a
//! community as GeoJSON polygons, with a leader and members (grid workers). A reported place is
//! matched to its grid by the point-in-polygon test; a grid worker reports only from their grids.

use serde_json::json;
use yiwang_db::ConnectionTrait;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{Role, StaffId};
use yiwang_identity::policy::Principal;

use super::{MAX_NOTE_CHARS, Requests, actor, record_in, required};
use crate::RequestError;
use crate::grid::{Point, Polygon};
use crate::model::{Grid, GridId};
use crate::repo::{self, NewGridRow};

/// Longest polygon text, in bytes.
pub const MAX_POLYGON_BYTES: usize = 200_000;

/// The first grid (lowest id) whose polygon holds the point.
pub(crate) async fn grid_at_in<C: ConnectionTrait>(
    conn: &C,
    point: Point,
) -> Result<Option<Grid>, RequestError> {
    let (lon, lat) = point.micro();
    for grid in repo::grids_around(conn, lon, lat).await? {
        let polygon = Polygon::from_geojson(&grid.polygon)
            .map_err(|e| RequestError::Corrupt(format!("grid {} polygon: {e}", grid.code)))?;
        if polygon.contains(point) {
            return repo::grid(conn, grid.id).await;
        }
    }
    Ok(None)
}

impl Requests {
    /// Draws a grid inside a community with its leader and members.
    #[tracing::instrument(skip_all, err)]
    #[expect(
        clippy::too_many_arguments,
        reason = "the grid's code, name, community, polygon, leader and members"
    )]
    pub async fn define_grid(
        &self,
        principal: &Principal,
        code: &str,
        name: &str,
        community_code: &str,
        polygon: &str,
        leader: Option<StaffId>,
        members: &[StaffId],
        source: &str,
    ) -> Result<Grid, RequestError> {
        match principal {
            Principal::System => {}
            Principal::Staff(s) if s.has(Role::PlatformAdmin) => {}
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        }
        let code = required("code", code, 40)?;
        let name = required("name", name, MAX_NOTE_CHARS)?;
        if polygon.len() > MAX_POLYGON_BYTES {
            return Err(RequestError::BadPolygon("too large".to_owned()));
        }
        let shape = Polygon::from_geojson(polygon)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        match repo::region(&tx, community_code).await? {
            Some(region) if region.level == "community" => {}
            _ => return Err(RequestError::UnknownRegion(community_code.to_owned())),
        }
        for staff in leader.iter().chain(members) {
            if yiwang_identity::reads::staff_in(&tx, *staff)
                .await?
                .is_none()
            {
                return Err(IdentityError::NotFound.into());
            }
        }
        let id = repo::insert_grid(
            &tx,
            &NewGridRow {
                code,
                name,
                community_code,
                polygon,
                bbox: shape.bbox_micro(),
                leader,
                now,
            },
        )
        .await?
        .ok_or(RequestError::GridCodeTaken)?;
        for member in members {
            repo::insert_member(&tx, id, *member).await?;
        }
        record_in(
            &tx,
            now,
            &actor(principal),
            "request.grid",
            format!("request_grid:{code}"),
            source,
            json!({
                "community": community_code, "leader": leader.map(StaffId::get),
                "members": members.iter().map(|m| m.get()).collect::<Vec<_>>(),
            }),
        )
        .await?;
        let grid = repo::grid(&tx, id)
            .await?
            .ok_or_else(|| RequestError::Corrupt("a grid just written is gone".to_owned()))?;
        tx.commit().await?;
        Ok(grid)
    }

    /// The grid a place (longitude, latitude in degrees) lies in, if any.
    pub async fn grid_at(&self, lon: f64, lat: f64) -> Result<Option<Grid>, RequestError> {
        grid_at_in(self.db.conn(), Point::parse(lon, lat)?).await
    }

    pub async fn grid(&self, id: GridId) -> Result<Option<Grid>, RequestError> {
        repo::grid(self.db.conn(), id).await
    }
}
