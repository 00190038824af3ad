//! The catalog data other domains read: the cross-domain boundary.
//!
//! A case reads the item version it was applied under through these functions, never through
//! [`repo`](crate::repo). Each takes any connection, so the caller reads inside its own open
//! transaction (on SQLite a transaction that waited for a second pooled connection while holding the
//! write lock would starve the pool).

use yiwang_db::ConnectionTrait;

use crate::CatalogError;
use crate::model::{Item, ItemId, ItemVersion, VersionId};
use crate::repo;

/// An item with the version in effect, as lists of items show it.
pub use crate::repo::CurrentItem;

/// One version of an item, whatever its state (a case keeps the version it was applied under).
pub async fn version_in<C: ConnectionTrait>(
    conn: &C,
    id: VersionId,
) -> Result<Option<ItemVersion>, CatalogError> {
    repo::version_by_id(conn, id).await
}

/// An item with its department and the number of its version in effect.
pub async fn item_in<C: ConnectionTrait>(
    conn: &C,
    id: ItemId,
) -> Result<Option<Item>, CatalogError> {
    repo::item_by_id(conn, id).await
}
