package io.loragate.registry;

import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import java.util.List;

/**
 * Tenants' adapters and their immutable versions: metadata in the database, weights under
 * {@code <data-dir>/adapters/<tenant>/<name>/<version>/}. Every method is scoped by tenant; another
 * tenant's adapter is simply not found.
 *
 * <p>Errors are {@link io.loragate.model.LoragateException}s whose message names the bad value:
 * {@code INVALID_ARGUMENT} for bad names and uploads, {@code NOT_FOUND} for unknown adapters or
 * versions, {@code FAILED_PRECONDITION} for operations the current state forbids.
 */
@ApplicationScoped
public class AdapterRegistry {

    /**
     * Publishes a new version of {@code name} from a PEFT folder's two files. The files are copied
     * and validated fully (config, safetensors only, loads against the resident base, rank and size
     * limits) before the version exists; publication then renames the copy into place and inserts
     * the version row, so a crash leaves either no version or a whole one. Version numbers are
     * {@code max+1} per name, assigned atomically. The first version of a name becomes active.
     *
     * @param adapterConfigJson an {@code adapter_config.json} (any file name; it is copied)
     * @param adapterWeights    an {@code adapter_model.safetensors} (any file name; it is copied)
     */
    public AdapterVersion register(String tenant, String name, Path adapterConfigJson, Path adapterWeights) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The tenant's adapters with live versions, by name. */
    public List<AdapterInfo> list(String tenant) {
        throw new UnsupportedOperationException("not yet");
    }

    /** One adapter, or {@code NOT_FOUND}. */
    public AdapterInfo get(String tenant, String name) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Resolves an adapter id: {@code name} to its active version, {@code name@3} to that version.
     * {@code NOT_FOUND} (never a permission error) for unknown ids and other tenants' adapters.
     */
    public AdapterVersion resolve(String tenant, String adapterId) {
        throw new UnsupportedOperationException("not yet");
    }

    /** Points the alias {@code name} at {@code version} atomically; answers that version. */
    public AdapterVersion setActive(String tenant, String name, int version) {
        throw new UnsupportedOperationException("not yet");
    }

    /**
     * Deletes one version (its row becomes a tombstone so the number is never reused, its files are
     * removed, its weights leave the cache once no request holds them). Deleting the active version
     * is refused with {@code FAILED_PRECONDITION} while other versions exist: make another version
     * active first. Deleting the only version deletes the adapter.
     */
    public void deleteVersion(String tenant, String name, int version) {
        throw new UnsupportedOperationException("not yet");
    }

    /** The PEFT folder of a version ({@code adapter_config.json} + {@code adapter_model.safetensors}). */
    public Path folder(AdapterVersion v) {
        throw new UnsupportedOperationException("not yet");
    }
}
