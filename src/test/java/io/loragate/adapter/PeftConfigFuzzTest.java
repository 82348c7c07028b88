package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.Fixtures;
import io.loragate.FuzzSupport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes {@link PeftConfig#parse} with the fixtures' adapter configs, mutated (fields set to random
 * JSON, removed, duplicated, edge-case numbers, text-level byte edits, truncations) and with random
 * and deeply nested JSON. Every case must end in a {@code LoragateException} (a
 * {@code ModelFormatException} included) with a message, or parse into a config whose module
 * queries ({@code targets}, {@code scale}, {@code toJson}) answer without any other exception.
 */
class PeftConfigFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path FILE = Path.of("adapter_config.json");
    private static final String[] FIELDS = {"peft_type", "r", "lora_alpha", "target_modules", "exclude_modules",
        "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern", "modules_to_save", "bias", "use_dora",
        "use_rslora", "fan_in_fan_out", "lora_dropout", "task_type", "base_model_name_or_path", "lora_bias",
        "layer_replication", "use_qalora", "auto_mapping"};
    private static final String[] MODULES = {"model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj",
        "transformer.h.0.attn.c_attn", "bert.encoder.layer.1.attention.self.query", "classifier", "lm_head",
        "model.layers.12.self_attn.v_proj"};
    private static final List<String> SEEDS = new ArrayList<>();
    private static final AtomicLong PARSED = new AtomicLong();

    @BeforeAll
    static void seeds() throws IOException {
        for (String f : new String[] {"tiny-llama/adapter0", "tiny-llama/adapter1", "tiny-qwen2/adapter1", "tiny-gpt2/adapter1",
            "tiny-bert-cls/adapter0"}) {
            String[] p = f.split("/");
            SEEDS.add(Files.readString(Fixtures.hf(p[0]).resolve(p[1]).resolve(PeftConfig.FILE_NAME)));
        }
    }

    @Test
    void fuzzedConfigsFailCleanlyOrParseIntoUsableConfigs() {
        FuzzSupport.Stats stats = FuzzSupport.loop("adapter-config", this::fuzzCase);
        long parsed = PARSED.get();
        System.out.printf("fuzz adapter-config: %d of %d cases parsed%n", parsed, stats.cases());
        assertTrue(parsed > stats.cases() / 20 && parsed < stats.cases() * 19L / 20, parsed + " of " + stats.cases() + " parsed");
    }

    private void fuzzCase(SplittableRandom r, StringBuilder log) throws IOException {
        String json = mutate(r, SEEDS.get(r.nextInt(SEEDS.size())), log);
        PeftConfig c = PeftConfig.parse(FILE, json);
        PARSED.incrementAndGet();
        for (String m : MODULES) {
            if (c.targets(m) && c.isLora()) {
                c.lora().scale(m);
            }
            c.savesModule(m);
        }
        PeftConfig.parse(FILE, JSON.writeValueAsString(c.toJson())); // what we write, we read back
    }

    private static String mutate(SplittableRandom r, String seed, StringBuilder log) throws IOException {
        int op = r.nextInt(10);
        log.append("op ").append(op);
        switch (op) {
            case 0, 1, 2 -> { // a field to random JSON
                ObjectNode o = (ObjectNode) JSON.readTree(seed);
                String f = FIELDS[r.nextInt(FIELDS.length)];
                String v = FuzzSupport.randomJson(r, 3);
                log.append(' ').append(f).append(" = ").append(v);
                o.remove(f);
                String text = JSON.writeValueAsString(o);
                StringBuilder q = new StringBuilder();
                FuzzSupport.quote(f, q);
                return "{" + q + ":" + v + (o.isEmpty() ? "" : ",") + text.substring(1);
            }
            case 3 -> { // a field removed, or a list field with a string / strings to regexes
                ObjectNode o = (ObjectNode) JSON.readTree(seed);
                String f = FIELDS[r.nextInt(FIELDS.length)];
                if (r.nextBoolean()) {
                    o.remove(f);
                    log.append(" remove ").append(f);
                } else {
                    String s = FuzzSupport.STRINGS[r.nextInt(FuzzSupport.STRINGS.length)];
                    log.append(' ').append(f).append(" = [").append(s).append(']');
                    o.putArray(f).add(s);
                }
                return JSON.writeValueAsString(o);
            }
            case 4 -> { // a duplicate key
                ObjectNode o = (ObjectNode) JSON.readTree(seed);
                List<String> names = new ArrayList<>();
                for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                    names.add(it.next());
                }
                String f = names.get(r.nextInt(names.size()));
                log.append(" duplicate ").append(f);
                StringBuilder q = new StringBuilder();
                FuzzSupport.quote(f, q);
                return "{" + q + ":" + JSON.writeValueAsString(o.get(f)) + "," + JSON.writeValueAsString(o).substring(1);
            }
            case 5 -> { // a number replaced by an edge-case number, textually
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+(\\.\\d+)?").matcher(seed);
                List<int[]> spans = new ArrayList<>();
                while (m.find()) {
                    spans.add(new int[] {m.start(), m.end()});
                }
                int[] s = spans.get(r.nextInt(spans.size()));
                String num = FuzzSupport.NUMBERS[r.nextInt(FuzzSupport.NUMBERS.length)];
                log.append(" number -> ").append(num);
                return seed.substring(0, s[0]) + num + seed.substring(s[1]);
            }
            case 6 -> { // byte-level edits of the UTF-8 text, decoded leniently
                byte[] b = seed.getBytes(StandardCharsets.UTF_8);
                if (r.nextBoolean()) {
                    FuzzSupport.flipBits(r, b, 0, b.length, log);
                } else {
                    int to = r.nextInt(b.length);
                    log.append(" truncate to ").append(to);
                    b = java.util.Arrays.copyOf(b, to);
                }
                return new String(b, StandardCharsets.UTF_8);
            }
            case 7 -> { // random JSON
                String s = FuzzSupport.randomJson(r, 4);
                log.append(' ').append(s.length() > 200 ? s.substring(0, 200) : s);
                return s;
            }
            case 8 -> { // deep nesting at the top or in a field
                String d = FuzzSupport.deep(r, 10 + r.nextInt(3000));
                log.append(" deep ").append(d.length());
                return r.nextBoolean() ? d : "{\"peft_type\":\"LORA\",\"target_modules\":" + d + "}";
            }
            default -> { // a regex-bearing field to a trouble string
                ObjectNode o = (ObjectNode) JSON.readTree(seed);
                String s = FuzzSupport.STRINGS[r.nextInt(FuzzSupport.STRINGS.length)];
                String f = new String[] {"target_modules", "exclude_modules", "layers_pattern", "modules_to_save"}[r.nextInt(4)];
                log.append(' ').append(f).append(" = ").append(s);
                if (r.nextBoolean()) {
                    o.put(f, s);
                    if (r.nextBoolean()) { // the layer filter is what reads layers_pattern
                        o.putArray("layers_to_transform").add(0).add(1);
                    }
                } else {
                    o.putObject(r.nextBoolean() ? "rank_pattern" : "alpha_pattern").put(s, 4);
                }
                return JSON.writeValueAsString(o);
            }
        }
    }
}
