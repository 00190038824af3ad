-- Administrative regions (GB/T 2260 six-digit codes, twelve-digit statistical codes below county level)
-- and the departments (agencies) that offer services.

CREATE TABLE regions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('province', 'city', 'district', 'street', 'community')),
    parent_code TEXT REFERENCES regions (code),
    sort_key BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX regions_parent ON regions (parent_code, code);

CREATE TABLE departments (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions (code),
    uscc TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('government', 'public_institution', 'vertical')),
    former_names TEXT NOT NULL DEFAULT '[]',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX departments_region ON departments (region_code, code);
