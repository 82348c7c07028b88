package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftConfigTest {

    private static final Path FILE = Path.of("adapter_config.json");

    private static PeftConfig parse(String json) {
        return PeftConfig.parse(FILE, json);
    }

    private static PeftConfig lora(String extra) {
        return parse("{\"peft_type\":\"LORA\",\"r\":4,\"lora_alpha\":8,\"target_modules\":[\"q_proj\",\"v_proj\"]"
                + (extra.isEmpty() ? "" : "," + extra) + "}");
    }

    @Test
    void readsTheFixturesAsPeftWroteThem() {
        PeftConfig c = PeftConfig.read(AdapterFixtures.adapter("tiny-llama", 0).resolve("adapter_config.json"));
        assertEquals("LORA", c.peftType());
        assertEquals(4, c.lora().r());
        assertEquals(8.0, c.lora().loraAlpha());
        assertEquals(2.0, c.lora().scale("model.layers.0.self_attn.q_proj"));
        assertEquals(7, c.targetModules().names().size());
        assertFalse(c.fanInFanOut());
        assertTrue(c.extras().containsKey("peft_version"), "unmodelled keys are kept");

        PeftConfig one = PeftConfig.read(AdapterFixtures.adapter("tiny-llama", 1).resolve("adapter_config.json"));
        assertEquals(4.0, one.lora().scale("model.layers.1.mlp.down_proj"));

        PeftConfig gpt2 = PeftConfig.read(AdapterFixtures.adapter("tiny-gpt2", 0).resolve("adapter_config.json"));
        assertTrue(gpt2.fanInFanOut());
        assertTrue(gpt2.targets("transformer.h.0.mlp.c_proj"));
        assertFalse(gpt2.targets("transformer.h.0.mlp.c_fc"));

        PeftConfig bert = PeftConfig.read(AdapterFixtures.adapter("tiny-bert-cls", 0).resolve("adapter_config.json"));
        assertEquals(List.of("classifier", "score"), bert.modulesToSave(), "duplicates dropped, order kept");
        assertEquals("SEQ_CLS", bert.taskType());
        assertTrue(bert.savesModule("classifier"));
        assertFalse(bert.targets("classifier"));
        assertTrue(bert.targets("bert.encoder.layer.1.attention.self.value"));
    }

    @Test
    void listTargetsMatchWholeNamesOrDottedSuffixes() {
        PeftConfig c = parse("{\"peft_type\":\"LORA\",\"target_modules\":[\"q_proj\",\"self_attn.v_proj\",\"lm_head\"]}");
        assertTrue(c.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(c.targets("model.layers.3.self_attn.v_proj"));
        assertTrue(c.targets("lm_head"));
        assertFalse(c.targets("model.layers.0.self_attn.xq_proj"), "a suffix must start at a dot");
        assertFalse(c.targets("model.layers.0.self_attn.k_proj"));
        assertFalse(c.targets("model.layers.0.mlp.v_proj"));
        assertEquals(8, c.lora().r(), "PEFT's default r");
        assertEquals(1.0, c.lora().scale("lm_head"), "PEFT's default alpha 8 over r 8");
    }

    @Test
    void aStringTargetIsARegexThatMustMatchTheWholeName() {
        PeftConfig c = parse("{\"peft_type\":\"LORA\",\"r\":8,\"target_modules\":\".*\\\\.layers\\\\.0\\\\..*(q|v)_proj\"}");
        assertTrue(c.targetModules().isRegex());
        assertTrue(c.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(c.targets("model.layers.0.self_attn.v_proj"));
        assertFalse(c.targets("model.layers.1.self_attn.q_proj"));
        assertFalse(c.targets("model.layers.0.self_attn.k_proj"));
        PeftConfig partial = parse("{\"peft_type\":\"LORA\",\"target_modules\":\"q_proj\"}");
        assertFalse(partial.targets("model.layers.0.self_attn.q_proj"), "re.fullmatch, not re.search");
        assertTrue(partial.targets("q_proj"));
    }

    @Test
    void rankAndAlphaPatternsFirstMatchWins() {
        PeftConfig c = lora("\"rank_pattern\":{\"self_attn.q_proj\":16,\"layers.1.*\":2,\"q_proj\":32},"
                + "\"alpha_pattern\":{\"q_proj\":64}");
        assertEquals(16, c.lora().rankFor("model.layers.0.self_attn.q_proj"));
        assertEquals(16, c.lora().rankFor("model.layers.1.self_attn.q_proj"), "the first matching key wins");
        assertEquals(2, c.lora().rankFor("model.layers.1.self_attn.v_proj"));
        assertEquals(4, c.lora().rankFor("model.layers.0.self_attn.v_proj"));
        assertEquals(4, c.lora().rankFor("model.layers.0.self_attn.kq_proj"), "a key matches after a dot only");
        assertEquals(64.0, c.lora().alphaFor("model.layers.0.self_attn.q_proj"));
        assertEquals(4.0, c.lora().scale("model.layers.0.self_attn.q_proj"), "64 / 16");
        assertEquals(4.0, c.lora().scale("model.layers.1.self_attn.v_proj"), "8 / 2");
        assertEquals(2.0, c.lora().scale("model.layers.0.self_attn.v_proj"), "8 / 4");
    }

    @Test
    void rsLoraScalesByTheSquareRootOfTheRank() {
        PeftConfig c = parse("{\"peft_type\":\"LORA\",\"r\":16,\"lora_alpha\":32,\"use_rslora\":true,"
                + "\"target_modules\":[\"q_proj\"],\"rank_pattern\":{\"layers.1.self_attn.q_proj\":4}}");
        assertEquals(8.0, c.lora().scale("model.layers.0.self_attn.q_proj"), 1e-12);
        assertEquals(16.0, c.lora().scale("model.layers.1.self_attn.q_proj"), 1e-12);
    }

    @Test
    void layersToTransformExcludeModulesAndModulesToSave() {
        PeftConfig layers = lora("\"layers_to_transform\":[1,3],\"layers_pattern\":\"layers\"");
        assertFalse(layers.targets("model.layers.0.self_attn.q_proj"));
        assertTrue(layers.targets("model.layers.1.self_attn.q_proj"));
        assertTrue(layers.targets("model.layers.3.self_attn.v_proj"));
        PeftConfig single = lora("\"layers_to_transform\":0");
        assertEquals(List.of(0), single.layersToTransform());
        assertTrue(single.targets("transformer.h.0.attn.q_proj"), "no pattern: any container name");
        assertFalse(single.targets("transformer.h.1.attn.q_proj"));
        PeftConfig otherContainer = lora("\"layers_to_transform\":[0],\"layers_pattern\":[\"blocks\"]");
        assertFalse(otherContainer.targets("model.layers.0.self_attn.q_proj"));

        PeftConfig excluded = lora("\"exclude_modules\":[\"layers.1.self_attn.q_proj\"]");
        assertTrue(excluded.targets("model.layers.0.self_attn.q_proj"));
        assertFalse(excluded.targets("model.layers.1.self_attn.q_proj"));
        PeftConfig excludedRegex = lora("\"exclude_modules\":\".*layers\\\\.0\\\\..*\"");
        assertFalse(excludedRegex.targets("model.layers.0.self_attn.v_proj"));
        assertTrue(excludedRegex.targets("model.layers.1.self_attn.v_proj"));

        PeftConfig saved = parse("{\"peft_type\":\"LORA\",\"target_modules\":[\"dense\"],\"modules_to_save\":[\"head\"]}");
        assertTrue(saved.targets("bert.pooler.dense"));
        assertFalse(saved.targets("head.dense"), "modules inside a module to save never get LoRA");
        assertTrue(saved.savesModule("head"));
        assertTrue(saved.savesModule("model.head"));
    }

    @Test
    void unknownKeysAreIgnoredAndKept() {
        PeftConfig c = lora("\"something_new\":{\"a\":1},\"lora_dropout\":0.1,\"inference_mode\":false");
        assertEquals(0.1, c.lora().loraDropout());
        assertEquals(2, c.extras().size());
        assertEquals(1, c.toJson().get("something_new").get("a").intValue());
    }

    @Test
    void rejectsWhatWeDoNotRun() {
        LoragateException loha = assertThrows(LoragateException.class,
                () -> parse("{\"peft_type\":\"LOHA\",\"target_modules\":[\"q_proj\"]}"));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, loha.kind());
        assertTrue(loha.getMessage().contains("LOHA"), loha.getMessage());
        for (String bias : List.of("all", "lora_only")) {
            LoragateException e = assertThrows(LoragateException.class, () -> lora("\"bias\":\"" + bias + "\""));
            assertEquals(LoragateException.Kind.UNIMPLEMENTED, e.kind());
            assertTrue(e.getMessage().contains(bias), e.getMessage());
        }
        assertTrue(lora("\"use_dora\":true").lora().useDora(), "DoRA parses (it loads with the base's weights)");
        assertEquals(LoragateException.Kind.UNIMPLEMENTED,
                assertThrows(LoragateException.class, () -> lora("\"lora_bias\":true")).kind());
        assertEquals(LoragateException.Kind.UNIMPLEMENTED,
                assertThrows(LoragateException.class, () -> lora("\"layer_replication\":[[0,2]]")).kind());
        // neutral values of those keys are fine
        lora("\"lora_bias\":false,\"layer_replication\":null,\"use_dora\":false,\"target_parameters\":null");
    }

    @Test
    void malformedFilesNameTheFileAndTheField() {
        assertMalformed("{\"peft_type\":\"LORA\",\"r\":0,\"target_modules\":[\"q\"]}", "'r'");
        assertMalformed("{\"peft_type\":\"LORA\",\"r\":-2,\"target_modules\":[\"q\"]}", "'r'");
        assertMalformed("{\"peft_type\":\"LORA\",\"r\":\"8\",\"target_modules\":[\"q\"]}", "'r'");
        assertMalformed("{\"peft_type\":\"LORA\",\"r\":2.5,\"target_modules\":[\"q\"]}", "'r'");
        assertMalformed("{\"peft_type\":\"LORA\",\"lora_alpha\":\"x\",\"target_modules\":[\"q\"]}", "'lora_alpha'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":5}", "'target_modules'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\", 3]}", "'target_modules'");
        assertMalformed("{\"peft_type\":\"LORA\"}", "'target_modules'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":\"(unclosed\"}", "'target_modules'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\"],\"use_rslora\":\"yes\"}", "'use_rslora'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\"],\"rank_pattern\":{\"q\":0}}", "'rank_pattern'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\"],\"rank_pattern\":[1]}", "'rank_pattern'");
        assertMalformed("{\"peft_type\":\"LORA\",\"target_modules\":[\"q\"],\"layers_to_transform\":\"1\"}", "'layers_to_transform'");
        assertMalformed("{\"target_modules\":[\"q\"]}", "'peft_type'");
        assertMalformed("{\"peft_type\":\"LORA\",", "JSON");
        assertMalformed("[1,2]", "JSON object");
    }

    private static void assertMalformed(String json, String mention) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> parse(json), json);
        assertTrue(e.getMessage().startsWith(FILE.toString()), e.getMessage());
        assertTrue(e.getMessage().contains(mention), e.getMessage() + " should mention " + mention);
    }

    @Test
    void aMissingFileIsReported(@TempDir Path dir) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> PeftConfig.read(dir.resolve("adapter_config.json")));
        assertTrue(e.getMessage().contains("not found"));
    }

    @Test
    void writesWhatItReads(@TempDir Path dir) {
        PeftConfig c = lora("\"use_rslora\":true,\"rank_pattern\":{\"b\":2,\"a\":3},\"alpha_pattern\":{\"q\":1.5},"
                + "\"layers_to_transform\":[0,1],\"layers_pattern\":\"layers\",\"modules_to_save\":[\"classifier\"],"
                + "\"exclude_modules\":\"x.*\",\"task_type\":\"CAUSAL_LM\",\"fan_in_fan_out\":true,\"custom\":[1]");
        c.write(dir);
        PeftConfig back = PeftConfig.read(dir.resolve("adapter_config.json"));
        assertEquals(c, back);
        assertEquals(List.of("b", "a"), List.copyOf(back.lora().rankPattern().keySet()), "pattern order is significant");

        PeftConfig plain = PeftConfig.lora(16, 32, List.of("q_proj", "v_proj"), "CAUSAL_LM");
        plain.write(dir);
        assertEquals(plain, PeftConfig.read(dir.resolve("adapter_config.json")));
        assertEquals(Map.of(), plain.extras());
    }

    // --- untrusted input (docs/security.md): found by PeftConfigFuzzTest or closed on review

    /** Found by the fuzzer: an invalid layers_pattern passed parsing and threw PatternSyntaxException at load. */
    @Test
    void anInvalidLayersPatternIsRefusedAtParse() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> lora("\"layers_pattern\":\"C:\\\\x\",\"layers_to_transform\":[0]"));
        assertTrue(e.getMessage().contains("'layers_pattern'"), e.getMessage());
    }

    @Test
    void duplicateKeysAreRefused() {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> lora("\"r\":64"));
        assertTrue(e.getMessage().contains("Duplicate field 'r'"), e.getMessage());
    }

    @Test
    void deepNestingIsRefusedCleanly() {
        String deep = "[".repeat(100) + "]".repeat(100);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> lora("\"x\":" + deep));
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
    }

    @Test
    void aCatastrophicallyBacktrackingRegexFailsFastInsteadOfHanging() {
        PeftConfig c = parse("{\"peft_type\":\"LORA\",\"target_modules\":\"(.*.*.*.*.*)*x\"}");
        long start = System.nanoTime();
        LoragateException e = assertThrows(LoragateException.class,
                () -> c.targets("model.layers.0.self_attn.q_proj_with_a_long_name_to_backtrack_over"));
        assertTrue(e.getMessage().contains("backtracks too much"), e.getMessage());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "took too long");
    }

    @Test
    void aHugeTargetListParsesInLinearTime() {
        StringBuilder b = new StringBuilder("{\"peft_type\":\"LORA\",\"target_modules\":[");
        for (int i = 0; i < 60_000; i++) {
            b.append(i > 0 ? "," : "").append("\"m").append(i).append('"');
        }
        long start = System.nanoTime();
        assertEquals(60_000, parse(b.append("]}").toString()).targetModules().names().size());
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "took too long");
    }

    @Test
    void anOversizedConfigFileIsRefusedBeforeReading(@TempDir Path dir) throws java.io.IOException {
        Path f = dir.resolve("adapter_config.json");
        java.nio.file.Files.write(f, new byte[(int) io.loragate.common.JsonLimits.MAX_CONFIG_BYTES + 1]);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> PeftConfig.read(f));
        assertTrue(e.getMessage().contains("at most"), e.getMessage());
    }
}
