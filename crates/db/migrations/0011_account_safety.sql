-- Account safety: registration verifies the mobile number by SMS code before anything is told, failed
-- log-ins slow down one account from one address instead of locking the account for everybody, and
-- enterprise claims the register could not confirm wait for a clerk.

-- A registration code sent to a mobile number that has no account yet (found by its blind index). Only
-- the newest code of a number counts; it dies when used, when it expires or after too many wrong tries.
CREATE TABLE registration_codes (
    id {{id}},
    mobile_index TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX registration_codes_mobile ON registration_codes (mobile_index, created_at);

-- Failed log-ins per login identifier (its blind index, whether or not an account has it) and client
-- address. `blocked_until` grows with each failure past the free ones.
CREATE TABLE login_throttle (
    subject TEXT NOT NULL,
    ip TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    blocked_until TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (subject, ip)
);

-- A claim to represent an enterprise that the enterprise register did not confirm: a clerk decides.
-- Several people may claim the same code; approving one creates the enterprise.
CREATE TABLE enterprise_claims (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    uscc TEXT NOT NULL,
    name TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES persons (id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    -- Why the register did not decide (not listed, unreachable…), shown to the clerk.
    register_note TEXT NOT NULL DEFAULT '',
    decided_by BIGINT REFERENCES staff (id),
    decision_note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    decided_at TEXT
);
CREATE INDEX enterprise_claims_status ON enterprise_claims (status, created_at);
CREATE INDEX enterprise_claims_person ON enterprise_claims (person_id, created_at);
