package io.loragate.adapter;

/** Test access to package-private state of {@link LoraAdapter}. */
public final class AdapterAccess {

    private AdapterAccess() {
    }

    /** Whether the adapter's device weights are still allocated. */
    public static boolean isOpen(LoraAdapter adapter) {
        return adapter.isOpen();
    }
}
