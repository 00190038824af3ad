-- Citizen requests (诉求) from every channel: the category tree (派单目录) and its routing rules
-- (category × region → department), the request record with its 12345 closed loop, assignments
-- (主办/协办, returned or reassigned), history lines, grids (网格) with their members, three-level mediation (三级调处) with its
-- agreements (调解协议), petitions (信访) with their deadlines and written documents, and the
-- knowledge base (知识库) of questions and answers by category.

CREATE TABLE request_categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_code TEXT REFERENCES request_categories (code),
    created_at TEXT NOT NULL
);
CREATE INDEX request_categories_parent ON request_categories (parent_code, code);

-- Routing rules as data: the most specific category, then the most specific region, wins.
CREATE TABLE request_routes (
    id {{id}},
    category_code TEXT NOT NULL REFERENCES request_categories (code),
    region_code TEXT NOT NULL REFERENCES regions (code),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    created_at TEXT NOT NULL,
    UNIQUE (category_code, region_code)
);

-- Grids (网格): areas inside a community as a GeoJSON polygon, with a leader and members. The
-- bounding box (integer microdegrees) narrows the point-in-polygon test to a few candidates.
CREATE TABLE request_grids (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    community_code TEXT NOT NULL REFERENCES regions (code),
    polygon TEXT NOT NULL,
    min_lon BIGINT NOT NULL,
    min_lat BIGINT NOT NULL,
    max_lon BIGINT NOT NULL,
    max_lat BIGINT NOT NULL,
    leader_id BIGINT REFERENCES staff (id),
    created_at TEXT NOT NULL
);
CREATE INDEX request_grids_box ON request_grids (min_lon, max_lon);

CREATE TABLE request_grid_members (
    grid_id BIGINT NOT NULL REFERENCES request_grids (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    PRIMARY KEY (grid_id, staff_id)
);
CREATE INDEX request_grid_members_staff ON request_grid_members (staff_id);

CREATE TABLE requests (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('web', 'hotline', 'grid', 'petition', 'small_business', 'api')),
    kind TEXT NOT NULL CHECK (kind IN ('consultation', 'help', 'complaint', 'report', 'suggestion', 'praise')),
    category_code TEXT NOT NULL REFERENCES request_categories (code),
    -- Where it happened: a community (or any region of the tree) code.
    region_code TEXT NOT NULL REFERENCES regions (code),
    urgency TEXT NOT NULL CHECK (urgency IN ('urgent', 'priority', 'normal', 'complex')),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    location TEXT NOT NULL DEFAULT '',
    -- Where exactly (microdegrees), and the grid that point lies in.
    lon_micro BIGINT,
    lat_micro BIGINT,
    grid_id BIGINT REFERENCES request_grids (id),
    -- The submitter: a logged-in person, or a name and mobile (SM4-sealed) given on the phone or web.
    person_id BIGINT REFERENCES persons (id),
    contact_name TEXT NOT NULL DEFAULT '',
    contact_mobile_enc TEXT,
    contact_mobile_masked TEXT NOT NULL DEFAULT '',
    received_by BIGINT REFERENCES staff (id),
    status TEXT NOT NULL CHECK (status IN ('received', 'dispatched', 'handling', 'replied', 'concluded',
        'visited', 'closed', 'merged')),
    lead_department_id BIGINT REFERENCES departments (id),
    -- The handling limit, started at the first dispatch; 退单 is allowed until return_until.
    due_at TEXT,
    return_until TEXT,
    extension_pending BIGINT NOT NULL DEFAULT 0,
    extension_amount BIGINT,
    extension_unit TEXT,
    reply TEXT NOT NULL DEFAULT '',
    replied_at TEXT,
    concluded_at TEXT,
    visit_result TEXT CHECK (visit_result IN ('satisfied', 'unsatisfied')),
    rating BIGINT CHECK (rating BETWEEN 1 AND 5),
    merged_into BIGINT REFERENCES requests (id),
    -- Set once each by the deadline sweep.
    warned_at TEXT,
    overdue_at TEXT,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX requests_similar ON requests (region_code, category_code, created_at);
CREATE INDEX requests_open ON requests (status, due_at);
CREATE INDEX requests_lead ON requests (lead_department_id, status, id);
CREATE INDEX requests_person ON requests (person_id, created_at);

CREATE TABLE request_assignments (
    id {{id}},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    role TEXT NOT NULL CHECK (role IN ('lead', 'assist')),
    assigned_at TEXT NOT NULL,
    ended_at TEXT,
    -- Why it ended: returned (退单), reassigned (改派) or merged.
    end_reason TEXT NOT NULL DEFAULT '',
    -- A 协办 department's opinion.
    opinion TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_assignments_request ON request_assignments (request_id, id);
CREATE INDEX request_assignments_department ON request_assignments (department_id, ended_at);

CREATE TABLE request_events (
    id {{id}},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX request_events_request ON request_events (request_id, id);

-- 三级调处: one row per level reached (community, street, district).
CREATE TABLE request_mediations (
    id {{id}},
    request_id BIGINT NOT NULL REFERENCES requests (id),
    level TEXT NOT NULL CHECK (level IN ('community', 'street', 'district')),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    started_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    ended_at TEXT,
    outcome TEXT CHECK (outcome IN ('agreed', 'escalated', 'failed')),
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (request_id, level)
);
CREATE INDEX request_mediations_open ON request_mediations (ended_at, due_at);

CREATE TABLE request_agreements (
    id {{id}},
    mediation_id BIGINT NOT NULL UNIQUE REFERENCES request_mediations (id),
    request_id BIGINT NOT NULL REFERENCES requests (id),
    parties TEXT NOT NULL,
    terms TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES staff (id)
);

-- 信访: the stage and every deadline; documents in request_petition_letters.
CREATE TABLE request_petitions (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    stage TEXT NOT NULL CHECK (stage IN ('submitted', 'accepted', 'not_accepted', 'concluded',
        'under_review', 'reviewed', 'under_rereview', 'final')),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    decide_due_at TEXT NOT NULL,
    conclude_due_at TEXT,
    extended BIGINT NOT NULL DEFAULT 0,
    -- Until when the petitioner may ask for the next review; when the pending review is due.
    request_until TEXT,
    review_due_at TEXT,
    -- The stage whose deadline the sweep last marked as passed (once per stage).
    overdue_stage TEXT,
    revision BIGINT NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX request_petitions_stage ON request_petitions (stage, decide_due_at);

CREATE TABLE request_petition_letters (
    id {{id}},
    request_id BIGINT NOT NULL REFERENCES request_petitions (request_id),
    kind TEXT NOT NULL CHECK (kind IN ('acceptance', 'non_acceptance', 'extension', 'reply', 'review_request',
        'review_decision', 'rereview_request', 'rereview_decision')),
    body TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX request_petition_letters_request ON request_petition_letters (request_id, id);

-- 知识库: answers by category, for operators answering calls and citizens looking first.
CREATE TABLE request_knowledge (
    id {{id}},
    category_code TEXT NOT NULL REFERENCES request_categories (code),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    author TEXT NOT NULL,
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX request_knowledge_category ON request_knowledge (category_code, id);
