-- Replicas on one database announce themselves here (registry/ReplicaCensus, PostgreSQL only): each
-- writes its row every loragate.replicas.heartbeat-interval, and a row seen within three intervals
-- counts as a live replica. With loragate.replicas.rate-budget=share each replica enforces its share
-- of a tenant's rate quotas, 1 / (live replicas).
CREATE TABLE replica_heartbeats (
    replica_id VARCHAR(200) PRIMARY KEY,
    last_seen TIMESTAMP WITH TIME ZONE NOT NULL
);
