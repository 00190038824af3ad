-- Abuse limits shared by every node: one row per (scope, key) counts the hits of the current fixed
-- window. A hit is one conditional upsert, so nodes on the same database share the count without a
-- lock. Rows whose window has ended are swept by the limiter.
CREATE TABLE rate_limits (
    scope TEXT NOT NULL,
    limit_key TEXT NOT NULL,
    -- Unix seconds at which the current window began.
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    -- Unix seconds after which the row no longer counts (the window's end).
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, limit_key)
);
CREATE INDEX rate_limits_expires ON rate_limits (expires_at);
