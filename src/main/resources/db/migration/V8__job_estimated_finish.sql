-- When a running job is expected to finish (OpenAI's estimated_finish), from its step timings;
-- NULL until the first step of an attempt and whenever the job is not running.
ALTER TABLE jobs ADD COLUMN estimated_finish TIMESTAMP WITH TIME ZONE;
