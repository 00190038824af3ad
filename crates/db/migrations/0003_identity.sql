-- Identity: natural persons and their sessions. Resident ID and mobile are stored only encrypted
-- (SM4-GCM, hex), found through a keyed blind index (HMAC-SM3, hex) and shown masked.

CREATE TABLE persons (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    resident_id_enc TEXT NOT NULL,
    resident_id_index TEXT NOT NULL UNIQUE,
    resident_id_masked TEXT NOT NULL,
    mobile_enc TEXT NOT NULL,
    mobile_index TEXT NOT NULL UNIQUE,
    mobile_masked TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    password_changed_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- A session is found by the SM3 hash of its token; the token itself is only in the visitor's cookie.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_kind TEXT NOT NULL CHECK (account_kind IN ('person', 'staff')),
    account_id BIGINT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    idle_expires_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    revoked_at TEXT
);
CREATE INDEX sessions_account ON sessions (account_kind, account_id, created_at);
