-- Tenants and their API keys (only while authentication is on do keys matter; with it off every
-- caller is the tenant 'default', which needs no row). A key is lg-<key_id>-<secret>: key_id finds
-- the row, the SHA-256 of the whole key is compared in constant time. The key itself is never stored.
-- Quota columns override loragate.quotas.* for this tenant; NULL = the configured default, 0 = unlimited.

CREATE TABLE tenants (
    id                      VARCHAR(64)  NOT NULL PRIMARY KEY,
    key_id                  VARCHAR(32)  NOT NULL UNIQUE,
    key_sha256              CHAR(64)     NOT NULL,
    created                 TIMESTAMP WITH TIME ZONE NOT NULL,
    key_rotated             TIMESTAMP WITH TIME ZONE NOT NULL,
    requests_per_second     DOUBLE PRECISION,
    tokens_per_minute       BIGINT,
    max_concurrent_streams  INTEGER,
    max_adapters            INTEGER,
    max_stored_bytes        BIGINT,
    max_concurrent_jobs     INTEGER
);
