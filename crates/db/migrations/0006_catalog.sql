-- Service catalog (事项库): items, their versions (draft → review by a second staff member → published
-- with an effective date), files kept with materials (templates, samples) and 一件事 life events.

CREATE TABLE catalog_items (
    id {{id}},
    impl_code TEXT NOT NULL UNIQUE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    -- The published version in effect today; NULL until the first publication takes effect.
    current_version_id BIGINT,
    created_at TEXT NOT NULL,
    -- Changes whenever the version in effect changes: the search index catches up from it.
    updated_at TEXT NOT NULL
);
CREATE INDEX catalog_items_department ON catalog_items (department_id);
CREATE INDEX catalog_items_updated ON catalog_items (updated_at);

CREATE TABLE catalog_item_versions (
    id {{id}},
    item_id BIGINT NOT NULL REFERENCES catalog_items (id),
    version_no BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('draft', 'in_review', 'rejected', 'published')),
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    change_note TEXT NOT NULL DEFAULT '',
    effective_from TEXT,
    author_id BIGINT REFERENCES staff (id),
    reviewer_id BIGINT REFERENCES staff (id),
    review_note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    reviewed_at TEXT,
    UNIQUE (item_id, version_no)
);
-- At most one version per item is open (draft, in review or sent back) at a time.
CREATE UNIQUE INDEX catalog_versions_one_open ON catalog_item_versions (item_id) WHERE state <> 'published';
CREATE INDEX catalog_versions_state ON catalog_item_versions (state, item_id);

CREATE TABLE catalog_life_events (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    audience TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE catalog_life_event_items (
    life_event_id BIGINT NOT NULL REFERENCES catalog_life_events (id),
    item_id BIGINT NOT NULL REFERENCES catalog_items (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (life_event_id, item_id)
);
CREATE INDEX catalog_life_event_items_item ON catalog_life_event_items (item_id);
