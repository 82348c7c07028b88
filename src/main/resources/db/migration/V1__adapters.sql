-- Adapters of each tenant and their immutable versions. Weights live on disk under
-- <data-dir>/adapters/<tenant>/<name>/<version>/; these rows say which versions exist.
-- Later migrations add files (datasets) and fine-tuning jobs.

CREATE TABLE adapters (
    tenant          VARCHAR(64)  NOT NULL,
    name            VARCHAR(64)  NOT NULL,
    -- the version the bare name resolves to; NULL only while the adapter has no live version
    active_version  INTEGER,
    -- the alias is pinned: whichever version is active stays resident in the cache
    pinned          BOOLEAN      DEFAULT FALSE NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE adapter_versions (
    tenant          VARCHAR(64)  NOT NULL,
    name            VARCHAR(64)  NOT NULL,
    version         INTEGER      NOT NULL,
    peft_type       VARCHAR(32)  NOT NULL,
    rank            INTEGER      NOT NULL,
    -- size of adapter_model.safetensors and its SHA-256 (hex), verified whenever it is loaded
    bytes           BIGINT       NOT NULL,
    sha256          CHAR(64)     NOT NULL,
    -- ready | errored (weights failed verification; see error) | deleted (tombstone: numbers are never reused)
    state           VARCHAR(16)  NOT NULL,
    error           VARCHAR(2000),
    -- this very version is pinned (independently of the alias pin)
    pinned          BOOLEAN      DEFAULT FALSE NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant, name, version),
    FOREIGN KEY (tenant, name) REFERENCES adapters (tenant, name)
);
