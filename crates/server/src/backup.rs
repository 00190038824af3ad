//! `yiwang backup <dir>` and `yiwang restore <dir>`.
//!
//! A backup is a directory: the database (`yiwang.db`, a `VACUUM INTO` copy of SQLite, or
//! `database.pgdump`, `pg_dump --format=custom` of PostgreSQL), the material files (`files/`) and
//! `manifest.json` with the row count of every table and the audit chain's head as the copy saw them.
//!
//! * **Consistency.** SQLite's copy is one read transaction. On PostgreSQL the counts are taken in a
//!   repeatable-read transaction whose snapshot `pg_dump --snapshot` shares, so the dump and the
//!   manifest describe the same instant. Material files are written before the row that names them
//!   commits and are never changed, so copying them after the database gives every file the copy
//!   names (and perhaps a few more).
//! * **Keys are not in the backup.** The PII key, the materials key and the audit key are what make
//!   a stolen backup useless; they are backed up separately (docs/operations.md).
//! * **Restore** goes into an empty place only (no database file or no tables, no files), then checks
//!   the restored database against the manifest: the same tables with the same counts, the audit chain
//!   intact (and its anchors, with the audit key) up to the recorded head. Any difference fails it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use yiwang_db::{Backend, Db};
use yiwang_kernel::SharedClock;

use crate::config::Config;

pub const MANIFEST: &str = "manifest.json";
const SQLITE_FILE: &str = "yiwang.db";
const PG_DUMP_FILE: &str = "database.pgdump";
const FILES_DIR: &str = "files";
const FORMAT: u32 = 1;

/// What a backup holds, written last (a backup without it is incomplete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backend: String,
    pub created_at: String,
    pub audit_seq: i64,
    pub audit_hash: String,
    /// Rows per table.
    pub tables: BTreeMap<String, i64>,
    /// Material files copied.
    pub files: u64,
}

/// What a restore found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub audit_checked: u64,
    pub anchors_checked: u64,
}

/// Write a backup of the configured database and files into `dest`, which must be missing or empty.
pub async fn backup(
    config: &Config,
    db: &Db,
    clock: &SharedClock,
    dest: &Path,
) -> anyhow::Result<Manifest> {
    if dest.exists()
        && std::fs::read_dir(dest)
            .with_context(|| format!("cannot read {}", dest.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; a backup goes into a new directory",
            dest.display()
        );
    }
    yiwang_db::private_dir_builder()
        .create(dest)
        .with_context(|| format!("cannot create {}", dest.display()))?;
    let (tables, (audit_seq, audit_hash)) = match db.backend() {
        Backend::Sqlite => {
            let file = dest.join(SQLITE_FILE);
            yiwang_db::backup::sqlite_snapshot(db, &file).await?;
            restrict_file(&file)?;
            // Counted in the copy itself, so the manifest describes exactly what was copied.
            let copy = Db::connect(&format!("sqlite://{}", file.display())).await?;
            let counts = yiwang_db::backup::table_counts(copy.conn()).await?;
            let head = yiwang_db::backup::audit_head(copy.conn()).await?;
            copy.close().await?;
            (counts, head)
        }
        Backend::Postgres => {
            let (tx, snapshot) = yiwang_db::backup::begin_exported_snapshot(db).await?;
            let counts = yiwang_db::backup::table_counts(&tx).await?;
            let head = yiwang_db::backup::audit_head(&tx).await?;
            let file = dest.join(PG_DUMP_FILE);
            let url = config.database_url();
            let (url, password) = split_password(&url);
            let mut command = tokio::process::Command::new("pg_dump");
            command
                .arg("--format=custom")
                .arg(format!("--snapshot={snapshot}"))
                .arg("--no-owner")
                .arg("--file")
                .arg(&file)
                .arg("--dbname")
                .arg(&url);
            run_pg_tool(command, password.as_deref(), "pg_dump").await?;
            tx.commit().await?;
            restrict_file(&file)?;
            (counts, head)
        }
    };
    let files = copy_tree(&config.data_dir.join(FILES_DIR), &dest.join(FILES_DIR))?;
    let manifest = Manifest {
        format: FORMAT,
        backend: db.backend().name().to_owned(),
        created_at: yiwang_db::ts(clock.now()),
        audit_seq,
        audit_hash,
        tables,
        files,
    };
    let text = serde_json::to_string_pretty(&manifest)?;
    std::fs::write(dest.join(MANIFEST), text)
        .with_context(|| format!("cannot write the manifest in {}", dest.display()))?;
    restrict_file(&dest.join(MANIFEST))?;
    Ok(manifest)
}

/// Restore the backup in `src` into the configured database and data directory, then check it.
pub async fn restore(config: &Config, src: &Path) -> anyhow::Result<RestoreReport> {
    let text = std::fs::read_to_string(src.join(MANIFEST)).with_context(|| {
        format!(
            "{} has no {MANIFEST}: not a backup, or an incomplete one",
            src.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a backup manifest", src.join(MANIFEST).display()))?;
    if manifest.format != FORMAT {
        bail!(
            "backup format {} is not one this version reads",
            manifest.format
        );
    }
    crate::prepare_data_dir(&config.data_dir)?;
    let files_dest = config.data_dir.join(FILES_DIR);
    if files_dest.exists()
        && std::fs::read_dir(&files_dest)
            .with_context(|| format!("cannot read {}", files_dest.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} is not empty; restore into a new data directory",
            files_dest.display()
        );
    }
    let url = config.database_url();
    let backend = if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    if backend.name() != manifest.backend {
        bail!(
            "the backup is of a {} database but the configured database is {}",
            manifest.backend,
            backend.name()
        );
    }
    match backend {
        Backend::Sqlite => {
            let target = sqlite_path(&url)?;
            if target.exists() {
                bail!(
                    "{} exists; restore into a new data directory (or move it away first)",
                    target.display()
                );
            }
            if let Some(parent) = target.parent()
                && !parent.as_os_str().is_empty()
            {
                yiwang_db::private_dir_builder()
                    .create(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::copy(src.join(SQLITE_FILE), &target)
                .with_context(|| format!("cannot copy the database to {}", target.display()))?;
            restrict_file(&target)?;
        }
        Backend::Postgres => {
            let db = Db::connect(&url).await?;
            let existing = yiwang_db::backup::table_counts(db.conn()).await?;
            db.close().await?;
            if !existing.is_empty() {
                bail!(
                    "the configured PostgreSQL database has {} tables; restore into an empty database",
                    existing.len()
                );
            }
            let (url, password) = split_password(&url);
            let mut command = tokio::process::Command::new("pg_restore");
            command
                .arg("--no-owner")
                .arg("--single-transaction")
                .arg("--exit-on-error")
                .arg("--dbname")
                .arg(&url)
                .arg(src.join(PG_DUMP_FILE));
            run_pg_tool(command, password.as_deref(), "pg_restore").await?;
        }
    }
    let files = copy_tree(&src.join(FILES_DIR), &files_dest)?;
    if files != manifest.files {
        bail!(
            "{files} material files restored but the manifest lists {}",
            manifest.files
        );
    }
    check_restored(config, &url, manifest).await
}

/// Compare the restored database with the manifest and verify its audit chain.
async fn check_restored(
    config: &Config,
    url: &str,
    manifest: Manifest,
) -> anyhow::Result<RestoreReport> {
    let db = Db::connect(url).await?;
    let tables = yiwang_db::backup::table_counts(db.conn()).await?;
    let head = yiwang_db::backup::audit_head(db.conn()).await?;
    let keys = config.audit_anchor_keys();
    let report =
        yiwang_db::audit::verify_with(&db, (!keys.is_empty()).then_some(&keys[..])).await?;
    db.close().await?;
    if tables != manifest.tables {
        let differences: Vec<String> = manifest
            .tables
            .iter()
            .filter(|(name, n)| tables.get(*name) != Some(n))
            .map(|(name, n)| format!("{name}: {n} in the backup, {:?} restored", tables.get(name)))
            .chain(
                tables
                    .keys()
                    .filter(|name| !manifest.tables.contains_key(*name))
                    .map(|name| format!("{name}: not in the backup")),
            )
            .collect();
        bail!(
            "the restored database differs from the backup: {}",
            differences.join("; ")
        );
    }
    if let Some(broken) = report.broken {
        bail!(
            "the restored audit chain is BROKEN at entry {}: {}",
            broken.seq,
            broken.reason
        );
    }
    if head != (manifest.audit_seq, manifest.audit_hash.clone()) {
        bail!(
            "the restored audit head is entry {} but the backup recorded entry {}",
            head.0,
            manifest.audit_seq
        );
    }
    Ok(RestoreReport {
        manifest,
        audit_checked: report.checked,
        anchors_checked: report.anchors_checked,
    })
}

/// The file of a `sqlite://` URL.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("not a SQLite URL")?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        bail!("an in-memory SQLite database cannot be restored into");
    }
    Ok(PathBuf::from(path))
}

/// Run `pg_dump` / `pg_restore`; the password goes through the environment, not the command line
/// (which other users can read in the process list).
async fn run_pg_tool(
    mut command: tokio::process::Command,
    password: Option<&str>,
    name: &str,
) -> anyhow::Result<()> {
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let output = command
        .output()
        .await
        .with_context(|| format!("cannot run {name} (is the PostgreSQL client installed?)"))?;
    if !output.status.success() {
        bail!(
            "{name} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// The URL without its password, and the password (percent-decoded).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let (authority_end, tail) = match rest.find(['/', '?']) {
        Some(i) => (i, &rest[i..]),
        None => (rest.len(), ""),
    };
    let authority = &rest[..authority_end];
    // The last '@' ends the user info: a password may contain an unencoded '@'.
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return (url.to_owned(), None);
    };
    let Some((user, password)) = userinfo.split_once(':') else {
        return (url.to_owned(), None);
    };
    (
        format!("{scheme}://{user}@{host}{tail}"),
        Some(percent_decode(password)),
    )
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Copy a directory tree (missing source: nothing), files 0600 and directories 0700; the number of
/// files copied.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if !from.exists() {
        return Ok(0);
    }
    yiwang_db::private_dir_builder()
        .create(to)
        .with_context(|| format!("cannot create {}", to.display()))?;
    let mut copied = 0;
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copied += copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
            restrict_file(&target)?;
            copied += 1;
        }
        // Symbolic links are not followed: the store never makes them, and following one could copy
        // files from outside the data directory.
    }
    Ok(copied)
}

/// Make a file readable by this user only (a copy takes its source's mode).
fn restrict_file(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://yw:p%40ss@db:5432/yiwang?sslmode=require"),
            (
                "postgres://yw@db:5432/yiwang?sslmode=require".to_owned(),
                Some("p@ss".to_owned())
            )
        );
        assert_eq!(
            split_password("postgres://postgres@127.0.0.1/x"),
            ("postgres://postgres@127.0.0.1/x".to_owned(), None)
        );
        assert_eq!(
            split_password("postgres://yw:a@b@db/x"),
            ("postgres://yw@db/x".to_owned(), Some("a@b".to_owned()))
        );
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:///srv/yiwang/yiwang.db?mode=rwc")
                .unwrap_or_else(|e| panic!("{e}")),
            PathBuf::from("/srv/yiwang/yiwang.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_err());
    }
}
