-- Credentials besides the password: one-time codes for resetting a forgotten password, and API tokens
-- for a person's machine clients. Only SM3 hashes of the secrets are stored.

-- A reset code sent by SMS. Only the newest code of a person counts; it dies when used, when it
-- expires, or after too many wrong attempts.
CREATE TABLE password_resets (
    id {{id}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX password_resets_person ON password_resets (person_id, created_at);

-- A named token with scopes; the secret (`ywt_` + 64 hex digits) is shown to its owner once.
CREATE TABLE api_tokens (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL UNIQUE,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    name TEXT NOT NULL,
    -- Space-separated scope names, e.g. 'profile:read sessions:read'.
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT,
    revoked_at TEXT
);
CREATE INDEX api_tokens_person ON api_tokens (person_id, created_at);
