//! Material files: type and size limits, content sniffing, SM3 digests, storage through
//! `object_store` (a local directory by default, S3-compatible storage in production).

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::CryptoRng;
use yiwang_kernel::crypto::{Sm4Key, hmac_sm3, sm3_hex};

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

/// Per-person limits on kept files and how long a file never attached to a case is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilePolicy {
    /// Files one person may keep at once.
    pub max_files_per_person: u64,
    /// Bytes one person may keep at once.
    pub max_bytes_per_person: u64,
    /// Days after which a file attached to no case is deleted.
    pub unattached_days: u32,
}

impl Default for FilePolicy {
    fn default() -> Self {
        Self {
            max_files_per_person: 200,
            max_bytes_per_person: 500 * 1024 * 1024,
            unattached_days: 30,
        }
    }
}

/// Labels the derivation of the material key from the master (PII) key, so the two keys differ.
const MATERIAL_KEY_LABEL: &[u8] = b"yiwang material files v1";

/// The material key derived from a 32-hex-digit master key (the configured PII key): the first 16
/// bytes of HMAC-SM3(master, label). Deriving keeps one secret to back up; a separately configured
/// material key can replace it.
pub fn derive_material_key(master_hex: &str) -> Result<Sm4Key, CaseError> {
    let master = hex::decode(master_hex.trim())
        .map_err(|e| CaseError::Storage(format!("master key: {e}")))?;
    let mac = hmac_sm3(&master, MATERIAL_KEY_LABEL);
    let mut key = [0_u8; 16];
    key.copy_from_slice(&mac[..16]);
    Ok(Sm4Key::from_bytes(key))
}

/// Where material files are kept: each distinct content once, sealed with SM4-GCM under the material
/// key (the object's storage key is the associated data, so an object moved to another key fails to
/// open), and checked against the SM3 digest of its plaintext on every read.
#[derive(Debug, Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    pub max_bytes: usize,
    pub policy: FilePolicy,
    key: Sm4Key,
    /// Keys of earlier rotations, still accepted for reading.
    previous_keys: Vec<Sm4Key>,
}

impl FileStore {
    pub fn new(store: Arc<dyn ObjectStore>, max_bytes: usize, key: Sm4Key) -> Self {
        Self {
            store,
            max_bytes,
            policy: FilePolicy::default(),
            key,
            previous_keys: Vec::new(),
        }
    }

    /// A store in memory under a fresh random key (tests and benchmarks).
    pub fn in_memory(max_bytes: usize) -> Self {
        Self::new(
            Arc::new(object_store::memory::InMemory::new()),
            max_bytes,
            Sm4Key::generate(&mut rand::rng()),
        )
    }

    /// A store in a local directory (created if missing).
    pub fn local(dir: &std::path::Path, max_bytes: usize, key: Sm4Key) -> Result<Self, CaseError> {
        std::fs::create_dir_all(dir).map_err(|e| CaseError::Storage(e.to_string()))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| CaseError::Storage(e.to_string()))?;
        Ok(Self::new(Arc::new(store), max_bytes, key))
    }

    #[must_use]
    pub fn with_policy(mut self, policy: FilePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Keys of earlier rotations: objects sealed under them stay readable.
    #[must_use]
    pub fn with_previous_keys(mut self, keys: Vec<Sm4Key>) -> Self {
        self.previous_keys = keys;
        self
    }

    /// Where the content with this SM3 digest is kept: one object per distinct content.
    pub fn key_for_digest(digest: &str) -> String {
        format!("materials/{}/{digest}", digest.get(..2).unwrap_or("00"))
    }

    /// Seal and store content under a key.
    pub async fn put(
        &self,
        key: &str,
        content: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<(), CaseError> {
        let sealed = self.key.encrypt_with_aad(content, key.as_bytes(), rng);
        self.store
            .put(&StorePath::from(key), PutPayload::from(sealed))
            .await
            .map_err(|e| CaseError::Storage(e.to_string()))?;
        Ok(())
    }

    /// Whether an object is stored under a key.
    pub async fn exists(&self, key: &str) -> Result<bool, CaseError> {
        match self.store.head(&StorePath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(CaseError::Storage(e.to_string())),
        }
    }

    /// The content stored under a key, opened and checked against the SM3 digest of its plaintext.
    pub async fn get(&self, key: &str, digest: &str) -> Result<Bytes, CaseError> {
        let result = self
            .store
            .get(&StorePath::from(key))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => CaseError::FileNotFound,
                other => CaseError::Storage(other.to_string()),
            })?;
        let stored = result
            .bytes()
            .await
            .map_err(|e| CaseError::Storage(e.to_string()))?;
        let opened = std::iter::once(&self.key)
            .chain(&self.previous_keys)
            .find_map(|k| k.decrypt_with_aad(&stored, key.as_bytes()).ok())
            .map(Bytes::from)
            // Objects written before materials were sealed are plaintext; the digest check below
            // still vouches for them.
            .unwrap_or(stored);
        if sm3_hex(&opened) != digest {
            return Err(CaseError::Corrupt(format!(
                "the material object {key} does not match its digest"
            )));
        }
        Ok(opened)
    }

    /// Remove an object (missing is fine: the sweep may run on two nodes).
    pub async fn delete(&self, key: &str) -> Result<(), CaseError> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(CaseError::Storage(e.to_string())),
        }
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

    #[tokio::test]
    async fn objects_are_sealed_and_checked_against_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let key = derive_material_key("00112233445566778899aabbccddeeff").unwrap();
        let store = FileStore::local(dir.path(), 1024, key.clone()).unwrap();
        let content = b"%PDF-1.7 resident permit of Zhang San";
        let digest = sm3_hex(content);
        let at = FileStore::key_for_digest(&digest);
        store.put(&at, content, &mut rand::rng()).await.unwrap();
        let on_disk = std::fs::read(dir.path().join(&at)).unwrap();
        assert!(!on_disk.windows(9).any(|w| w == b"Zhang San"));
        assert_eq!(&store.get(&at, &digest).await.unwrap()[..], content);
        // Another key cannot open it, and a wrong digest is refused.
        let other = FileStore::local(
            dir.path(),
            1024,
            derive_material_key("ff112233445566778899aabbccddeeff").unwrap(),
        )
        .unwrap();
        assert!(matches!(
            other.get(&at, &digest).await,
            Err(CaseError::Corrupt(_))
        ));
        assert!(matches!(
            store.get(&at, &sm3_hex(b"x")).await,
            Err(CaseError::Corrupt(_))
        ));
        // After a rotation the old key still reads.
        let rotated = FileStore::local(dir.path(), 1024, Sm4Key::generate(&mut rand::rng()))
            .unwrap()
            .with_previous_keys(vec![key]);
        assert_eq!(&rotated.get(&at, &digest).await.unwrap()[..], content);
        store.delete(&at).await.unwrap();
        store.delete(&at).await.unwrap();
        assert!(!store.exists(&at).await.unwrap());
    }
}
