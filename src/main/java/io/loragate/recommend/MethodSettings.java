package io.loragate.recommend;

import io.loragate.adapter.AdapterMethod;
import io.loragate.adapter.AdapterMethods;
import io.loragate.adapter.MethodOptions;
import io.loragate.training.jobs.JobRequest;
import java.util.List;

/**
 * An adaptation method with the settings a job takes ({@code method.adapter.*}); unset fields keep
 * the job's defaults.
 */
public record MethodSettings(String method, Integer r, Double alpha, List<Integer> layersToTransform, Integer numVirtualTokens,
        Integer bottleneckSize, String placement, Integer partialLayers) {

    public MethodSettings {
        layersToTransform = layersToTransform == null || layersToTransform.isEmpty() ? null : List.copyOf(layersToTransform);
    }

    public static MethodSettings of(String method) {
        return new MethodSettings(method, null, null, null, null, null, null, null);
    }

    /**
     * The settings a method shows when the recommender lists it with its defaults: those the method
     * reads ({@link AdapterMethod#settings()}) at a job's default, a rank of {@code rank} with alpha
     * {@code 2·rank}.
     */
    public static MethodSettings defaults(String method, int rank) {
        List<String> keys = AdapterMethods.get(method).settings();
        MethodOptions d = of(method).toOptions();
        return new MethodSettings(method, keys.contains("r") ? rank : null, keys.contains("alpha") ? 2.0 * rank : null, null,
                keys.contains("num_virtual_tokens") ? d.numVirtualTokens() : null,
                keys.contains("bottleneck_size") ? d.bottleneckSize() : null, keys.contains("placement") ? d.placement() : null,
                keys.contains("partial_layers") ? d.partialLayers() : null);
    }

    /** These settings with a job's defaults for the unset ones (r 8, alpha 16, 8 virtual tokens, bottleneck 16 pfeiffer, 1 layer). */
    public MethodOptions toOptions() {
        return new MethodOptions(method, r == null ? 8 : r, alpha == null ? 16 : alpha, 0.05, List.of(), false,
                layersToTransform, numVirtualTokens == null ? 8 : numVirtualTokens, null,
                bottleneckSize == null ? 16 : bottleneckSize, placement == null ? "pfeiffer" : placement,
                partialLayers == null ? 1 : partialLayers);
    }

    /** The job's adapter settings for these. */
    public JobRequest.AdapterSettings toAdapterSettings() {
        return new JobRequest.AdapterSettings(r, alpha, null, null, null, method, layersToTransform, numVirtualTokens, null,
                bottleneckSize, placement, partialLayers);
    }
}
