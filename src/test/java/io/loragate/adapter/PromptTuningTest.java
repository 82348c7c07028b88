package io.loragate.adapter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.Fixtures;
import io.loragate.model.AdapterHook;
import io.loragate.model.BaseModel;
import io.loragate.model.CausalModel;
import io.loragate.model.EncoderModel;
import io.loragate.common.LoragateException;
import io.loragate.common.ModelFormatException;
import io.loragate.model.TextTokenizer;
import io.loragate.model.safetensors.SafetensorsFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt tuning (PEFT {@code PROMPT_TUNING}): the closed form — a prompt whose
 * embeddings are those of real tokens {@code t1..tk} gives exactly the logits of the base with
 * {@code t1..tk} prepended to the input — on a decoder (tiny-llama, tiny-gpt2) and an encoder
 * (tiny-bert-cls), through the trainable hook and through the saved PEFT folder served by
 * {@link MultiLoraHook}; mixed rows; the format's checks.
 */
class PromptTuningTest {

    private static final double TOLERANCE = 1e-5;

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static NDManager cpu() {
        return NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    @Test
    void decoderPromptOfRealTokenEmbeddingsEqualsPrependingThoseTokens(@TempDir Path dir) {
        for (String fixture : List.of("tiny-llama", "tiny-gpt2")) {
            try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf(fixture), Device.cpu());
                    TextTokenizer tok = TextTokenizer.load(Fixtures.hf(fixture))) {
                String initText = "permission is hereby granted";
                long[] t = tok.encode(initText);
                int k = t.length;
                long[] input = tok.encode("the software is provided");
                Path folder = dir.resolve(fixture);
                try (TrainableLora prompt = PromptPart.trainable(model, tok, k, initText, "CAUSAL_LM", fixture, 3, null);
                        NDManager out = cpu()) {
                    assertEquals(k, prompt.virtualTokens());
                    prompt.save(folder);
                    float[] reference = model.logits(out, concat(t, input), AdapterHook.NONE).toFloatArray();
                    float[] trainable = model.logits(out, PromptPart.prepend(input, k), prompt).toFloatArray();
                    double dTrain = Fixtures.maxAbsDiff(reference, trainable);
                    try (LoraAdapter served = LoraAdapter.load(folder, model.config().family(), model.linears(), model.paramShapes(), Device.cpu())) {
                        assertEquals(k, served.virtualTokens());
                        float[] serving = model.logits(out, PromptPart.prepend(input, k), MultiLoraHook.single(served)).toFloatArray();
                        double dServe = Fixtures.maxAbsDiff(reference, serving);
                        System.out.printf("%s: prompt of %d real-token embeddings vs those tokens prepended: max abs logit diff"
                                + " %.2e (trainable), %.2e (served)%n", fixture, k, dTrain, dServe);
                        assertTrue(dTrain < TOLERANCE, fixture + " trainable: " + dTrain);
                        assertTrue(dServe < TOLERANCE, fixture + " served: " + dServe);
                        float[] base = model.logits(out, input, AdapterHook.NONE).toFloatArray();
                        float[] last = Arrays.copyOfRange(serving, serving.length - base.length / input.length, serving.length);
                        float[] baseLast = Arrays.copyOfRange(base, base.length - last.length, base.length);
                        assertTrue(Fixtures.maxAbsDiff(last, baseLast) > 1e-3, "the prompt changes the output");
                    }
                }
            }
        }
    }

    /**
     * Rows with and without the prompt, of different lengths, in one left-padded decoder batch (and
     * one right-padded encoder batch below): each row's output is its own solo output.
     */
    @Test
    void mixedRowsInOneDecoderBatchEqualEachAlone(@TempDir Path dir) throws Exception {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"));
                TrainableLora p = PromptPart.trainable(model, tok, 5, null, "CAUSAL_LM", "tiny-llama", 11, null)) {
            p.save(dir);
            try (LoraAdapter prompt = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    LoraAdapter lora = LoraAdapter.load(Fixtures.hf("tiny-llama").resolve("adapter0"), model.config().family(), model.linears(),
                            model.paramShapes(), Device.cpu());
                    NDManager out = cpu()) {
                long[][] rows = {PromptPart.prepend(tok.encode("the cat"), 5), tok.encode("the software is provided as is"),
                        tok.encode("transfer learning"), PromptPart.prepend(tok.encode("permission is hereby granted"), 5)};
                List<LoraAdapter> adapters = Arrays.asList(prompt, lora, null, prompt);
                NDArray batch;
                try (io.loragate.model.KvCache cache = model.newCache(rows.length)) {
                    batch = model.forward(out, rows, cache, MultiLoraHook.perForward(adapters), false); // (4, vocab)
                }
                float[] all = batch.toFloatArray();
                int vocab = all.length / rows.length;
                for (int i = 0; i < rows.length; i++) {
                    AdapterHook solo = adapters.get(i) == null ? AdapterHook.NONE : MultiLoraHook.single(adapters.get(i));
                    float[] alone = model.logits(out, rows[i], solo).toFloatArray();
                    float[] lastAlone = Arrays.copyOfRange(alone, alone.length - vocab, alone.length);
                    double d = Fixtures.maxAbsDiff(lastAlone, Arrays.copyOfRange(all, i * vocab, (i + 1) * vocab));
                    assertTrue(d < TOLERANCE, "row " + i + " differs from its solo run by " + d);
                }
            }
        }
    }

    @Test
    void encoderPromptOfRealTokenEmbeddingsEqualsPrependingThoseTokens(@TempDir Path dir) {
        try (EncoderModel model = (EncoderModel) BaseModel.load(Fixtures.hf("tiny-bert-cls"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-bert-cls"))) {
            String initText = "permission is hereby granted";
            long[] t = tok.encode(initText);
            int k = t.length;
            List<long[]> inputs = List.of(tok.encode("the software is provided as is"), tok.encode("the cat"));
            try (TrainableLora prompt = PromptPart.trainable(model, tok, k, initText, "SEQ_CLS", "tiny-bert-cls", 3, null)) {
                prompt.save(dir);
            }
            try (LoraAdapter served = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu());
                    NDManager out = cpu()) {
                List<long[]> prepended = inputs.stream().map(ids -> concat(t, ids)).toList();
                List<long[]> virtual = PromptPart.prepend(inputs, k);
                float[] reference = model.hidden(out, prepended, AdapterHook.NONE).toFloatArray();
                float[] serving = model.hidden(out, virtual, MultiLoraHook.single(served)).toFloatArray();
                double dHidden = Fixtures.maxAbsDiff(reference, serving);
                float[][] refLogits = model.classify(prepended, AdapterHook.NONE);
                float[][] logits = model.classify(virtual, MultiLoraHook.single(served));
                double dLogits = 0;
                for (int i = 0; i < logits.length; i++) {
                    dLogits = Math.max(dLogits, Fixtures.maxAbsDiff(refLogits[i], logits[i]));
                }
                System.out.printf("tiny-bert-cls: prompt of %d real-token embeddings vs those tokens prepended: max abs diff"
                        + " %.2e (hidden states), %.2e (classifier logits)%n", k, dHidden, dLogits);
                assertTrue(dHidden < TOLERANCE, "hidden: " + dHidden);
                assertTrue(dLogits < TOLERANCE, "logits: " + dLogits);

                // a right-padded batch mixing the prompt row with a base row: each as alone
                List<long[]> mixed = List.of(virtual.get(0), inputs.get(1));
                float[][] both = model.classify(mixed, MultiLoraHook.perForward(Arrays.asList(served, null)));
                float[][] alone0 = model.classify(List.of(virtual.get(0)), MultiLoraHook.single(served));
                float[][] alone1 = model.classify(List.of(inputs.get(1)), AdapterHook.NONE);
                assertTrue(Fixtures.maxAbsDiff(both[0], alone0[0]) < TOLERANCE);
                assertTrue(Fixtures.maxAbsDiff(both[1], alone1[0]) < TOLERANCE);
            }
        }
    }

    @Test
    void theFolderIsPeftsPromptTuningFormat(@TempDir Path dir) throws Exception {
        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            try (TrainableLora p = PromptPart.trainable(model, tok, 6, null, "SEQ_CLS", "tiny-llama", 5,
                    new TrainableLora.HeadSpec(LoraAdapter.SEQUENCE_HEAD, 64, List.of("a", "b"), false, null, null))) {
                assertEquals(Set.of("prompt_embeddings", "score.modules_to_save.default.weight"), p.parameters().keySet());
                p.save(dir);
            }
            JsonNode cfg = new ObjectMapper().readTree(Files.readString(dir.resolve(PeftConfig.FILE_NAME)));
            assertEquals("PROMPT_TUNING", cfg.get("peft_type").asText());
            assertEquals(6, cfg.get("num_virtual_tokens").asInt());
            assertEquals(64, cfg.get("token_dim").asInt());
            assertEquals(1, cfg.get("num_transformer_submodules").asInt());
            assertEquals("SEQ_CLS", cfg.get("task_type").asText());
            assertEquals("[\"score\"]", cfg.get("modules_to_save").toString());
            assertTrue(!cfg.has("r") && !cfg.has("target_modules") && !cfg.has("lora_alpha"), "no LoRA keys: " + cfg);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(LoraAdapter.WEIGHTS_FILE))) {
                assertEquals(Set.of("prompt_embeddings", "base_model.score.weight"), f.tensors().keySet());
                assertEquals(List.of(6L, 64L), Arrays.stream(f.tensors().get("prompt_embeddings").shape()).boxed().toList());
            }
            try (LoraAdapter a = LoraAdapter.load(dir, model.config().family(), model.linears(), model.paramShapes(), Device.cpu())) {
                assertEquals(6, a.virtualTokens());
                assertEquals(2, a.sequenceHeadLabels());
                assertEquals(List.of("a", "b"), a.labels(2));
                assertEquals(0, a.rank());
                Path copy = dir.resolveSibling("copy");
                a.save(copy);
                try (SafetensorsFile f = SafetensorsFile.open(copy.resolve(LoraAdapter.WEIGHTS_FILE))) {
                    assertEquals(Set.of("prompt_embeddings", "base_model.score.weight"), f.tensors().keySet());
                }
            }
        }
    }

    @Test
    void configsAndFilesThatDoNotFitAreRefused(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("c.json");
        PeftConfig ok = PeftConfig.parse(f, "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"CAUSAL_LM\","
                + " \"num_virtual_tokens\": 20, \"token_dim\": 64, \"num_transformer_submodules\": 1,"
                + " \"num_attention_heads\": 4, \"num_layers\": 2, \"prompt_tuning_init\": \"TEXT\","
                + " \"prompt_tuning_init_text\": \"Classify:\", \"tokenizer_name_or_path\": \"x\", \"inference_mode\": true,"
                + " \"revision\": null, \"tokenizer_kwargs\": null, \"base_model_name_or_path\": \"x\", \"modules_to_save\": null}");
        assertTrue(ok.isPromptTuning());
        assertEquals(20, ok.numVirtualTokens());
        assertEquals(64, ok.tokenDim());
        assertEquals(ok, PeftConfig.parse(f, ok.toJson().toString()), "written back and read again: the same config");
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(f, "{\"peft_type\": \"PROMPT_TUNING\"}"));
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(f,
                "{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 0}"));
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(f,
                "{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 513}"));
        assertThrows(ModelFormatException.class, () -> PeftConfig.parse(f,
                "{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 4, \"prompt_tuning_init\": \"ZEROS\"}"));
        LoragateException seq2seq = assertThrows(LoragateException.class, () -> PeftConfig.parse(f,
                "{\"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 4, \"num_transformer_submodules\": 2}"));
        assertEquals(LoragateException.Kind.UNIMPLEMENTED, seq2seq.kind());

        try (CausalModel model = (CausalModel) BaseModel.load(Fixtures.hf("tiny-llama"), Device.cpu());
                TextTokenizer tok = TextTokenizer.load(Fixtures.hf("tiny-llama"))) {
            Path good = dir.resolve("good");
            try (TrainableLora p = PromptPart.trainable(model, tok, 4, null, "CAUSAL_LM", "tiny-llama", 5, null)) {
                p.save(good);
            }
            // num_virtual_tokens that the weights do not have
            Path wrongK = copyWithConfig(good, dir.resolve("k"), s -> s.replace("\"num_virtual_tokens\" : 4", "\"num_virtual_tokens\" : 5"));
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> LoraAdapter.load(wrongK, model.config().family(), model.linears(), model.paramShapes(), Device.cpu()));
            assertTrue(e.getMessage().contains("num_virtual_tokens=5"), e.getMessage());
            // a base of another hidden size
            try (BaseModel bert = BaseModel.load(Fixtures.hf("tiny-gpt2"), Device.cpu())) {
                if (bert.config().hiddenSize() != 64) {
                    assertThrows(ModelFormatException.class,
                            () -> LoraAdapter.load(good, bert.config().family(), bert.linears(), bert.paramShapes(), Device.cpu()));
                }
            }
            // a LoRA key in a prompt-tuning file, or a file without the prompt
            new LoraWriter(PeftConfig.read(good.resolve(PeftConfig.FILE_NAME))).write(dir.resolve("empty"));
            assertThrows(ModelFormatException.class,
                    () -> LoraAdapter.load(dir.resolve("empty"), model.config().family(), model.linears(), model.paramShapes(), Device.cpu()));
        }
    }

    private static Path copyWithConfig(Path from, Path to, java.util.function.UnaryOperator<String> edit) throws Exception {
        Files.createDirectories(to);
        Files.copy(from.resolve(LoraAdapter.WEIGHTS_FILE), to.resolve(LoraAdapter.WEIGHTS_FILE));
        String cfg = Files.readString(from.resolve(PeftConfig.FILE_NAME));
        String edited = edit.apply(cfg);
        if (edited.equals(cfg)) {
            throw new AssertionError("the edit changed nothing in " + cfg);
        }
        Files.writeString(to.resolve(PeftConfig.FILE_NAME), edited);
        return to;
    }
}
