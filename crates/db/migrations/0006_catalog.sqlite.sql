-- Files kept with the catalog, named by the SM3 digest of their bytes.
CREATE TABLE catalog_files (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    created_at TEXT NOT NULL
);
