-- Staff (attached to a department, holding posts and roles) and enterprises (a legal representative
-- and the agents they authorise).

CREATE TABLE posts (
    id {{id}},
    department_id BIGINT NOT NULL REFERENCES departments (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    duties TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (department_id, code)
);

CREATE TABLE staff (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    employee_no TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    mobile_enc TEXT NOT NULL,
    mobile_index TEXT NOT NULL UNIQUE,
    mobile_masked TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX staff_department ON staff (department_id);

CREATE TABLE staff_roles (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    role TEXT NOT NULL CHECK (role IN ('window_staff', 'approver', 'department_admin', 'platform_admin',
        'supervisor', 'auditor', 'grid_worker', 'hotline_operator')),
    PRIMARY KEY (staff_id, role)
);

CREATE TABLE staff_posts (
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    post_id BIGINT NOT NULL REFERENCES posts (id),
    PRIMARY KEY (staff_id, post_id)
);

CREATE TABLE enterprises (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    uscc TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    legal_representative_id BIGINT NOT NULL REFERENCES persons (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE enterprise_agents (
    id {{id}},
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    granted_at TEXT NOT NULL,
    revoked_at TEXT
);
-- At most one live authorisation per agent and enterprise (partial indexes work on both backends).
CREATE UNIQUE INDEX enterprise_agents_live ON enterprise_agents (enterprise_id, person_id) WHERE revoked_at IS NULL;
CREATE INDEX enterprise_agents_person ON enterprise_agents (person_id);
