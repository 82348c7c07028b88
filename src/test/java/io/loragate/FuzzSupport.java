package io.loragate;

import static org.junit.jupiter.api.Assertions.fail;

import io.loragate.common.LoragateException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The deterministic mutation loop shared by the fuzzers: case {@code i} draws everything from its
 * own {@link SplittableRandom} seeded with {@code seed + i}, so a failing case is reproduced alone
 * with {@code -Dloragate.fuzz.seed=S -Dloragate.fuzz.from=i -Dloragate.fuzz.cases=1}. Every case
 * runs on a worker thread under a time budget (a hang fails the test instead of stalling the
 * build); an {@link Error} (an OutOfMemoryError included) or an exception outside the accepted
 * types fails it with the case's number and what it mutated.
 *
 * <p>System properties: {@code loragate.fuzz.cases} (default 10000 per fuzzer),
 * {@code loragate.fuzz.seed} (default 20240917), {@code loragate.fuzz.from} (first case, default 0),
 * {@code loragate.fuzz.case-timeout-ms} (default 10000).
 */
public final class FuzzSupport {

    public static final int CASES = Integer.getInteger("loragate.fuzz.cases", 10_000);
    public static final long SEED = Long.getLong("loragate.fuzz.seed", 20240917L);
    public static final int FROM = Integer.getInteger("loragate.fuzz.from", 0);
    public static final long CASE_TIMEOUT_MS = Long.getLong("loragate.fuzz.case-timeout-ms", 10_000L);
    private static final int MAX_LISTED = 10;

    /** One case: mutate with {@code rnd}, run, check; describe what was done in {@code log}. */
    public interface Case {
        void run(SplittableRandom rnd, StringBuilder log) throws Exception;
    }

    /** What one loop did. */
    public record Stats(int cases, long millis) {
    }

    private FuzzSupport() {
    }

    /**
     * Runs {@link #CASES} cases; a case passes when it returns or throws a {@link LoragateException}
     * (its subclasses included) with a message. Anything else fails the test, listing the first failing cases.
     */
    public static Stats loop(String name, Case body) {
        ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-" + name);
            t.setDaemon(true);
            return t;
        });
        List<String> failures = new ArrayList<>();
        int failed = 0;
        long start = System.nanoTime();
        try {
            for (int i = FROM; i < FROM + CASES; i++) {
                long caseSeed = SEED + i;
                StringBuilder log = new StringBuilder();
                Future<?> f = worker.submit(() -> {
                    body.run(new SplittableRandom(caseSeed), log);
                    return null;
                });
                String problem = null;
                try {
                    f.get(CASE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    problem = "no answer within " + CASE_TIMEOUT_MS + " ms (a hang)";
                    // the worker may be stuck for good: later cases get a fresh one
                    worker.shutdownNow();
                    worker = Executors.newSingleThreadExecutor();
                } catch (ExecutionException e) {
                    problem = check(e.getCause());
                }
                if (problem != null) {
                    failed++;
                    if (failures.size() < MAX_LISTED) {
                        failures.add("case " + i + " (seed " + caseSeed + "): " + problem + "\n    after: " + log);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        } finally {
            worker.shutdownNow();
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        System.out.printf("fuzz %s: %d cases in %d ms, %d failed (seed %d, from %d)%n", name, CASES, millis, failed, SEED, FROM);
        if (failed > 0) {
            fail(failed + " of " + CASES + " " + name + " fuzz cases failed; first ones:\n" + String.join("\n", failures));
        }
        return new Stats(CASES, millis);
    }

    /** Null when {@code t} is a clean refusal, else what is wrong with it. */
    private static String check(Throwable t) {
        if (t instanceof LoragateException e) {
            return e.getMessage() == null || e.getMessage().isBlank() ? "LoragateException without a message" : null;
        }
        if (t instanceof AssertionError a) {
            return "check failed: " + a.getMessage();
        }
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        String trace = w.toString();
        String[] lines = trace.split("\n");
        StringBuilder head = new StringBuilder();
        for (int i = 0; i < Math.min(lines.length, 8); i++) {
            head.append(i == 0 ? "" : "\n      ").append(lines[i].strip());
        }
        return "unexpected " + head;
    }

    // ---------------------------------------------------------------------------------------------
    // Generators shared by the fuzzers

    /** Edge-case numbers as JSON text: huge, negative, fractional, exponents, overflowing longs. */
    public static final String[] NUMBERS = {"0", "-0", "1", "-1", "2", "7", "1.5", "-1.5", "1e3", "1e308", "1e999", "-1e999",
        "2147483647", "2147483648", "-2147483648", "4294967296", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "-9223372036854775809", "18446744073709551616", "1" + "0".repeat(60), "0.000001",
        "1E-400", "123456789012345678901234567890.5", "4611686018427387904", "NaN", "Infinity", "-Infinity", "00", "0x10",
        "1" + "9".repeat(99), "1" + "9".repeat(150)};

    /** Strings that mean trouble somewhere: traversal, look-alikes, controls, lone surrogates, long ones. */
    public static final String[] STRINGS = {"", " ", "a", "../", "..", "%2e%2e", "/etc/passwd", "C:\\x", "\u0000", "\u001f",
        "\u2024\u2024", "\uff0e\uff0e", "\u0430dmin", "\ud800", "\udfff", "\ud83d\ude00", "\u202e", "\ufeff", "q_proj",
        "v_proj", "lora", "LORA", "default", "\\u0000", "${jndi:x}", "(a+)+$", "[", "*", ".*", "x".repeat(300)};

    /** A random JSON text: scalars, strings, arrays and objects, up to {@code depth} levels. */
    public static String randomJson(SplittableRandom r, int depth) {
        StringBuilder b = new StringBuilder();
        randomJson(r, depth, b);
        return b.toString();
    }

    private static void randomJson(SplittableRandom r, int depth, StringBuilder b) {
        int k = r.nextInt(depth <= 0 ? 5 : 7);
        switch (k) {
            case 0 -> b.append("null");
            case 1 -> b.append(r.nextBoolean());
            case 2 -> b.append(NUMBERS[r.nextInt(NUMBERS.length)]);
            case 3, 4 -> quote(STRINGS[r.nextInt(STRINGS.length)], b);
            case 5 -> {
                b.append('[');
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    b.append(i > 0 ? "," : "");
                    randomJson(r, depth - 1, b);
                }
                b.append(']');
            }
            default -> {
                b.append('{');
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    b.append(i > 0 ? "," : "");
                    quote(STRINGS[r.nextInt(STRINGS.length)], b);
                    b.append(':');
                    randomJson(r, depth - 1, b);
                }
                b.append('}');
            }
        }
    }

    /** Appends {@code s} as a JSON string (controls and surrogates escaped). */
    public static void quote(String s, StringBuilder b) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || Character.isSurrogate(c)) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        b.append('"');
    }

    /** Nesting {@code n} deep: {@code [[[...]]]} or {@code {"a":{"a":...}}}. */
    public static String deep(SplittableRandom r, int n) {
        boolean arrays = r.nextBoolean();
        StringBuilder b = new StringBuilder(n * 6);
        for (int i = 0; i < n; i++) {
            b.append(arrays ? "[" : "{\"a\":");
        }
        b.append('1');
        for (int i = 0; i < n; i++) {
            b.append(arrays ? ']' : '}');
        }
        return b.toString();
    }

    /** Flips 1 to 8 random bits of {@code bytes} within {@code [from, to)}. */
    public static void flipBits(SplittableRandom r, byte[] bytes, int from, int to, StringBuilder log) {
        if (to <= from) {
            return;
        }
        int n = 1 + r.nextInt(8);
        for (int i = 0; i < n; i++) {
            int at = from + r.nextInt(to - from);
            int bit = r.nextInt(8);
            bytes[at] ^= (byte) (1 << bit);
            log.append(" flip@").append(at).append('.').append(bit);
        }
    }
}
