//! Material files: type and size limits, content sniffing, SM3 digests, storage through
//! `object_store` (a local directory by default, S3-compatible storage in production).

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::CaseError;

/// Largest material file accepted by default (scans of certificates; the request limit must allow it).
pub const DEFAULT_MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// Accepted material types: extension, content type, and how the content must begin.
const TYPES: &[(&str, &str, &[u8])] = &[
    ("pdf", "application/pdf", b"%PDF-"),
    ("jpg", "image/jpeg", &[0xFF, 0xD8, 0xFF]),
    ("jpeg", "image/jpeg", &[0xFF, 0xD8, 0xFF]),
    ("png", "image/png", &[0x89, b'P', b'N', b'G']),
    // OFD (the national fixed-layout format) is a ZIP container.
    ("ofd", "application/ofd", b"PK\x03\x04"),
];

/// The extensions accepted, for messages and the page's `accept` attribute.
pub fn accepted_extensions() -> Vec<&'static str> {
    TYPES.iter().map(|(ext, _, _)| *ext).collect()
}

/// Check a file's name, size and content; returns its content type.
pub fn check_file(name: &str, content: &[u8], max: usize) -> Result<&'static str, CaseError> {
    if content.len() > max {
        return Err(CaseError::FileTooLarge { max });
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let Some((_, content_type, magic)) = TYPES.iter().find(|(e, _, _)| *e == ext) else {
        return Err(CaseError::FileTypeRefused(if ext.is_empty() {
            "(none)".to_owned()
        } else {
            ext
        }));
    };
    if content.is_empty() || !content.starts_with(magic) {
        return Err(CaseError::FileContentMismatch(ext));
    }
    Ok(content_type)
}

/// A file name safe to keep and show: no directories, no control characters, at most 100 characters.
pub fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>' | '|' | ':' | '*' | '?'))
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.chars().count() <= 100 {
        return trimmed.to_owned();
    }
    // Keep the extension when shortening.
    let (stem, ext) = trimmed.rsplit_once('.').unwrap_or((trimmed, ""));
    let stem: String = stem.chars().take(90).collect();
    if ext.is_empty() {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

/// Where material files are kept.
#[derive(Debug, Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    pub max_bytes: usize,
}

impl FileStore {
    pub fn new(store: Arc<dyn ObjectStore>, max_bytes: usize) -> Self {
        Self { store, max_bytes }
    }

    /// A store in memory (tests and benchmarks).
    pub fn in_memory(max_bytes: usize) -> Self {
        Self::new(Arc::new(object_store::memory::InMemory::new()), max_bytes)
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: &std::path::Path, max_bytes: usize) -> Result<Self, CaseError> {
        std::fs::create_dir_all(dir).map_err(|e| CaseError::Storage(e.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| CaseError::Storage(e.to_string()))?;
        Ok(Self::new(Arc::new(store), max_bytes))
    }

    pub async fn put(&self, key: &str, content: Bytes) -> Result<(), CaseError> {
        self.store
            .put(&StorePath::from(key), PutPayload::from(content))
            .await
            .map_err(|e| CaseError::Storage(e.to_string()))?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, CaseError> {
        let result = self
            .store
            .get(&StorePath::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => CaseError::FileNotFound,
                other => CaseError::Storage(other.to_string()),
            })?;
        result
            .bytes()
            .await
            .map_err(|e| CaseError::Storage(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_type_by_name_and_content() {
        assert_eq!(
            check_file("营业执照.PDF", b"%PDF-1.7 ...", 100).unwrap(),
            "application/pdf"
        );
        assert_eq!(
            check_file("a.pdf", b"MZ\x90\x00", 100)
                .unwrap_err()
                .to_string(),
            "the file's content is not a pdf file"
        );
        assert!(matches!(
            check_file("a.exe", b"MZ", 100),
            Err(CaseError::FileTypeRefused(_))
        ));
        assert!(matches!(
            check_file("a.png", &[0x89, b'P', b'N', b'G', 0, 0], 3),
            Err(CaseError::FileTooLarge { max: 3 })
        ));
        assert_eq!(clean_name("C:\\Users\\x\\身份证.jpg"), "身份证.jpg");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
    }
}
