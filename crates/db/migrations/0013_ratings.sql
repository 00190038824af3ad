-- Ratings (好差评): one rating per service event and person (一次一评) with its optional follow-up
-- comment (追评); the rectification of every 差评 (levels 4–5) with its working-day deadlines, its
-- follow-up (回访) and the department's appeal (申诉); used SMS rating links; urgings (督办) of
-- rectifications, cases and (later) requests.

CREATE TABLE ratings (
    id {{id}},
    public_id TEXT NOT NULL UNIQUE,
    event_kind TEXT NOT NULL CHECK (event_kind IN ('case', 'ticket', 'booking', 'request')),
    event_id BIGINT NOT NULL,
    -- The person served; names and numbers are kept masked here, the full ones stay in identity.
    person_id BIGINT NOT NULL REFERENCES persons (id),
    rater_name_masked TEXT NOT NULL,
    rater_mobile_masked TEXT NOT NULL,
    -- Who answers for the event, copied when rated so figures do not move with later changes.
    department_id BIGINT NOT NULL REFERENCES departments (id),
    region_code TEXT NOT NULL,
    item_name TEXT NOT NULL DEFAULT '',
    hall_id BIGINT,
    window_id BIGINT,
    served_by BIGINT REFERENCES staff (id),
    event_label TEXT NOT NULL DEFAULT '',
    level BIGINT NOT NULL CHECK (level BETWEEN 1 AND 5),
    tags TEXT NOT NULL DEFAULT '[]',
    body TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('web', 'mobile', 'tablet', 'sms', 'phone', 'api')),
    -- The staff member who entered a phone rating on the person's behalf.
    entered_by BIGINT REFERENCES staff (id),
    -- China-local month of rated_at (YYYY-MM): the statistics group on it.
    month TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    follow_up TEXT,
    follow_up_at TEXT,
    -- 1 once an appeal against it was upheld: left out of every figure.
    excluded BIGINT NOT NULL DEFAULT 0,
    UNIQUE (event_kind, event_id, person_id)
);
CREATE INDEX ratings_department_month ON ratings (department_id, month);
CREATE INDEX ratings_region_month ON ratings (region_code, month);
CREATE INDEX ratings_person ON ratings (person_id, rated_at);

CREATE TABLE rating_rectifications (
    id {{id}},
    rating_id BIGINT NOT NULL UNIQUE REFERENCES ratings (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    region_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('verifying', 'rectifying', 'rectified', 'follow_up', 'closed')),
    -- Working-day deadlines: the last day (China date) and its end as an instant.
    contact_due_on TEXT NOT NULL,
    contact_due_at TEXT NOT NULL,
    rectify_due_on TEXT NOT NULL,
    rectify_due_at TEXT NOT NULL,
    contacted_at TEXT,
    contact_note TEXT NOT NULL DEFAULT '',
    rectified_at TEXT,
    rectify_note TEXT NOT NULL DEFAULT '',
    follow_up_result TEXT CHECK (follow_up_result IN ('satisfied', 'unsatisfied')),
    follow_up_note TEXT NOT NULL DEFAULT '',
    followed_up_at TEXT,
    closed_at TEXT,
    -- How it ended: rectified and followed up, or an upheld appeal.
    closed_as TEXT CHECK (closed_as IN ('rectified', 'appeal_upheld')),
    appeal TEXT NOT NULL DEFAULT 'none' CHECK (appeal IN ('none', 'pending', 'upheld', 'rejected')),
    -- Set once by the overdue sweep (电子监察 warning written).
    overdue_at TEXT,
    last_actor BIGINT REFERENCES staff (id),
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX rating_rectifications_department ON rating_rectifications (department_id, status, created_at);
CREATE INDEX rating_rectifications_open ON rating_rectifications (status, rectify_due_at);

CREATE TABLE rating_rectification_events (
    id {{id}},
    rectification_id BIGINT NOT NULL REFERENCES rating_rectifications (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rating_rectification_events_task ON rating_rectification_events (rectification_id, id);

CREATE TABLE rating_appeals (
    id {{id}},
    rectification_id BIGINT NOT NULL UNIQUE REFERENCES rating_rectifications (id),
    rating_id BIGINT NOT NULL REFERENCES ratings (id),
    ground TEXT NOT NULL CHECK (ground IN ('malicious', 'unrelated')),
    reason TEXT NOT NULL,
    filed_by BIGINT NOT NULL REFERENCES staff (id),
    filed_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'upheld', 'rejected')),
    decided_by BIGINT REFERENCES staff (id),
    decided_at TEXT,
    decision_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rating_appeals_status ON rating_appeals (status, filed_at);

-- SMS rating links used once: the SM3 hash of the token.
CREATE TABLE rating_used_tokens (
    token_hash TEXT PRIMARY KEY,
    rating_id BIGINT NOT NULL REFERENCES ratings (id),
    used_at TEXT NOT NULL
);

-- 督办: a supervisor urges a department about a subject (a rectification, a case, later a request).
CREATE TABLE urgings (
    id {{id}},
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('rectification', 'case', 'request')),
    subject_id BIGINT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    region_code TEXT NOT NULL,
    note TEXT NOT NULL,
    reply_due_on TEXT NOT NULL,
    urged_by BIGINT NOT NULL REFERENCES staff (id),
    urged_at TEXT NOT NULL,
    reply TEXT,
    replied_by BIGINT REFERENCES staff (id),
    replied_at TEXT
);
CREATE INDEX urgings_department ON urgings (department_id, urged_at);
CREATE INDEX urgings_subject ON urgings (subject_kind, subject_id);
