package io.loragate.registry;

import io.loragate.adapter.LoraAdapter;

/**
 * A reference to an adapter's device weights, held for as long as a request (or a batch) uses them.
 * While any lease is open the weights stay valid even if the cache evicts or unloads the version;
 * they are freed when the cache has let go of them and the last lease closes.
 */
public interface AdapterLease extends AutoCloseable {

    /** The weights; valid until {@link #close()}. */
    LoraAdapter adapter();

    /** Which version these weights are. */
    AdapterVersion version();

    /** Releases this lease. Idempotent: closing twice releases once. */
    @Override
    void close();
}
