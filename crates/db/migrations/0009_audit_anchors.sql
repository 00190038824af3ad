-- Anchors of the audit chain: now and then a node records the head (sequence number and hash) with an
-- HMAC-SM3 under a key the database does not hold. Rewriting entries and re-hashing everything after
-- them keeps the chain consistent, but cannot reproduce the anchors' MACs without the key. Each anchor's
-- MAC also covers the previous anchor's, so one cannot be dropped from the middle unnoticed.
CREATE TABLE audit_anchors (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
