-- One row per tenant whose quotas are checked: "check a quota, then store" locks it (SELECT ... FOR
-- UPDATE) in the very transaction that stores, so two processes on one database (replicas on
-- PostgreSQL) cannot both pass a check that has room for one. Its own table, not tenants: the
-- 'default' tenant has no tenants row while authentication is off. Rows are created on first use.
CREATE TABLE quota_locks (
    tenant          VARCHAR(64)  NOT NULL PRIMARY KEY
);
