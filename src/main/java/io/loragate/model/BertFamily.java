package io.loragate.model;

import java.util.List;

/** BERT encoders ({@code BertModel}, {@code BertForSequenceClassification}). */
final class BertFamily implements ModelFamily {

    @Override
    public String name() {
        return "bert";
    }

    @Override
    public List<String> architectures() {
        return List.of("BertModel", "BertForSequenceClassification");
    }

    @Override
    public Architecture forward() {
        return Architecture.BERT;
    }

    @Override
    public List<String> loraTargets() {
        return List.of("query", "value");
    }

    /** As full-path regular expressions: the name {@code output.dense} also ends the attention's output layer. */
    @Override
    public ModuleSelection ia3Targets() {
        return ModuleSelection.regex(".*\\.attention\\.self\\.(key|value)|.*\\.layer\\.\\d+\\.output\\.dense");
    }

    @Override
    public ModuleSelection ia3Feedforward() {
        return ModuleSelection.regex(".*\\.layer\\.\\d+\\.output\\.dense");
    }

    @Override
    public List<SublayerName> sublayers() {
        return List.of(SublayerName.attention("attention", "attention.output.dense"),
                SublayerName.feedForward("mlp", "output.dense"));
    }
}
