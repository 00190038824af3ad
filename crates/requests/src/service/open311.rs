//! Public reads (the list of answered requests, Open311 `requests`) and Open311 clients: partner
//! systems that post requests on the `api` channel with a key an administrator created for them.
//! Only the SM3 hash of a key is stored; the key is shown once.

use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::IdentityError;
use yiwang_identity::model::Role;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{Page, PageRequest, new_public_id, sm3_hex};

use super::grids::grid_at_in;
use super::{MAX_NOTE_CHARS, Requests, actor, fresh_rng, required};
use crate::RequestError;
use crate::grid::Point;
use crate::model::{Channel, NewRequest, Open311Client, PublicRequest, Status};
use crate::repo::{self, PublicFilter};

/// The prefix of Open311 keys, so a leaked one is recognisable.
pub const OPEN311_KEY_PREFIX: &str = "o311_";
/// Longest Open311 key a caller may send (longer ones are refused unread).
pub const MAX_OPEN311_KEY_CHARS: usize = 128;
/// Most requests one public read returns (Open311 `requests` without paging).
pub const MAX_PUBLIC_READ: u64 = 1_000;

/// A request an Open311 client posted: its public id (`service_request_id`) and the token it may
/// look the request up by later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub public_id: String,
    pub token: String,
}

fn key_hash(key: &str) -> String {
    sm3_hex(key.as_bytes())
}

/// The answered states the public list shows.
pub const ANSWERED: [Status; 4] = [
    Status::Replied,
    Status::Concluded,
    Status::Visited,
    Status::Closed,
];

impl Requests {
    /// Creates an Open311 client (a platform administrator, or the system from the command line)
    /// and returns it with its key, which is not stored and cannot be shown again.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_open311_client(
        &self,
        principal: &Principal,
        name: &str,
        source: &str,
    ) -> Result<(Open311Client, String), RequestError> {
        match principal {
            Principal::System => {}
            Principal::Staff(s) if s.has(Role::PlatformAdmin) => {}
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        }
        let name = required("name", name, MAX_NOTE_CHARS)?;
        let mut rng = fresh_rng();
        let key = format!(
            "{OPEN311_KEY_PREFIX}{}{}",
            new_public_id(&mut rng),
            new_public_id(&mut rng)
        );
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if repo::client_by_name(&tx, name).await?.is_some() {
            return Err(RequestError::ClientNameTaken);
        }
        let client = repo::insert_client(&tx, name, &key_hash(&key), now).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor(principal),
                "open311.client_create",
                format!("open311_client:{}", client.id),
                source,
            )
            .detail(json!({ "name": name })),
        )
        .await?;
        tx.commit().await?;
        Ok((client, key))
    }

    /// Creates the client `name` with the given key, or gives the existing one that key: for a
    /// deployment script or the demo, which derive their key and must load twice to the same
    /// result. The system only.
    #[tracing::instrument(skip_all, err)]
    pub async fn ensure_open311_client(
        &self,
        principal: &Principal,
        name: &str,
        key: &str,
        source: &str,
    ) -> Result<Open311Client, RequestError> {
        if !matches!(principal, Principal::System) {
            return Err(IdentityError::Forbidden.into());
        }
        let name = required("name", name, MAX_NOTE_CHARS)?;
        let key = required("api_key", key, MAX_OPEN311_KEY_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let hash = key_hash(key);
        let client = if let Some(client) = repo::client_by_name(&tx, name).await? {
            repo::set_client_key(&tx, client.id, &hash).await?;
            client
        } else {
            let client = repo::insert_client(&tx, name, &hash, now).await?;
            audit::append(
                &tx,
                now,
                &AuditEvent::new(
                    actor(principal),
                    "open311.client_create",
                    format!("open311_client:{}", client.id),
                    source,
                )
                .detail(json!({ "name": name })),
            )
            .await?;
            client
        };
        tx.commit().await?;
        Ok(client)
    }

    /// The client a key belongs to; `None` for an unknown key.
    pub async fn open311_client(&self, key: &str) -> Result<Option<Open311Client>, RequestError> {
        let key = key.trim();
        if key.is_empty() || key.chars().nth(MAX_OPEN311_KEY_CHARS).is_some() {
            return Ok(None);
        }
        repo::client_by_key_hash(self.db.conn(), &key_hash(key)).await
    }

    /// Receives a request an Open311 client posted, on the `api` channel. Without a region, the
    /// place's grid names its community, else `default_region` (the platform's). The link to the
    /// client, its token and the photo address are written in the same transaction.
    #[tracing::instrument(skip_all, err)]
    pub async fn submit_open311(
        &self,
        client: &Open311Client,
        new: &NewRequest,
        default_region: &str,
        media_url: &str,
        source: &str,
    ) -> Result<Posted, RequestError> {
        super::bounded("media_url", media_url.trim(), MAX_NOTE_CHARS)?;
        let tx = self.db.begin().await?;
        let mut new = new.clone();
        if new.region.trim().is_empty() {
            let point = new
                .coordinates
                .map(|(lon, lat)| Point::parse(lon, lat))
                .transpose()?;
            let grid = match point {
                Some(point) => grid_at_in(&tx, point).await?,
                None => None,
            };
            new.region = grid.map_or_else(|| default_region.to_owned(), |g| g.community_code);
        }
        let submitted = self
            .submit_in(
                &tx,
                &Principal::System,
                Channel::Api,
                &new,
                &format!("{source} open311:{}", client.id),
            )
            .await?;
        let token = new_public_id(&mut fresh_rng());
        repo::insert_open311_request(
            &tx,
            submitted.request.id,
            client.id,
            &token,
            media_url.trim(),
        )
        .await?;
        tx.commit().await?;
        Ok(Posted {
            public_id: submitted.request.public_id,
            token,
        })
    }

    /// Public requests matching the filter, newest first, at most [`MAX_PUBLIC_READ`].
    pub async fn public_requests(
        &self,
        filter: &PublicFilter,
    ) -> Result<Vec<PublicRequest>, RequestError> {
        repo::public_requests(self.db.conn(), filter, MAX_PUBLIC_READ, 0).await
    }

    /// One public request by its public id; `None` when it does not exist or is not public.
    pub async fn public_request(
        &self,
        public_id: &str,
    ) -> Result<Option<PublicRequest>, RequestError> {
        let filter = PublicFilter {
            public_ids: vec![public_id.to_owned()],
            ..PublicFilter::default()
        };
        Ok(repo::public_requests(self.db.conn(), &filter, 1, 0)
            .await?
            .into_iter()
            .next())
    }

    /// A page of answered requests (已答复 and later) anyone may read, newest first, optionally of
    /// one category.
    pub async fn answered_requests(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<PublicRequest>, RequestError> {
        let filter = PublicFilter {
            category: category.map(str::to_owned),
            statuses: ANSWERED.to_vec(),
            ..PublicFilter::default()
        };
        let conn = self.db.conn();
        let total = repo::count_public_requests(conn, &filter).await?;
        let items = repo::public_requests(conn, &filter, page.limit(), page.offset()).await?;
        Ok(Page::new(items, total, page))
    }

    /// The public id of the request an Open311 token names.
    pub async fn open311_token(&self, token: &str) -> Result<Option<String>, RequestError> {
        if token.chars().nth(MAX_OPEN311_KEY_CHARS).is_some() {
            return Ok(None);
        }
        repo::public_id_of_token(self.db.conn(), token.trim()).await
    }
}

impl Requests {
    /// The id of the request with this public id (the id the API shows); whether the caller may
    /// see it is decided by the use case it is passed to.
    pub async fn id_of(&self, public_id: &str) -> Result<Option<crate::RequestId>, RequestError> {
        if public_id.chars().nth(MAX_OPEN311_KEY_CHARS).is_some() {
            return Ok(None);
        }
        Ok(repo::request_by_public_id(self.db.conn(), public_id.trim())
            .await?
            .map(|r| r.id))
    }
}
