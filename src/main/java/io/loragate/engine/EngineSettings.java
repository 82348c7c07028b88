package io.loragate.engine;

/**
 * @param maxBatch          sequences decoded together at most (KV-cache rows)
 * @param maxQueue          requests of one tenant waiting for admission at most; beyond it its submissions are refused
 * @param maxPrefillTokens  prompt tokens prefilled in one step at most (one longer prompt still runs alone)
 * @param maxTasks          embedding/classification tasks waiting at most
 */
public record EngineSettings(int maxBatch, int maxQueue, int maxPrefillTokens, int maxTasks) {

    public EngineSettings {
        if (maxBatch < 1 || maxQueue < 1 || maxPrefillTokens < 1 || maxTasks < 1) {
            throw new IllegalArgumentException("engine limits must be positive: " + maxBatch + ", " + maxQueue + ", "
                    + maxPrefillTokens + ", " + maxTasks);
        }
    }
}
