-- Cases (办件): workflow definitions per item (immutable numbered versions), cases, their tasks (one per
-- step a post works on, plus the window's delivery and the later verification of a commitment), their
-- history, material files kept for their owners, and the per-prefix case-number sequence.

CREATE TABLE case_workflows (
    id {{id}},
    item_id BIGINT NOT NULL REFERENCES catalog_items (id),
    version_no BIGINT NOT NULL,
    definition TEXT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    UNIQUE (item_id, version_no)
);

-- The next case number per prefix (region code + date); one conditional upsert per submission.
CREATE TABLE case_sequences (
    prefix TEXT PRIMARY KEY,
    last_value BIGINT NOT NULL
);

CREATE TABLE cases (
    id {{id}},
    -- Random, for addresses (drafts have no case number yet).
    public_id TEXT NOT NULL UNIQUE,
    case_no TEXT UNIQUE,
    query_code TEXT,
    item_id BIGINT NOT NULL REFERENCES catalog_items (id),
    item_version_id BIGINT NOT NULL REFERENCES catalog_item_versions (id),
    workflow_id BIGINT NOT NULL REFERENCES case_workflows (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    item_name TEXT NOT NULL,
    item_code TEXT NOT NULL,
    applicant_person_id BIGINT NOT NULL REFERENCES persons (id),
    enterprise_id BIGINT REFERENCES enterprises (id),
    applicant_name TEXT NOT NULL,
    applicant_masked TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('online', 'counter')),
    registered_by BIGINT REFERENCES staff (id),
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'supplement', 'in_review', 'suspended',
        'decided', 'concluded', 'declined', 'withdrawn', 'returned')),
    outcome TEXT CHECK (outcome IN ('granted', 'denied', 'declined', 'returned', 'withdrawn', 'voided')),
    warning TEXT NOT NULL DEFAULT 'none' CHECK (warning IN ('none', 'yellow', 'red', 'overdue')),
    instant BIGINT NOT NULL DEFAULT 0,
    -- The answers, sealed (SM4-GCM) because forms hold personal data.
    form_sealed TEXT NOT NULL,
    contact_email TEXT NOT NULL DEFAULT '',
    commitment_signed BIGINT NOT NULL DEFAULT 0,
    verification TEXT NOT NULL DEFAULT 'none' CHECK (verification IN ('none', 'pending', 'confirmed', 'failed')),
    verify_due_at TEXT,
    created_at TEXT NOT NULL,
    submitted_at TEXT,
    accepted_at TEXT,
    decided_at TEXT,
    concluded_at TEXT,
    accept_due_at TEXT,
    decision_due_at TEXT,
    supplement_due_at TEXT,
    suspended_at TEXT,
    special_until TEXT,
    extension TEXT NOT NULL DEFAULT 'none' CHECK (extension IN ('none', 'requested', 'approved', 'refused')),
    extension_days BIGINT NOT NULL DEFAULT 0,
    extension_reason TEXT NOT NULL DEFAULT '',
    extension_requested_by BIGINT REFERENCES staff (id),
    decision_note TEXT NOT NULL DEFAULT '',
    -- Bumped by every change; a change names the revision it read, so two concurrent actions cannot
    -- both apply.
    revision BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX cases_applicant ON cases (applicant_person_id, created_at);
CREATE INDEX cases_enterprise ON cases (enterprise_id, created_at);
CREATE INDEX cases_department ON cases (department_id, status, created_at);
CREATE INDEX cases_open_deadline ON cases (status, warning);
CREATE INDEX cases_decided ON cases (outcome, decided_at);

CREATE TABLE case_tasks (
    id {{id}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    kind TEXT NOT NULL CHECK (kind IN ('step', 'deliver', 'verify')),
    step_id TEXT NOT NULL,
    step_name TEXT NOT NULL,
    step_kind TEXT,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    post_id BIGINT NOT NULL REFERENCES posts (id),
    status TEXT NOT NULL CHECK (status IN ('open', 'waiting', 'done', 'cancelled')),
    prev_task_id BIGINT REFERENCES case_tasks (id),
    claimed_by BIGINT REFERENCES staff (id),
    claimed_at TEXT,
    opened_at TEXT NOT NULL,
    due_at TEXT,
    result TEXT,
    opinion TEXT NOT NULL DEFAULT '',
    acted_by BIGINT REFERENCES staff (id),
    acted_at TEXT
);
CREATE INDEX case_tasks_inbox ON case_tasks (post_id, status, opened_at);
CREATE INDEX case_tasks_case ON case_tasks (case_id, id);

CREATE TABLE case_events (
    id {{id}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_name TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    step_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    public BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX case_events_case ON case_events (case_id, id);

-- Files are stored through object_store under storage_key; rows keep who owns them so they can be reused.
CREATE TABLE material_files (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    owner_person_id BIGINT NOT NULL REFERENCES persons (id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    digest TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX material_files_owner ON material_files (owner_person_id, created_at);

CREATE TABLE case_materials (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    material TEXT NOT NULL,
    file_id BIGINT NOT NULL REFERENCES material_files (id),
    attached_at TEXT NOT NULL,
    PRIMARY KEY (case_id, material, file_id)
);
