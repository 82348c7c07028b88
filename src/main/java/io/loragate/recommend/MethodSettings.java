package io.loragate.recommend;

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

    /** The job's adapter settings for these. */
    public JobRequest.AdapterSettings toAdapterSettings() {
        return new JobRequest.AdapterSettings(r, alpha, null, null, null, method, layersToTransform, numVirtualTokens, null,
                bottleneckSize, placement, partialLayers);
    }
}
