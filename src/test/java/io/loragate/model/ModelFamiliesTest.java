package io.loragate.model;

import io.loragate.common.LoragateException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.Fixtures;
import io.loragate.adapter.Ia3Method;
import io.loragate.adapter.PeftConfig;
import io.loragate.adapter.TrainableLora;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The family registry, each family's module map against a real checkpoint, and the config keys that are refused. */
class ModelFamiliesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** Each family's default LoRA and IA3 targets name linear layers that its fixture really has. */
    @ParameterizedTest
    @CsvSource({"llama,tiny-llama", "mistral,tiny-mistral-sw", "qwen2,tiny-qwen2", "qwen3,tiny-qwen3", "phi3,tiny-phi3",
            "gpt2,tiny-gpt2", "bert,tiny-bert-cls"})
    void defaultTargetsExistInTheFamilysCheckpoint(String family, String fixture) {
        try (BaseModel model = BaseModel.load(Fixtures.hf(fixture), Device.cpu())) {
            ModelFamily f = model.config().family();
            assertEquals(family, f.name());
            for (String target : f.loraTargets()) {
                assertTrue(model.linears().keySet().stream().anyMatch(m -> m.endsWith("." + target)),
                        family + ": LoRA target " + target + " is no linear of " + model.linears().keySet());
            }
            PeftConfig ia3 = PeftConfig.ia3(Ia3Method.targets(f), Ia3Method.feedforward(f), List.of(), "CAUSAL_LM");
            assertTrue(model.linears().keySet().stream().anyMatch(ia3::targets), family + ": IA3 targets select nothing");
            assertTrue(model.linears().keySet().stream().anyMatch(ia3::feedforward), family + ": no feed-forward IA3 module");
            for (SublayerName s : f.sublayers()) {
                assertTrue(model.linears().keySet().stream().anyMatch(m -> m.endsWith("." + s.output())), family + ": " + s);
            }
        }
    }

    /** Phi-3 has no q_proj: a fresh LoRA with the family's defaults adapts the fused qkv_proj. */
    @Test
    void phi3DefaultLoraAdaptsTheFusedProjection() {
        try (BaseModel model = BaseModel.load(Fixtures.hf("tiny-phi3"), Device.cpu());
                TrainableLora lora = TrainableLora.create(model,
                        PeftConfig.lora(4, 8, TrainableLora.defaultTargets(model.config().family()), "CAUSAL_LM"), 1)) {
            assertTrue(lora.modules().containsKey("model.layers.0.self_attn.qkv_proj"), lora.modules().keySet().toString());
            assertFalse(model.linears().containsKey("model.layers.0.self_attn.q_proj"));
            assertEquals(Map.of("qkv_proj", List.of("q_proj", "k_proj", "v_proj"), "gate_up_proj", List.of("gate_proj", "up_proj")),
                    model.config().family().fusedProjections());
        }
    }

    @Test
    void everyArchitectureHasOneFamilyAndUnknownOnesAreRefusedByName() throws IOException {
        assertEquals(ModelFamilies.architectureNames(), Architecture.SUPPORTED);
        assertTrue(Architecture.SUPPORTED.containsAll(List.of("Qwen3ForCausalLM", "Phi3ForCausalLM", "MistralForCausalLM")));
        LoragateException e = refused(c -> c.putArray("architectures").add("GemmaForCausalLM"));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("'GemmaForCausalLM'") && e.getMessage().contains("Phi3ForCausalLM"), e.getMessage());
    }

    @Test
    void hubStyleLlama32ConfigReadsRopeScaling() {
        ModelConfig c = ModelConfig.load(Fixtures.hf("tiny-llama3"));
        assertEquals("llama3", c.rope().type());
        assertEquals(500000.0, c.rope().theta());
        assertEquals(8192, c.rope().originalMax());
        assertEquals(32.0, c.rope().factor());
    }

    @Test
    void dynamicRopeAllowsFactorTimesMaxPositions() {
        ModelConfig c = ModelConfig.load(Fixtures.hf("tiny-llama-dynamic"));
        assertTrue(c.rope().dynamic());
        assertEquals(64, c.maxPositions()); // max_position_embeddings 16 × factor 4
    }

    @Test
    void slidingWindowKeysPerFamily() throws IOException {
        assertEquals(List.of(false, true), ModelConfig.load(Fixtures.hf("tiny-qwen2-sw")).windows().sliding());
        assertEquals(8, ModelConfig.load(Fixtures.hf("tiny-mistral-sw")).windows().window());
        assertFalse(ModelConfig.load(Fixtures.hf("tiny-qwen2")).windows().any()); // use_sliding_window false
        assertFalse(ModelConfig.load(Fixtures.hf("tiny-phi3")).windows().any());   // sliding_window null
        // a Mistral config without the key gets transformers' default of 4096
        assertEquals(4096, load("tiny-mistral-sw", c -> c.remove("sliding_window")).windows().window());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{\"rope_type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [2]}|UNIMPLEMENTED|rope type 'longrope' is not supported",
            "{\"rope_type\": \"su\"}|UNIMPLEMENTED|rope type 'su' is not supported",
            "{\"rope_type\": \"llama3\", \"factor\": 8.0, \"high_freq_factor\": 4.0}|INVALID_ARGUMENT|needs 'low_freq_factor'",
            "{\"rope_type\": \"linear\", \"factor\": -2}|INVALID_ARGUMENT|'factor' must be a positive number",
            "{\"rope_type\": \"default\", \"partial_rotary_factor\": 0.5}|UNIMPLEMENTED|partial_rotary_factor 0.5 is not supported",
            "{\"rope_type\": \"dynamic\", \"factor\": \"x\"}|INVALID_ARGUMENT|'factor' must be a positive number"})
    void unsupportedOrMalformedRopeIsRefusedWithItsName(String rope, LoragateException.Kind kind, String message) throws IOException {
        LoragateException e = refused(c -> {
            c.remove("rope_parameters");
            try {
                c.set("rope_scaling", JSON.readTree(rope));
            } catch (IOException x) {
                throw new IllegalStateException(x);
            }
        });
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void malformedSlidingWindowsAreRefused() throws IOException {
        LoragateException e = assertThrows(LoragateException.class,
                () -> load("tiny-mistral-sw", c -> c.put("sliding_window", -1)));
        assertTrue(e.getMessage().contains("sliding_window must be a positive integer"), e.getMessage());
        e = assertThrows(LoragateException.class, () -> load("tiny-qwen2-sw", c -> c.putArray("layer_types").add("full_attention")));
        assertTrue(e.getMessage().contains("one type per layer"), e.getMessage());
        e = assertThrows(LoragateException.class,
                () -> load("tiny-qwen2-sw", c -> c.putArray("layer_types").add("full_attention").add("chunked_attention")));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
        assertTrue(e.getMessage().contains("'chunked_attention'"), e.getMessage());
    }

    private LoragateException refused(Consumer<ObjectNode> edit) throws IOException {
        return assertThrows(LoragateException.class, () -> load("tiny-llama", edit));
    }

    /** The fixture's config.json, edited, loaded from a temporary folder. */
    private ModelConfig load(String fixture, Consumer<ObjectNode> edit) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(Fixtures.hf(fixture).resolve("config.json").toFile());
        edit.accept(c);
        Path dir = Files.createDirectories(tmp.resolve(fixture + System.nanoTime()));
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
        return ModelConfig.load(dir);
    }
}
