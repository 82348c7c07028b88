package io.loragate.service;

import io.loragate.registry.Tenants;
import io.loragate.registry.Tenants.QuotaOverrides;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.Optional;

/**
 * What the transports call for tenants: who a key belongs to (the REST and gRPC auth filters and
 * tenant resolvers) and tenant management (the admin API), answered as {@link TenantView}.
 */
@ApplicationScoped
public class TenantService {

    /** The tenant of unauthenticated deployments. */
    public static final String DEFAULT = Tenants.DEFAULT;

    private final Tenants tenants;

    public TenantService(Tenants tenants) {
        this.tenants = tenants;
    }

    // ---------------------------------------------------------------------------------------------
    // Authentication

    /** Whether callers must present an API key. */
    public boolean authEnabled() {
        return tenants.authEnabled();
    }

    /** The tenant whose key this is, or empty (unknown, malformed or revoked key). */
    public Optional<String> authenticate(String apiKey) {
        return tenants.authenticate(apiKey);
    }

    /** The key of an {@code Authorization: Bearer <key>} header (REST header, gRPC metadata), or null. */
    public static String bearerKey(String header) {
        return Tenants.bearerKey(header);
    }

    /** Whether an admin key is configured. */
    public boolean adminConfigured() {
        return tenants.adminConfigured();
    }

    /** Whether {@code key} is the admin key. */
    public boolean isAdmin(String key) {
        return tenants.isAdmin(key);
    }

    // ---------------------------------------------------------------------------------------------
    // Management (the admin API)

    /** Refuses an id the registry would not store. */
    public static void checkId(String id) {
        Tenants.checkId(id);
    }

    /** Creates the tenant, with {@code overrides} when not null; the answer carries its API key. */
    public TenantView create(String id, TenantQuotas overrides) {
        QuotaOverrides q = overrides == null ? null : overrides(overrides);
        if (q != null) {
            Tenants.validate(q);
        }
        Tenants.Issued issued = tenants.create(id);
        Tenants.Tenant t = q == null ? issued.tenant() : tenants.setQuotas(id, q);
        return view(t, false, issued.apiKey());
    }

    public List<TenantView> list() {
        return tenants.list().stream().map(t -> view(t, false, null)).toList();
    }

    /** The tenant with its effective quotas and what it stores. */
    public TenantView get(String id) {
        return view(tenants.get(id), true, null);
    }

    /** Fails as {@link #get} would for an unknown tenant. */
    public void checkExists(String id) {
        tenants.get(id);
    }

    /** A new key; the old one stops working at once. The answer carries the new key. */
    public TenantView rotate(String id) {
        Tenants.Issued issued = tenants.rotate(id);
        return view(issued.tenant(), false, issued.apiKey());
    }

    public void delete(String id) {
        tenants.delete(id);
    }

    /** Replaces the tenant's overrides; answers it with its effective quotas and usage. */
    public TenantView setQuotas(String id, TenantQuotas overrides) {
        return view(tenants.setQuotas(id, overrides(overrides)), true, null);
    }

    // ---------------------------------------------------------------------------------------------

    private static QuotaOverrides overrides(TenantQuotas q) {
        return new QuotaOverrides(q.requestsPerSecond(), q.tokensPerMinute(), q.maxConcurrentStreams(), q.maxAdapters(),
                q.maxStoredBytes(), q.maxConcurrentJobs());
    }

    private TenantView view(Tenants.Tenant t, boolean details, String apiKey) {
        QuotaOverrides o = t.overrides();
        TenantQuotas overrides = new TenantQuotas(o.requestsPerSecond(), o.tokensPerMinute(), o.maxConcurrentStreams(),
                o.maxAdapters(), o.maxStoredBytes(), o.maxConcurrentJobs());
        TenantQuotas quotas = null;
        TenantView.Usage usage = null;
        if (details) {
            Tenants.Quota q = tenants.quota(t.id());
            quotas = new TenantQuotas(q.requestsPerSecond(), q.tokensPerMinute(), q.maxConcurrentStreams(), q.maxAdapters(),
                    q.maxStoredBytes(), q.maxConcurrentJobs());
            Tenants.Usage u = tenants.usage(t.id());
            usage = new TenantView.Usage(u.adapters(), u.storedBytes());
        }
        return new TenantView(t.id(), t.keyId(), t.created(), t.keyRotated(), overrides, quotas, usage, apiKey);
    }
}
