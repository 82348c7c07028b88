-- A deleted tenant keeps its row as a tombstone (deleted set): its id is never issued again, so the
-- job history, events and sweeps recorded under it can never surface for a new tenant of that name.
ALTER TABLE tenants ADD COLUMN deleted TIMESTAMP WITH TIME ZONE;
