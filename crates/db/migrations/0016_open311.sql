-- Open311 GeoReport v2 clients (partner systems posting requests on the `api` channel) with the SM3
-- hash of their key (the key itself is shown once, when an administrator creates the client), and
-- the link of each request a client posted: the token it may look the request up by, and the
-- photo address it gave (media_url).

CREATE TABLE open311_clients (
    id {{id}},
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE open311_requests (
    request_id BIGINT PRIMARY KEY REFERENCES requests (id),
    client_id BIGINT NOT NULL REFERENCES open311_clients (id),
    token TEXT NOT NULL UNIQUE,
    media_url TEXT NOT NULL DEFAULT ''
);
CREATE INDEX open311_requests_client ON open311_requests (client_id);
