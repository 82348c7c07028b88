-- Jobs shared by several replicas on one database. A running job belongs to the replica that
-- claimed it (owner) for as long as that replica renews its lease (lease_expires, the database's
-- clock); a lease that expired makes the job claimable by any replica, which resumes it from its
-- last checkpoint. Both are NULL when the job is not running.
ALTER TABLE jobs ADD COLUMN owner VARCHAR(200);
ALTER TABLE jobs ADD COLUMN lease_expires TIMESTAMP WITH TIME ZONE;

-- The job that published a version (NULL: uploaded). Unique: a job publishes at most one version,
-- whichever replica or attempt gets there (NULLs are distinct in H2 and PostgreSQL alike).
ALTER TABLE adapter_versions ADD COLUMN source_job VARCHAR(64);
CREATE UNIQUE INDEX adapter_versions_by_source_job ON adapter_versions (source_job);
