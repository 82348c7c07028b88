package io.loragate.config;

/**
 * How a tenant's rate quotas ({@code requests_per_second}, {@code tokens_per_minute}) are enforced
 * by several replicas on one database ({@code loragate.replicas.rate-budget}).
 */
public enum RateBudget {
    /**
     * Each replica enforces the tenant's whole budget: never refused below its limit, but up to N
     * times the limit in total when its requests reach N replicas.
     */
    WHOLE,
    /**
     * Each replica enforces 1/N of the budget, N the live replicas ({@code registry/ReplicaCensus}):
     * at most about the limit in total; a tenant whose requests reach fewer than N replicas (one
     * adapter behind the affinity router) gets that share of its limit per replica it reaches.
     */
    SHARE
}
