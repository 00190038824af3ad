-- E-licences (电子证照): licence types (证照目录), seal keys per department, licences (one row per
-- version), their status history, pending issuances of granted cases, usage grants, reads, 亮证
-- codes; and for cases: which licence fulfilled which material (免提交) and the seals of notices.

CREATE TABLE licence_types (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('person', 'enterprise')),
    -- The whole definition (fields, validity, items, replaced materials, legal bases) as JSON.
    definition TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- SM2 key pairs; department_id NULL is the platform's key (revocation lists). The private key is
-- SM4-GCM sealed under the configured seal key, bound to key_id.
CREATE TABLE licence_seal_keys (
    id {{id}},
    key_id TEXT NOT NULL UNIQUE,
    department_id BIGINT REFERENCES departments (id),
    owner TEXT NOT NULL,
    public_key TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    not_before TEXT NOT NULL,
    -- Set when a newer key takes over; the key still verifies what it signed before.
    not_after TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX licence_seal_keys_owner ON licence_seal_keys (owner, not_after);

-- The next serial per type and issuing department; one conditional upsert per new licence.
CREATE TABLE licence_serials (
    type_code TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    last_value BIGINT NOT NULL,
    PRIMARY KEY (type_code, department_id)
);

CREATE TABLE licences (
    id {{id}},
    identifier TEXT NOT NULL UNIQUE,
    type_code TEXT NOT NULL REFERENCES licence_types (code),
    serial TEXT NOT NULL,
    version BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    holder_person_id BIGINT REFERENCES persons (id),
    holder_enterprise_id BIGINT REFERENCES enterprises (id),
    holder_name TEXT NOT NULL,
    holder_id TEXT NOT NULL,
    data TEXT NOT NULL,
    issued_on TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    expires_on TEXT,
    status TEXT NOT NULL CHECK (status IN ('valid', 'cancelled', 'revoked', 'expired', 'replaced')),
    status_reason TEXT NOT NULL DEFAULT '',
    status_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('case', 'staff', 'import', 'renewal')),
    case_no TEXT,
    previous_id BIGINT REFERENCES licences (id),
    -- The exact UTF-8 bytes signed, the signature (hex r‖s) and the key.
    signed TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES licence_seal_keys (key_id),
    -- The signature (base64url r‖s) of the short QR statement (identifier and expiry).
    qr_signature TEXT NOT NULL,
    -- The renewal reminder (Art. 50) was written to the outbox for this version.
    reminded_at TEXT,
    created_at TEXT NOT NULL,
    CHECK ((holder_person_id IS NULL) <> (holder_enterprise_id IS NULL))
);
CREATE INDEX licences_person ON licences (holder_person_id, created_at);
CREATE INDEX licences_enterprise ON licences (holder_enterprise_id, created_at);
CREATE INDEX licences_expiry ON licences (status, expires_on);
CREATE INDEX licences_department ON licences (department_id, created_at);
CREATE INDEX licences_listed ON licences (status, status_at);

CREATE TABLE licence_events (
    id {{id}},
    licence_id BIGINT NOT NULL REFERENCES licences (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX licence_events_licence ON licence_events (licence_id, id);

-- A granted case whose licence lacks required data (Art. 44: due 10 working days after the decision).
CREATE TABLE licence_pending (
    id {{id}},
    case_no TEXT NOT NULL,
    type_code TEXT NOT NULL REFERENCES licence_types (code),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    holder_person_id BIGINT REFERENCES persons (id),
    holder_enterprise_id BIGINT REFERENCES enterprises (id),
    holder_name TEXT NOT NULL,
    data TEXT NOT NULL,
    missing TEXT NOT NULL,
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    licence_id BIGINT REFERENCES licences (id),
    UNIQUE (case_no, type_code)
);
CREATE INDEX licence_pending_open ON licence_pending (department_id, licence_id, due_at);

CREATE TABLE licence_grants (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    grantor_person_id BIGINT NOT NULL REFERENCES persons (id),
    holder_person_id BIGINT REFERENCES persons (id),
    holder_enterprise_id BIGINT REFERENCES enterprises (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    purpose TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('licence', 'type')),
    licence_id BIGINT REFERENCES licences (id),
    type_code TEXT REFERENCES licence_types (code),
    case_no TEXT,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX licence_grants_department ON licence_grants (department_id, revoked_at, expires_at);
CREATE INDEX licence_grants_grantor ON licence_grants (grantor_person_id, created_at);

-- Every read of a licence by someone other than its holder, refused ones included.
CREATE TABLE licence_reads (
    id {{id}},
    licence_id BIGINT NOT NULL REFERENCES licences (id),
    at TEXT NOT NULL,
    department_id BIGINT REFERENCES departments (id),
    reader TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT '',
    case_no TEXT,
    basis TEXT NOT NULL CHECK (basis IN ('grant', 'legal_basis', 'show_code', 'issuer', 'none')),
    grant_id BIGINT REFERENCES licence_grants (id),
    allowed BIGINT NOT NULL
);
CREATE INDEX licence_reads_licence ON licence_reads (licence_id, at);

-- 亮证: 6 digits and a QR token (both stored as SM3 hashes), 5 minutes, single use.
CREATE TABLE licence_show_codes (
    id {{id}},
    licence_id BIGINT NOT NULL REFERENCES licences (id),
    digits_hash TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    redeemed_at TEXT,
    redeemed_by TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX licence_show_codes_digits ON licence_show_codes (digits_hash, expires_at);

-- 免提交: the licence that fulfilled a material of an application, and the grant made for it.
CREATE TABLE case_licences (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    material TEXT NOT NULL,
    licence_id BIGINT NOT NULL REFERENCES licences (id),
    grant_id BIGINT REFERENCES licence_grants (id),
    attached_at TEXT NOT NULL,
    PRIMARY KEY (case_id, material)
);

-- Sealed decision notices: the exact statement signed, its signature and key.
CREATE TABLE case_seals (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    notice TEXT NOT NULL,
    statement TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL REFERENCES licence_seal_keys (key_id),
    -- The signature (base64url r‖s) of the short QR statement of the notice.
    qr_signature TEXT NOT NULL,
    sealed_at TEXT NOT NULL,
    PRIMARY KEY (case_id, notice)
);
