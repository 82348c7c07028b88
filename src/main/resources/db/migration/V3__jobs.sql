-- Fine-tuning jobs of each tenant, their event log and their checkpoints. Checkpoint state lives on
-- disk under <data-dir>/jobs/<job id>/checkpoints/step-<n>/; a row here says the folder is complete.

CREATE TABLE jobs (
    id              VARCHAR(64)   NOT NULL PRIMARY KEY,
    tenant          VARCHAR(64)   NOT NULL,
    model           VARCHAR(200)  NOT NULL,
    training_file   VARCHAR(64)   NOT NULL,
    validation_file VARCHAR(64),
    suffix          VARCHAR(64)   NOT NULL,
    seed            BIGINT        NOT NULL,
    -- the request's method with every default filled in (JSON)
    method          CLOB          NOT NULL,
    -- the publication gate (JSON) or NULL
    publish_if      CLOB,
    activate        BOOLEAN       NOT NULL,
    -- validating_files | queued | running | succeeded | failed | cancelled
    status          VARCHAR(20)   NOT NULL,
    -- a cancel was asked for; the runner stops at its next step
    cancel_requested BOOLEAN      DEFAULT FALSE NOT NULL,
    fine_tuned_model VARCHAR(140),
    error           VARCHAR(4000),
    trained_tokens  BIGINT        DEFAULT 0 NOT NULL,
    completed_steps BIGINT        DEFAULT 0 NOT NULL,
    total_steps     BIGINT        DEFAULT 0 NOT NULL,
    -- the evaluation report (JSON) once the job has evaluated
    report          CLOB,
    -- how many times a process started running this job (resumes after a crash count)
    attempts        INTEGER       DEFAULT 0 NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    started         TIMESTAMP WITH TIME ZONE,
    finished        TIMESTAMP WITH TIME ZONE
);

CREATE INDEX jobs_by_tenant ON jobs (tenant, created);
CREATE INDEX jobs_by_status ON jobs (status, created);

CREATE TABLE job_events (
    job_id          VARCHAR(64)   NOT NULL,
    seq             BIGINT        NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    -- info | warn | error
    level           VARCHAR(8)    NOT NULL,
    -- message | metrics
    type            VARCHAR(16)   NOT NULL,
    message         VARCHAR(4000) NOT NULL,
    -- metrics (JSON) or NULL
    data            CLOB,
    -- the job's status after this event
    status          VARCHAR(20)   NOT NULL,
    PRIMARY KEY (job_id, seq),
    FOREIGN KEY (job_id) REFERENCES jobs (id)
);

CREATE TABLE job_checkpoints (
    job_id          VARCHAR(64)   NOT NULL,
    step            BIGINT        NOT NULL,
    created         TIMESTAMP WITH TIME ZONE NOT NULL,
    -- metrics at this step (JSON)
    metrics         CLOB          NOT NULL,
    -- the state files are kept (older checkpoints keep their row and metrics but not their files)
    has_state       BOOLEAN       NOT NULL,
    PRIMARY KEY (job_id, step),
    FOREIGN KEY (job_id) REFERENCES jobs (id)
);
