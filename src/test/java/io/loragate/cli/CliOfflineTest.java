package io.loragate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the CLI does without a gateway: usage errors, an unreachable server, the progress rendering. */
class CliOfflineTest {

    /** A local port nobody listens on (bound, then closed). */
    static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void anUnreachableServerIsOneLineNamingTheUrlWithItsOwnExitCode() throws Exception {
        String url = "http://127.0.0.1:" + closedPort();
        CliRun r = CliRun.run(Map.of(), false, "--url", url, "models");
        assertEquals(ExitCodes.UNREACHABLE, r.code(), r.toString());
        assertEquals("error: cannot reach " + url + ": connection refused", r.err().strip(), r.toString());
        assertEquals("", r.out());
        // the same from the environment, and with a subcommand's option after it
        CliRun env = CliRun.run(Map.of("LORAGATE_URL", url), false, "adapters", "list", "-o", "json");
        assertEquals(ExitCodes.UNREACHABLE, env.code(), env.toString());
        assertTrue(env.err().contains("cannot reach " + url), env.toString());
        assertFalse(env.err().contains("Exception") || env.err().contains("\tat "), "no stack trace: " + env);
    }

    @Test
    void usageErrorsExitWith2AndSayWhatIsWrong() throws Exception {
        String url = "http://127.0.0.1:" + closedPort();
        CliRun unknown = CliRun.run(Map.of(), false, "--url", url, "adapters", "frobnicate");
        assertEquals(ExitCodes.USAGE, unknown.code(), unknown.toString());
        assertTrue(unknown.err().contains("frobnicate"), unknown.toString());
        CliRun noVersion = CliRun.run(Map.of(), false, "--url", url, "adapters", "delete", "support");
        assertEquals(ExitCodes.USAGE, noVersion.code(), noVersion.toString());
        assertTrue(noVersion.err().contains("support@VERSION") && noVersion.err().contains("--all"), noVersion.toString());
        CliRun missingFile = CliRun.run(Map.of(), false, "--url", url, "files", "upload", "no/such/file.jsonl");
        assertEquals(ExitCodes.USAGE, missingFile.code(), missingFile.toString());
        assertTrue(missingFile.err().contains("no such file"), missingFile.toString());
        CliRun badOutput = CliRun.run(Map.of(), false, "--url", url, "-o", "yaml", "models");
        assertEquals(ExitCodes.USAGE, badOutput.code(), badOutput.toString());
        CliRun noCommand = CliRun.run(Map.of(), false);
        assertEquals(ExitCodes.USAGE, noCommand.code(), noCommand.toString());
        CliRun missingOption = CliRun.run(Map.of(), false, "--url", url, "complete", "hello");
        assertEquals(ExitCodes.USAGE, missingOption.code(), missingOption.toString());
        assertTrue(missingOption.err().contains("--model"), missingOption.toString());
        CliRun noMessage = CliRun.run(Map.of(), false, "--url", url, "chat", "-m", "tiny-llama");
        assertEquals(ExitCodes.USAGE, noMessage.code(), noMessage.toString());
        assertTrue(noMessage.err().contains("-i"), noMessage.toString());
    }

    @Test
    void theHelpListsEveryCommand() {
        CliRun r = CliRun.run(Map.of(), false, "--help");
        assertEquals(0, r.code(), r.toString());
        for (String c : new String[] {"models", "adapters", "files", "jobs", "complete", "chat", "classify", "embed", "recommend",
                "tenants", "LORAGATE_URL", "Exit codes"}) {
            assertTrue(r.out().contains(c), c + " in\n" + r.out());
        }
        CliRun sub = CliRun.run(Map.of(), false, "jobs", "create", "--help");
        assertEquals(0, sub.code(), sub.toString());
        assertTrue(sub.out().contains("--watch") && sub.out().contains("--training-file"), sub.toString());
    }

    @Test
    void progressIsRedrawnOnATerminalAndPlainLinesWhenPiped() {
        assertEquals("[############------------]  50%", ProgressBar.bar(5, 10));
        assertEquals("[------------------------]   0%", ProgressBar.bar(3, 0));
        assertEquals("1.5 KiB", ProgressBar.bytes(1536));
        assertEquals("2m05s", ProgressBar.duration(125));

        StringWriter piped = new StringWriter();
        Transfer p = new Transfer(new ProgressBar(new PrintWriter(piped), false), "data.jsonl", 1000);
        for (long n = 100; n <= 1000; n += 100) {
            p.sent(n);
        }
        String[] lines = piped.toString().split("\n");
        assertFalse(piped.toString().contains("\r"), "no control characters in a pipe");
        assertEquals(5, lines.length, piped.toString()); // 25 %, 50 %, 75 %, 100 %, validating
        assertTrue(lines[3].contains("100%") && lines[3].contains("1000 B / 1000 B") && lines[3].contains("/s"), lines[3]);
        assertTrue(lines[4].startsWith("validating data.jsonl"), lines[4]);

        StringWriter tty = new StringWriter();
        Transfer t = new Transfer(new ProgressBar(new PrintWriter(tty), true), "data.jsonl", 1000);
        t.sent(10);
        t.sent(1000);
        assertTrue(tty.toString().startsWith("\ruploading data.jsonl [---"), tty.toString());
        assertTrue(tty.toString().contains("\ruploading data.jsonl [########################] 100%"), tty.toString());
    }

    @Test
    void theJobBarShowsStepsLossEvaluationAndEta() throws Exception {
        var job = CliRun.JSON.readTree("{\"status\":\"running\",\"progress\":{\"step\":12,\"total_steps\":36}}");
        var metrics = CliRun.JSON.readTree("{\"step\":12,\"total_steps\":36,\"train_loss\":0.42131,\"eta_seconds\":75.2}");
        var eval = CliRun.JSON.readTree("{\"step\":9,\"eval_loss\":0.31,\"eval_accuracy\":0.9333}");
        String text = JobWatcher.barText(job, metrics, eval);
        assertEquals("running [########----------------]  33% 12/36 steps  loss 0.4213  eval loss 0.31 acc 0.933  ETA 1m15s", text);
        assertEquals(7, JobWatcher.seq("ftevent-3f0c9a-7"));
    }
}
