-- Surveys (测评): questionnaires built by a department (sections of single / multiple choice, 1–5
-- scale and text questions, stored as checked JSON), published to the public or to the people
-- served by an item or a hall in a period (invited by SMS with one-use links), then closed; one
-- response per person or browser.

CREATE TABLE surveys (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    title TEXT NOT NULL,
    intro TEXT NOT NULL DEFAULT '',
    -- The questionnaire as JSON ({"sections": [{"title", "questions": [...]}]}), checked before
    -- every write; frozen once published.
    definition TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    audience TEXT NOT NULL DEFAULT 'public' CHECK (audience IN ('public', 'item', 'hall')),
    -- The item (catalog_items.id) or hall (appt_groups.id) of an invited audience.
    audience_target BIGINT,
    -- The service period of an invited audience, China dates, both included.
    served_from TEXT,
    served_until TEXT,
    invited BIGINT NOT NULL DEFAULT 0,
    responses BIGINT NOT NULL DEFAULT 0,
    revision BIGINT NOT NULL DEFAULT 0,
    created_by BIGINT NOT NULL REFERENCES staff (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    published_at TEXT,
    closed_at TEXT
);
CREATE INDEX surveys_department ON surveys (department_id, created_at);
CREATE INDEX surveys_status ON surveys (status, published_at);

CREATE TABLE survey_responses (
    id {{id}},
    survey_id BIGINT NOT NULL REFERENCES surveys (id),
    -- Who answered, as one answer per respondent is enforced: `person:<id>` or
    -- `browser:<SM3 of the browser's signed nonce>`.
    respondent TEXT NOT NULL,
    -- The checked answers as JSON, keyed by question key.
    answers TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('web', 'link', 'api')),
    answered_at TEXT NOT NULL,
    UNIQUE (survey_id, respondent)
);
CREATE INDEX survey_responses_survey ON survey_responses (survey_id, answered_at);

-- One invitation per survey and person; the link's token is kept only as its SM3 hash.
CREATE TABLE survey_invitations (
    id {{id}},
    survey_id BIGINT NOT NULL REFERENCES surveys (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    token_hash TEXT NOT NULL UNIQUE,
    invited_at TEXT NOT NULL,
    used_at TEXT,
    UNIQUE (survey_id, person_id)
);
