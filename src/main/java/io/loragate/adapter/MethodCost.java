package io.loragate.adapter;

import java.util.List;

/**
 * What training one method costs per token, as one {@link AdapterMethod#cost} estimates it for the
 * recommender's cost model.
 *
 * @param params          parameters the method trains (a classification head not included)
 * @param tensors         tensors it saves (safetensors header entries)
 * @param flopsPerToken   training FLOPs per token
 */
public record MethodCost(long params, long tensors, double flopsPerToken) {

    /**
     * What every estimate starts from.
     *
     * @param shape         the base's sizes
     * @param layers        the layers the method changes (its layers_to_transform, or all)
     * @param forwardFlops  {@code F}: FLOPs of one forward per token
     * @param backwardShare the share of layers a backward passes (from the lowest changed layer up)
     * @param meanTokens    mean tokens per example of the dataset
     */
    public record Basis(ModelShape shape, List<Integer> layers, double forwardFlops, double backwardShare, double meanTokens) {

        /** {@code F · (1 + b) + 6P}: forward, the backward down to the lowest changed layer, and P's own three passes. */
        public double throughLayers(long params) {
            return forwardFlops * (1 + backwardShare) + 6.0 * params;
        }
    }
}
