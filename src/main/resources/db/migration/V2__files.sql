-- Uploaded files (datasets) of each tenant. Content lives on disk, content-addressed:
-- <data-dir>/files/<sha256[0:2]>/<sha256>, shared by every row with the same sha256 (whatever the
-- tenant); a blob is deleted with the last row that refers to it.

CREATE TABLE files (
    -- file-<24 hex digits>
    id              VARCHAR(40)   NOT NULL PRIMARY KEY,
    tenant          VARCHAR(64)   NOT NULL,
    -- the client's file name, for display only
    filename        VARCHAR(255)  NOT NULL,
    -- fine-tune
    purpose         VARCHAR(32)   NOT NULL,
    bytes           BIGINT        NOT NULL,
    sha256          CHAR(64)      NOT NULL,
    lines           BIGINT        NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    -- processed (the row is inserted only once the blob is whole and validated)
    status          VARCHAR(16)   NOT NULL,
    -- the preflight validation report (JSON)
    report          CLOB
);

CREATE INDEX files_by_tenant ON files (tenant, created);
CREATE INDEX files_by_sha256 ON files (sha256);
