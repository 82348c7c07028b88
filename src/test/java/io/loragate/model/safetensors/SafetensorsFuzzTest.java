package io.loragate.model.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loragate.Fixtures;
import io.loragate.FuzzSupport;
import io.loragate.common.LoragateException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link SafetensorsFile} with mutations of the fixtures' valid files: bit flips, truncations,
 * header-length edits, structural header edits (dtype, shape, offsets, duplicate keys, metadata),
 * random header JSON and huge numbers. Every case must end in a {@link LoragateException} with a
 * message, or open cleanly with every tensor reading back with its declared shape inside the data
 * section. See {@link FuzzSupport} for the case count and reproduction.
 */
class SafetensorsFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3",
        "f32", "", "U64"};

    private static final java.util.concurrent.atomic.AtomicLong OPENED = new java.util.concurrent.atomic.AtomicLong();
    private static final java.util.concurrent.atomic.AtomicLong COUNTER = new java.util.concurrent.atomic.AtomicLong();

    @TempDir
    static Path tmp;
    static final List<byte[]> SEEDS = new ArrayList<>();
    static NDManager manager;

    @BeforeAll
    static void seeds() throws IOException {
        for (String f : new String[] {"tiny-llama/adapter0", "tiny-qwen2/adapter0", "tiny-gpt2/adapter0", "tiny-bert-cls/adapter0"}) {
            String[] p = f.split("/");
            SEEDS.add(Files.readAllBytes(Fixtures.hf(p[0]).resolve(p[1]).resolve("adapter_model.safetensors")));
        }
        SEEDS.add(tiny());
        manager = NDManager.newBaseManager(Device.cpu(), "PyTorch");
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** A small file with every dtype, a scalar and an empty tensor, and metadata. */
    private static byte[] tiny() throws IOException {
        Path f = tmp.resolve("tiny.safetensors");
        ObjectNode h = JSON.createObjectNode();
        h.putObject("__metadata__").put("format", "pt");
        long off = 0;
        int i = 0;
        long[][] shapes = {{2, 3}, {}, {0, 4}, {3}, {1, 1, 2}};
        for (String dt : new String[] {"F32", "F16", "BF16", "I64", "I32", "I8", "U8", "BOOL", "F64", "I16"}) {
            long[] shape = shapes[i % shapes.length];
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            long len = n * Dtype.parse(dt).bytes();
            ObjectNode t = h.putObject("t" + i++);
            t.put("dtype", dt);
            ArrayNode s = t.putArray("shape");
            for (long d : shape) {
                s.add(d);
            }
            t.putArray("data_offsets").add(off).add(off + len);
            off += len;
        }
        byte[] data = new byte[(int) off];
        new SplittableRandom(1).nextBytes(data);
        byte[] file = assemble(JSON.writeValueAsBytes(h), data);
        Files.write(f, file);
        return file;
    }

    private static byte[] assemble(byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        return b.array();
    }

    @Test
    void fuzzedFilesFailCleanlyOrReadBackInBounds() {
        FuzzSupport.Stats stats = FuzzSupport.loop("safetensors", this::fuzzCase);
        // Both outcomes must be common, or the mutations are too timid (all open) or too wild (none does).
        long opened = OPENED.get();
        System.out.printf("fuzz safetensors: %d of %d cases opened cleanly%n", opened, stats.cases());
        assertTrue(opened > stats.cases() / 20 && opened < stats.cases() * 19L / 20, opened + " of " + stats.cases() + " opened");
    }

    private void fuzzCase(SplittableRandom r, StringBuilder log) throws IOException {
        byte[] seed = SEEDS.get(r.nextInt(SEEDS.size()));
        log.append("seed file ").append(SEEDS.indexOf(seed));
        byte[] bytes = mutate(r, seed, log);
        // A new file per case: rewriting one that an earlier case mapped costs milliseconds (page-cache invalidation).
        Path f = tmp.resolve("case-" + COUNTER.incrementAndGet() + ".safetensors");
        Files.write(f, bytes);
        try {
            check(f, bytes, r);
        } finally {
            Files.deleteIfExists(f);
        }
    }

    private static void check(Path f, byte[] bytes, SplittableRandom r) {
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            long dataLen = bytes.length - 8 - ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            List<TensorInfo> infos = new ArrayList<>(st.tensors().values());
            for (TensorInfo t : infos) {
                assertTrue(t.begin() >= 0 && t.end() >= t.begin() && t.end() <= dataLen, "range of " + t.name());
                assertEquals(t.end() - t.begin(), t.numel() * t.dtype().bytes(), "size of " + t.name());
            }
            infos.sort(java.util.Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            for (int k = 1; k < infos.size(); k++) {
                assertTrue(infos.get(k).begin() >= infos.get(k - 1).end(), "overlapping ranges of " + infos.get(k - 1).name()
                        + " and " + infos.get(k).name());
            }
            OPENED.incrementAndGet();
            // Reading back costs a native allocation each: a few tensors per case, all of them over the cases.
            for (int k = 0; k < Math.min(3, infos.size()); k++) {
                TensorInfo t = infos.get(r.nextInt(infos.size()));
                try (NDArray a = st.read(t.name(), manager)) {
                    assertArrayEquals(t.shape(), a.getShape().getShape(), "shape of " + t.name());
                    assertEquals(t.numel(), a.size(), "size of " + t.name());
                } catch (LoragateException refused) {
                    // an unsupported dtype is a clean refusal
                }
            }
        }
    }

    private static byte[] mutate(SplittableRandom r, byte[] seed, StringBuilder log) throws IOException {
        byte[] b = seed.clone();
        int headerLen = (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        int op = r.nextInt(9);
        switch (op) {
            case 0 -> { // bit flips in the length and header
                log.append(" header bit flips");
                FuzzSupport.flipBits(r, b, 0, 8 + headerLen, log);
            }
            case 1 -> { // bit flips anywhere
                log.append(" bit flips");
                FuzzSupport.flipBits(r, b, 0, b.length, log);
            }
            case 2 -> { // truncation
                int to = r.nextBoolean() ? r.nextInt(Math.min(b.length, 8 + headerLen + 16)) : r.nextInt(b.length);
                log.append(" truncate to ").append(to);
                b = java.util.Arrays.copyOf(b, to);
            }
            case 3 -> { // header length field
                long[] lens = {0, 1, 2, -1, Long.MIN_VALUE, Long.MAX_VALUE, headerLen - 1, headerLen + 1, b.length,
                    SafetensorsFile.MAX_HEADER_BYTES + 1, 1L << 32, r.nextLong()};
                long len = lens[r.nextInt(lens.length)];
                log.append(" header length ").append(len);
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, len);
            }
            case 4, 5, 6 -> b = editHeader(r, b, headerLen, log);
            case 7 -> { // random header JSON, the data kept
                String h = r.nextInt(10) == 0 ? FuzzSupport.deep(r, 100 + r.nextInt(5000)) : FuzzSupport.randomJson(r, 4);
                log.append(" random header ").append(h.length() > 200 ? h.substring(0, 200) + "..." : h);
                b = assemble(h.getBytes(StandardCharsets.UTF_8), java.util.Arrays.copyOfRange(b, 8 + headerLen, b.length));
            }
            default -> { // a number in the header replaced by an edge-case number, textually
                String h = new String(b, 8, headerLen, StandardCharsets.UTF_8);
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+").matcher(h);
                List<int[]> spans = new ArrayList<>();
                while (m.find()) {
                    spans.add(new int[] {m.start(), m.end()});
                }
                if (!spans.isEmpty()) {
                    int[] s = spans.get(r.nextInt(spans.size()));
                    String num = FuzzSupport.NUMBERS[r.nextInt(FuzzSupport.NUMBERS.length)];
                    log.append(" number ").append(h, s[0], s[1]).append(" -> ").append(num);
                    h = h.substring(0, s[0]) + num + h.substring(s[1]);
                }
                b = assemble(h.getBytes(StandardCharsets.UTF_8), java.util.Arrays.copyOfRange(b, 8 + headerLen, b.length));
            }
        }
        return b;
    }

    /** A generated JSON text as a node; what Jackson cannot even read (NaN, 0x10) becomes a string. */
    private static JsonNode node(String json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.getNodeFactory().textNode(json);
        }
    }

    /** Structural edits of one header entry, re-serialized (the data section kept, sometimes resized). */
    private static byte[] editHeader(SplittableRandom r, byte[] b, int headerLen, StringBuilder log) throws IOException {
        ObjectNode h = (ObjectNode) JSON.readTree(new String(b, 8, headerLen, StandardCharsets.UTF_8));
        byte[] data = java.util.Arrays.copyOfRange(b, 8 + headerLen, b.length);
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = h.fieldNames(); it.hasNext(); ) {
            String n = it.next();
            if (!n.equals("__metadata__")) {
                names.add(n);
            }
        }
        String name = names.get(r.nextInt(names.size()));
        ObjectNode t = (ObjectNode) h.get(name);
        int op = r.nextInt(12);
        log.append(" edit ").append(name).append(" op ").append(op);
        String extra = null;
        switch (op) {
            case 0 -> t.put("dtype", DTYPES[r.nextInt(DTYPES.length)]);
            case 1 -> { // one dimension to an edge value
                ArrayNode s = (ArrayNode) t.get("shape");
                long[] v = {-1, 0, 1, Integer.MAX_VALUE, 1L << 31, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 62};
                if (s.isEmpty()) {
                    s.add(v[r.nextInt(v.length)]);
                } else {
                    s.set(r.nextInt(s.size()), JSON.getNodeFactory().numberNode(v[r.nextInt(v.length)]));
                }
            }
            case 2 -> { // many dims, overflowing product
                ArrayNode s = t.putArray("shape");
                int n = 1 + r.nextInt(12);
                for (int i = 0; i < n; i++) {
                    s.add(r.nextBoolean() ? 65536 : 1 + r.nextInt(4));
                }
            }
            case 3 -> { // offsets moved
                ArrayNode o = (ArrayNode) t.get("data_offsets");
                long d = new long[] {-1, 1, 2, 4, -4, 1L << 40, Long.MIN_VALUE / 2, data.length}[r.nextInt(8)];
                int which = r.nextInt(3);
                if (which != 1) {
                    o.set(0, JSON.getNodeFactory().numberNode(o.get(0).asLong() + d));
                }
                if (which != 0) {
                    o.set(1, JSON.getNodeFactory().numberNode(o.get(1).asLong() + d));
                }
            }
            case 4 -> { // overlapping: copy another tensor's offsets
                String other = names.get(r.nextInt(names.size()));
                t.set("data_offsets", h.get(other).get("data_offsets").deepCopy());
                t.set("shape", h.get(other).get("shape").deepCopy());
                t.set("dtype", h.get(other).get("dtype").deepCopy());
            }
            case 5 -> t.set(new String[] {"shape", "dtype", "data_offsets"}[r.nextInt(3)],
                    node(FuzzSupport.randomJson(r, 2)));
            case 6 -> t.remove(new String[] {"shape", "dtype", "data_offsets"}[r.nextInt(3)]);
            case 7 -> h.set("__metadata__", node(FuzzSupport.randomJson(r, 2)));
            case 8 -> h.set(name, node(FuzzSupport.randomJson(r, 2)));
            case 9 -> extra = name; // a duplicate key, added textually below
            case 10 -> data = java.util.Arrays.copyOf(data, Math.max(0, data.length + new int[] {-1, 1, -8, 64}[r.nextInt(4)]));
            default -> { // the float form of a number: 4 -> 4.0
                ArrayNode s = (ArrayNode) t.get("shape");
                if (!s.isEmpty()) {
                    int i = r.nextInt(s.size());
                    s.set(i, JSON.getNodeFactory().numberNode(s.get(i).asDouble() + (r.nextBoolean() ? 0.0 : 0.5)));
                }
            }
        }
        String text = JSON.writeValueAsString(h);
        if (extra != null) {
            StringBuilder q = new StringBuilder();
            FuzzSupport.quote(extra, q);
            text = "{" + q + ":" + JSON.writeValueAsString(t) + "," + text.substring(1);
        }
        return assemble(text.getBytes(StandardCharsets.UTF_8), data);
    }
}
