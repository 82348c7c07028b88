package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Runs the CLI in-process, as the launcher would, capturing stdout, stderr, the exit code and stdout's flushes. */
record CliRun(int code, String out, String err, List<String> flushes) {

    static final ObjectMapper JSON = new ObjectMapper();

    static CliRun run(Map<String, String> env, boolean terminal, String... args) {
        return runWithInput(env, terminal, "", args);
    }

    /** Runs with {@code stdin} as standard input. */
    static CliRun runWithInput(Map<String, String> env, boolean terminal, String stdin, String... args) {
        Recording out = new Recording();
        StringWriter err = new StringWriter();
        int code = LoragateCli.commandLine(new LoragateCli(env, terminal, new java.io.StringReader(stdin))).setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true)).execute(args);
        return new CliRun(code, out.text.toString(), err.toString(), out.flushes);
    }

    /** stdout parsed as one JSON document. */
    JsonNode json() {
        try {
            return JSON.readTree(out);
        } catch (Exception e) {
            throw new AssertionError("stdout is not JSON: " + e.getMessage() + "\n" + this, e);
        }
    }

    @Override
    public String toString() {
        return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }

    /** A writer that remembers what had been written at each flush (to see tokens arrive one by one). */
    static final class Recording extends Writer {
        final StringBuilder text = new StringBuilder();
        final List<String> flushes = new ArrayList<>();

        @Override
        public void write(char[] buf, int off, int len) {
            text.append(buf, off, len);
        }

        @Override
        public void flush() {
            if (flushes.isEmpty() || !flushes.get(flushes.size() - 1).contentEquals(text)) {
                flushes.add(text.toString());
            }
        }

        @Override
        public void close() {
        }
    }
}
