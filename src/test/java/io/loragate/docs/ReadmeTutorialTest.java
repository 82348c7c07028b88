package io.loragate.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the README's tutorial as written, so the docs cannot drift: every {@code ```bash} block of
 * README.md but the set-up commands, in order, in one bash session (variables carry over from block
 * to block, as in a reader's terminal), from the repository root, against this test's gateway (the
 * embedded MiniLM on a fresh data directory; {@code localhost:8080} becomes the test port). Every
 * command must succeed ({@code set -euo pipefail}), and every {@code #> text} line of a block names
 * text that block's output must contain.
 */
@QuarkusTest
@TestProfile(DocsProfile.class)
class ReadmeTutorialTest {

    /** The README's set-up block, which builds and starts a gateway: not run here, but it must stay as it is. */
    static final String BUILD_AND_START = "mvn -B -ntp package -DskipTests && java -Dai.djl.offline=true -jar target/quarkus-app/quarkus-run.jar";
    static final String TEST_SUITE = "mvn -B -ntp verify";
    static final String EXPECT = "#> ";

    @Inject
    ResidentModel resident;

    @TestHTTPResource("/")
    URL gateway;

    record Block(int line, String code, List<String> expected) {}

    /** The {@code ```bash} blocks of a Markdown file, with the line each starts on and its {@code #>} expectations. */
    static List<Block> bashBlocks(Path markdown) throws IOException {
        List<Block> blocks = new ArrayList<>();
        List<String> lines = Files.readAllLines(markdown, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).strip().equals("```bash")) {
                continue;
            }
            int start = i + 1;
            StringBuilder code = new StringBuilder();
            List<String> expected = new ArrayList<>();
            for (i = start; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
                String line = lines.get(i);
                code.append(line).append('\n');
                if (line.strip().startsWith(EXPECT)) {
                    expected.add(line.strip().substring(EXPECT.length()).strip());
                }
            }
            blocks.add(new Block(start + 1, code.toString(), expected));
        }
        return blocks;
    }

    @Test
    void theReadmeTutorialRunsAsWritten() throws Exception {
        resident.whenLoaded().get(300, TimeUnit.SECONDS);
        Path readme = Path.of("README.md");
        List<Block> blocks = bashBlocks(readme);
        Block setUp = blocks.get(0);
        assertTrue(setUp.code().contains(BUILD_AND_START) && setUp.code().contains(TEST_SUITE),
                "the README's first bash block keeps the two set-up commands:\n" + setUp.code());
        List<Block> tutorial = blocks.subList(1, blocks.size());
        assertTrue(tutorial.size() >= 8, "the tutorial's blocks: " + tutorial.size());

        Path out = Path.of("target", "docs-test");
        if (Files.exists(out)) {
            try (var files = Files.list(out)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
        }
        Files.createDirectories(out);
        String host = "localhost:" + gateway.getPort();
        StringBuilder script = new StringBuilder("set -euo pipefail\n")
                // what the README asks a reader to have, checked first for a clear message
                .append("for tool in curl jq java; do command -v $tool > /dev/null || { echo \"the tutorial needs $tool\" >&2; exit 127; }; done\n");
        for (int b = 0; b < tutorial.size(); b++) {
            Block block = tutorial.get(b);
            Path log = out.resolve("block-" + (b + 1) + ".log");
            // a brace group runs in this shell, so what a block defines stays for the next ones
            script.append("echo 'README.md line ").append(block.line()).append("' > ").append(log).append('\n')
                    .append("{\n").append(block.code().replace("localhost:8080", host)).append("} >> ").append(log)
                    .append(" 2>&1\n");
        }
        script.append("echo 'all blocks ran' > ").append(out.resolve("done")).append('\n');
        Path file = out.resolve("tutorial.sh");
        Files.writeString(file, script);

        long started = System.nanoTime();
        Process bash = new ProcessBuilder("bash", file.toString()).redirectErrorStream(true)
                .redirectOutput(out.resolve("bash.log").toFile()).start();
        if (!bash.waitFor(12, TimeUnit.MINUTES)) {
            bash.descendants().forEach(ProcessHandle::destroyForcibly);
            bash.destroyForcibly();
            fail("the tutorial did not finish within 12 minutes\n" + lastLog(out, tutorial.size()));
        }
        System.out.printf("README tutorial: %d blocks in %.1f s%n", tutorial.size(), (System.nanoTime() - started) / 1e9);
        assertEquals(0, bash.exitValue(), "a tutorial command failed\n" + lastLog(out, tutorial.size())
                + Files.readString(out.resolve("bash.log")));
        assertTrue(Files.exists(out.resolve("done")), "every block ran");
        for (int b = 0; b < tutorial.size(); b++) {
            Block block = tutorial.get(b);
            String log = Files.readString(out.resolve("block-" + (b + 1) + ".log"));
            for (String text : block.expected()) {
                assertTrue(log.contains(text), "README.md line " + block.line() + ": the output lacks '" + text
                        + "'\n--- block\n" + block.code() + "--- output\n" + log);
            }
        }
    }

    /** The output of the last block that started, to say where a run stopped. */
    private static String lastLog(Path out, int blocks) throws IOException {
        for (int b = blocks; b >= 1; b--) {
            Path log = out.resolve("block-" + b + ".log");
            if (Files.exists(log)) {
                return "--- block " + b + " (" + log + ")\n" + Files.readString(log);
            }
        }
        return "";
    }
}
