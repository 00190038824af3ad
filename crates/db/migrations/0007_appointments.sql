-- Appointments (预约 / 号源 / 放号) and the service-hall queue (取号 / 叫号): resource groups (service halls
-- and hospital departments) with their resources (windows, doctors) and schedules, slots released at a
-- set time, bookings with waitlist and no-show suspensions, idempotency keys, queue categories, tickets.
--
-- Contention is handled without row locks: a slot's count moves by one conditional statement
-- (`booked = booked + 1 WHERE booked < capacity`), the CHECK below is the last line of defence, and
-- one live booking per person, scope and day is a unique index over `live_key`, set to NULL when a
-- booking is cancelled (NULLs are distinct in unique indexes on both backends).

CREATE TABLE appt_groups (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('hall', 'hospital_department')),
    name TEXT NOT NULL,
    department_id BIGINT NOT NULL REFERENCES departments (id),
    address TEXT NOT NULL DEFAULT '',
    -- The booking and queue rules (JSON `BookingPolicy`).
    policy TEXT NOT NULL,
    -- Moves on every queue change, so boards on any node can tell that they are stale.
    board_version BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX appt_groups_department ON appt_groups (department_id);

CREATE TABLE appt_resources (
    id {{id}},
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('window', 'doctor')),
    name TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    -- Service item codes a hall window handles (JSON array); empty means any.
    items TEXT NOT NULL DEFAULT '[]',
    -- Queue category codes the window or desk calls (JSON array).
    categories TEXT NOT NULL DEFAULT '[]',
    -- Opening hours (JSON `Schedule`); NULL means no bookable slots.
    schedule TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (group_id, code)
);

CREATE TABLE appt_slots (
    id {{id}},
    resource_id BIGINT NOT NULL REFERENCES appt_resources (id),
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    day TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    release_at TEXT NOT NULL,
    capacity BIGINT NOT NULL CHECK (capacity >= 0),
    booked BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    CHECK (booked >= 0 AND booked <= capacity),
    UNIQUE (resource_id, starts_at)
);
CREATE INDEX appt_slots_group_day ON appt_slots (group_id, day, starts_at);

CREATE TABLE appt_bookings (
    id {{id}},
    code TEXT NOT NULL UNIQUE,
    slot_id BIGINT NOT NULL REFERENCES appt_slots (id),
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    resource_id BIGINT NOT NULL REFERENCES appt_resources (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    day TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    item_code TEXT,
    status TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'checked_in', 'no_show', 'served')),
    -- One live booking per person, scope and day; NULL once cancelled.
    live_key TEXT,
    via_waitlist BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    cancelled_at TEXT,
    checked_in_at TEXT,
    no_show_at TEXT
);
CREATE UNIQUE INDEX appt_bookings_live_key ON appt_bookings (live_key);
CREATE INDEX appt_bookings_person ON appt_bookings (person_id, starts_at);
CREATE INDEX appt_bookings_slot ON appt_bookings (slot_id, status);
CREATE INDEX appt_bookings_due ON appt_bookings (status, ends_at);
CREATE INDEX appt_bookings_group_day ON appt_bookings (group_id, day);

-- The answer given to a booking request with an Idempotency-Key, per person.
CREATE TABLE appt_idempotency (
    person_id BIGINT NOT NULL REFERENCES persons (id),
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    booking_id BIGINT NOT NULL REFERENCES appt_bookings (id),
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_id, idem_key)
);

CREATE TABLE appt_waitlist (
    id {{id}},
    slot_id BIGINT NOT NULL REFERENCES appt_slots (id),
    person_id BIGINT NOT NULL REFERENCES persons (id),
    item_code TEXT,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'promoted', 'left', 'expired', 'passed')),
    booking_id BIGINT REFERENCES appt_bookings (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX appt_waitlist_once ON appt_waitlist (slot_id, person_id) WHERE status = 'waiting';
CREATE INDEX appt_waitlist_slot ON appt_waitlist (slot_id, status, id);
CREATE INDEX appt_waitlist_person ON appt_waitlist (person_id, status);

-- Booking suspended after repeated no-shows, per person and department (hospital, hall owner).
CREATE TABLE appt_suspensions (
    id {{id}},
    person_id BIGINT NOT NULL REFERENCES persons (id),
    department_id BIGINT NOT NULL REFERENCES departments (id),
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    no_shows BIGINT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX appt_suspensions_person ON appt_suspensions (person_id, department_id, ends_at);

-- Queue categories of a group: personal / enterprise, then theme; the prefix starts ticket numbers.
CREATE TABLE appt_categories (
    id {{id}},
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    audience TEXT NOT NULL CHECK (audience IN ('personal', 'enterprise')),
    theme TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (group_id, code)
);

-- The last ticket number given per group, day and prefix (one upsert per ticket).
CREATE TABLE appt_ticket_counters (
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    day TEXT NOT NULL,
    prefix TEXT NOT NULL,
    last_no BIGINT NOT NULL,
    PRIMARY KEY (group_id, day, prefix)
);

CREATE TABLE appt_tickets (
    id {{id}},
    group_id BIGINT NOT NULL REFERENCES appt_groups (id),
    day TEXT NOT NULL,
    number TEXT NOT NULL,
    category_id BIGINT NOT NULL REFERENCES appt_categories (id),
    lane TEXT NOT NULL CHECK (lane IN ('appointment', 'elderly', 'disabled', 'normal')),
    lane_rank BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('waiting', 'called', 'serving', 'done', 'skipped', 'transferred', 'abandoned')),
    person_id BIGINT REFERENCES persons (id),
    -- A booking checks in once.
    booking_id BIGINT UNIQUE REFERENCES appt_bookings (id),
    -- Set when a ticket was transferred to one window rather than a category.
    target_window_id BIGINT REFERENCES appt_resources (id),
    window_id BIGINT REFERENCES appt_resources (id),
    transferred_from BIGINT REFERENCES appt_tickets (id),
    calls BIGINT NOT NULL DEFAULT 0,
    taken_at TEXT NOT NULL,
    -- Queue position: the time taken, kept through transfers.
    queued_at TEXT NOT NULL,
    called_at TEXT,
    serving_at TEXT,
    finished_at TEXT
);
CREATE INDEX appt_tickets_queue ON appt_tickets (group_id, day, status, lane_rank, queued_at);
CREATE INDEX appt_tickets_window ON appt_tickets (window_id, status);
CREATE INDEX appt_tickets_category ON appt_tickets (category_id, status, finished_at);
