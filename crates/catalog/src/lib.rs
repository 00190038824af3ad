//! Yiwang service catalog (事项库): service items with the GB/T 39046 elements and their reviewed
//! versions, materials with templates, themes, 一件事 life events, import/export, and Chinese search.
//!
//! - [`model`]: items, versions, code lists, validation.
//! - [`repo`]: all SQL.
//! - [`reads`]: what other domains read, on any connection (the cross-domain boundary).
//! - [`service`]: use cases ([`Catalog`]).
//! - [`search`]: the tantivy index (jieba, pinyin, synonyms, filters).
//! - [`transfer`]: JSON and CSV files; [`diff`]: readable differences between versions.

pub mod diff;
pub mod error;
pub mod model;
pub mod reads;
pub mod repo;
pub mod search;
pub mod service;
pub mod transfer;

pub use error::CatalogError;
pub use service::{Catalog, Origin};
