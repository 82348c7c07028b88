package io.loragate.model;

import java.util.List;

/** GPT-2 ({@code GPT2LMHeadModel}): Conv1D weights stored {@code (in, out)}, q/k/v fused in {@code attn.c_attn}. */
final class Gpt2Family implements ModelFamily {

    @Override
    public String name() {
        return "gpt2";
    }

    @Override
    public List<String> architectures() {
        return List.of("GPT2LMHeadModel");
    }

    @Override
    public Architecture forward() {
        return Architecture.GPT2;
    }

    @Override
    public List<String> loraTargets() {
        return List.of("c_attn");
    }

    @Override
    public ModuleSelection ia3Targets() {
        return ModuleSelection.of("c_attn", "mlp.c_proj");
    }

    @Override
    public ModuleSelection ia3Feedforward() {
        return ModuleSelection.of("mlp.c_proj");
    }

    @Override
    public List<SublayerName> sublayers() {
        return List.of(SublayerName.attention("attn", "attn.c_proj"),
                SublayerName.feedForward("mlp", "mlp.c_proj"));
    }
}
