package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.loragate.Fixtures;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.model.LinearShape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The sub-layers that bottleneck adapters find through the base's family are the ones its forward runs. */
class FamilySublayersTest {

    /** Every family: the names, order, kind and width of the sub-layers equal what the forward hands the hook. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama", "tiny-mistral-sw", "tiny-qwen2", "tiny-qwen3", "tiny-phi3", "tiny-gpt2",
            "tiny-bert-cls"})
    void sublayersAreThoseTheForwardHandsTheHook(String fixture) {
        try (BaseModel model = BaseModel.load(Fixtures.hf(fixture), Device.cpu())) {
            List<String> seen = new ArrayList<>();
            Map<String, Long> widths = new LinkedHashMap<>();
            AdapterHook recorder = new AdapterHook() {
                @Override
                public NDArray afterSublayer(String name, NDArray h) {
                    seen.add(name);
                    widths.put(name, h.getShape().get(h.getShape().dimension() - 1));
                    return h;
                }
            };
            long[] ids = {1, 2, 3};
            if (model instanceof CausalModel causal) {
                try (NDManager out = causal.manager().newSubManager()) {
                    causal.logits(out, ids, recorder);
                }
            } else {
                ((EncoderModel) model).lastHidden(List.of(ids), recorder);
            }
            List<PartFormats.Sublayer> found = PartFormats.sublayers(model.config().family(), model.linears());
            assertEquals(seen, found.stream().map(PartFormats.Sublayer::name).toList(), fixture);
            for (PartFormats.Sublayer s : found) {
                assertEquals(widths.get(s.name()), s.hidden(), s.name());
                assertEquals(s.name().endsWith(".mlp"), s.mlp(), s.name());
                assertEquals(s.layer(), PartFormats.layerIndex(s.name() + ".x"), s.name());
            }
        }
    }

    /** A module outside the numbered layers is in no layer; one inside is in the first numbered part's layer. */
    @ParameterizedTest
    @ValueSource(strings = {"lm_head", "bert.pooler.dense", "model.embed_tokens", "classifier", "layers.3"})
    void modulesOutsideTheLayersHaveNoLayer(String module) {
        assertNull(PartFormats.layerIndex(module));
        assertEquals(3, PartFormats.layerIndex("transformer.h.3.attn.c_attn"));
        assertEquals(3, PartFormats.layerIndex("h.3.mlp.c_proj"));
        assertEquals(12, PartFormats.layerIndex("bert.encoder.layer.12.attention.output.dense"));
        assertEquals(List.of(), PartFormats.sublayers(io.loragate.model.ModelConfig.load(Fixtures.hf("tiny-llama")).family(),
                Map.of(module, new LinearShape(module, 4, 4))));
    }
}
