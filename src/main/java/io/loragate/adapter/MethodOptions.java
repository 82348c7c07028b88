package io.loragate.adapter;

import java.util.List;

/**
 * A method's settings with every default filled in, as a job stores them ({@code method.adapter.*});
 * each {@link AdapterMethod} reads the ones it needs and ignores the rest.
 *
 * @param method            the method's {@link AdapterMethod#name()}
 * @param r                 LoRA rank
 * @param alpha             LoRA alpha
 * @param dropout           LoRA dropout
 * @param targetModules     modules to adapt (empty: the method's own choice)
 * @param useRslora         LoRA scale {@code alpha/√r}
 * @param layersToTransform layer indices to adapt (empty: all)
 * @param numVirtualTokens  prompt tuning's k
 * @param promptInitText    prompt tuning's initialisation text, or null
 * @param bottleneckSize    bottleneck width
 * @param placement         bottleneck placement, {@code pfeiffer} or {@code houlsby}
 * @param partialLayers     partial fine-tuning: the last n layers
 */
public record MethodOptions(String method, int r, double alpha, double dropout, List<String> targetModules, boolean useRslora,
        List<Integer> layersToTransform, int numVirtualTokens, String promptInitText, int bottleneckSize, String placement,
        int partialLayers) {

    public MethodOptions {
        targetModules = targetModules == null ? List.of() : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? List.of() : List.copyOf(layersToTransform);
    }
}
