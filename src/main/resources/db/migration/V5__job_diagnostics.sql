-- A job's diagnostics options (JSON: reference_file, layers, max_examples) or NULL for the defaults.
ALTER TABLE jobs ADD COLUMN diagnostics CLOB;
