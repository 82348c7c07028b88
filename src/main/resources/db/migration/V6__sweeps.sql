-- Sweeps: one fine-tuning job per adaptation method on the same data, compared in one table.
-- The table itself is computed from the jobs when read; a sweep row keeps what is needed to do so.

CREATE TABLE sweeps (
    id              VARCHAR(64)   NOT NULL PRIMARY KEY,
    tenant          VARCHAR(64)   NOT NULL,
    -- the request as received (JSON)
    request         CLOB          NOT NULL,
    -- the recommendation the methods and their settings came from (JSON)
    recommendation  CLOB          NOT NULL,
    -- one entry per method, in order: {"method", "settings", "learning_rate", "suffix", "job_id", "error"} (JSON array);
    -- job_id is null until the job is created, error set when it could not be
    jobs            CLOB          NOT NULL,
    -- running | succeeded (every row final, at least one job succeeded) | cancelled (none did, one was cancelled)
    -- | failed (none succeeded)
    status          VARCHAR(20)   NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    finished        TIMESTAMP WITH TIME ZONE
);

CREATE INDEX sweeps_by_tenant ON sweeps (tenant, created);
CREATE INDEX sweeps_by_status ON sweeps (status, created);
