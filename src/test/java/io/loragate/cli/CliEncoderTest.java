package io.loragate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against the test gateway on the embedded MiniLM (an encoder): the README tutorial's flow
 * (upload, train a classifier with --watch, classify, a second version, activate, pin, delete),
 * jobs, embeddings, recommendations, -o json, and the server's errors as exit codes with its message.
 */
@QuarkusTest
class CliEncoderTest {

    static final String TOPICS = "src/test/resources/datasets/topics.jsonl";
    static final String RUN = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);

    @Inject
    ResidentModel resident;

    @TestHTTPResource("/")
    URL root;

    @TempDir
    Path tmp;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    CliRun cli(String... args) {
        List<String> all = new ArrayList<>(List.of("--url", root.toString()));
        all.addAll(List.of(args));
        return CliRun.run(Map.of(), false, all.toArray(String[]::new));
    }

    CliRun ok(String... args) {
        CliRun r = cli(args);
        assertEquals(0, r.code(), String.join(" ", args) + "\n" + r);
        assertFalse(r.out().contains("\r") || r.err().contains("\r"), "no terminal redraws when piped:\n" + r);
        return r;
    }

    @Test
    void theTutorialFlowThroughTheCli() throws Exception {
        String name = "cli-topics-" + RUN;
        // upload: plain progress lines (not a terminal), then the report table
        CliRun up = ok("files", "upload", TOPICS);
        assertTrue(up.out().contains("uploading topics.jsonl [") && up.out().contains("100%"), up.toString());
        assertTrue(up.out().contains("validating topics.jsonl"), up.toString());
        assertTrue(up.out().matches("(?s).*format\\s+classification.*"), up.toString());
        assertTrue(up.out().matches("(?s).*examples\\s+60\\n.*"), up.toString());
        assertTrue(up.out().matches("(?s).*labels\\s+food 20, sports 20, tech 20.*"), up.toString());
        String file = ok("files", "upload", TOPICS, "-o", "json").json().path("id").asText();
        assertTrue(file.startsWith("file-"), file);
        assertTrue(ok("files", "list").out().contains(file));
        assertTrue(ok("files", "show", file).out().contains("bad lines"));

        // train, watched to the end: the steps, the evaluation report, the published id last
        CliRun job = ok("jobs", "create", "-f", file, "-s", name, "--epochs", "6", "--batch-size", "8", "--learning-rate", "0.003",
                "--validation-split", "0.25", "--seed", "11", "-r", "8", "--set", "method.hyperparameters.warmup_steps=2",
                "--activate", "--watch", "--interval", "0.2");
        String out = job.out();
        Files.writeString(Path.of("target", "cli-jobs-create-watch.txt"), out); // what a user sees (piped), for the docs
        assertTrue(out.matches("(?s).*step 1/\\d+  loss .*"), job.toString());
        assertTrue(out.contains("eval loss") && out.contains("eval acc"), job.toString());
        assertTrue(out.contains("evaluation on 15 validation examples"), job.toString());
        assertTrue(out.matches("(?s).*\\nadapter\\s+\\d.*"), job.toString());
        assertTrue(out.contains("bag-of-words"), job.toString());
        String[] lines = out.strip().split("\n");
        assertEquals("published " + name + "@1 (active: '" + name + "' serves it)", lines[lines.length - 1], job.toString());
        String firstJob = out.substring(out.indexOf("created ") + 8).split("\\s")[0];

        // classify with the adapter
        CliRun cls = ok("classify", "-m", name, "The striker scored twice in the derby.", "Simmer the tomato sauce for an hour.",
                "The new laptop ships with a faster chip.");
        List<String> labels = new ArrayList<>();
        for (String l : cls.out().split("\n")) {
            if (l.matches("(sports|food|tech)\\s+[01]\\.\\d+\\s+.*")) {
                labels.add(l.split("\\s+")[0]);
            }
        }
        assertEquals(List.of("sports", "food", "tech"), labels, cls.toString());
        assertTrue(cls.out().contains("(" + name + "@1)"), cls.toString());

        // a second version (a linear probe), not active until activated
        CliRun second = ok("jobs", "create", "-f", file, "-s", name, "--method", "linear_probe", "--epochs", "2",
                "--validation-split", "0.25", "--watch", "--interval", "0.2");
        assertTrue(second.out().strip().endsWith("published " + name + "@2"), second.toString());
        assertTrue(ok("adapters", "list").out().matches("(?s).*" + name + "\\s+" + name + "@1\\s+2\\s+no.*"));
        assertTrue(ok("adapters", "activate", name, "2").out().contains(name + " now serves " + name + "@2"));
        assertTrue(ok("adapters", "pin", name).out().contains("pinned " + name));
        CliRun show = ok("adapters", "show", name);
        assertTrue(show.out().contains("active version 2, pinned"), show.toString());
        assertTrue(show.out().matches("(?s).*" + name + "@2\\s+\\*\\s+ready\\s+yes.*"), show.toString());
        assertTrue(ok("adapters", "unpin", name).out().contains("unpinned " + name));
        assertFalse(ok("adapters", "show", name, "-o", "json").json().path("pinned").asBoolean());
        CliRun models = ok("models");
        assertTrue(models.out().matches("(?s).*all-minilm-l6-v2\\s+base.*"), models.toString());
        assertTrue(models.out().matches("(?s).*" + name + "\\s+adapter\\s+all-minilm-l6-v2\\s+2.*"), models.toString());

        // jobs list / events, also as JSON
        assertTrue(ok("jobs", "list").out().contains(firstJob));
        JsonNode jobs = ok("jobs", "list", "-o", "json").json();
        assertEquals("list", jobs.path("object").asText());
        CliRun events = ok("jobs", "events", firstJob, "--limit", "5");
        assertTrue(events.out().contains("Published adapter " + name + "@1"), events.toString());
        assertEquals(5, ok("jobs", "events", firstJob, "--limit", "5", "-o", "json").json().path("data").size());
        assertTrue(ok("jobs", "show", firstJob).out().contains("published " + name + "@1"));

        // recommendations for the same file
        CliRun rec = ok("recommend", file, "--top-k", "3");
        assertTrue(rec.out().contains("dataset: 60 classification examples (tiny)"), rec.toString());
        assertTrue(rec.out().matches("(?s).*\\n1\\s+\\w+.*\\n2\\s+.*\\n3\\s+.*"), rec.toString());

        // delete: one version, then the rest with --all; then the name is gone (the server's 404 message, exit 3)
        assertTrue(ok("adapters", "delete", name + "@1").out().contains("deleted " + name + "@1"));
        assertTrue(ok("adapters", "delete", name, "--all").out().contains("deleted " + name + "@2"));
        CliRun gone = cli("adapters", "show", name);
        assertEquals(ExitCodes.CLIENT_ERROR, gone.code(), gone.toString());
        assertTrue(gone.err().startsWith("error: ") && gone.err().contains(name) && gone.err().contains("(HTTP 404)"), gone.toString());
    }

    @Test
    void aCancelledJobEndsTheWatchWithExitCode1() {
        String file = ok("files", "upload", TOPICS, "-o", "json").json().path("id").asText();
        JsonNode job = ok("jobs", "create", "-f", file, "-s", "cli-cancel-" + RUN, "--epochs", "50", "-o", "json").json();
        String id = job.path("id").asText();
        assertEquals("fine_tuning.job", job.path("object").asText());
        ok("jobs", "cancel", id);
        CliRun watch = cli("jobs", "watch", id, "--interval", "0.2");
        assertEquals(ExitCodes.FAILED, watch.code(), watch.toString());
        assertTrue(watch.out().contains(id + ": cancelled"), watch.toString());
        assertEquals("cancelled", cli("jobs", "watch", id, "-o", "json", "--interval", "0.2").json().path("status").asText());
    }

    @Test
    void embeddingsAndABadDatasetsReport() throws Exception {
        CliRun emb = ok("embed", "-m", "all-minilm-l6-v2", "hello world", "goodbye");
        assertTrue(emb.out().matches("(?s).*\\n0\\s+384\\s+\\[.*hello world.*"), emb.toString());
        assertEquals(384, ok("embed", "-m", "all-minilm-l6-v2", "hi", "-o", "json").json().path("data").path(0).path("embedding").size());

        Path bad = tmp.resolve("mixed.jsonl");
        Files.writeString(bad, "{\"text\": \"a goal\", \"label\": \"sports\"}\n{\"text\": \"pasta\", \"label\": \"food\"}\nnot json\n"
                + "{\"text\": \"no label\"}\n");
        CliRun r = ok("files", "upload", bad.toString());
        assertTrue(r.out().matches("(?s).*bad lines\\s+2.*"), r.toString());
        assertTrue(r.out().matches("(?s).*LINE\\s+REASON\\n3\\s+invalid JSON.*"), r.toString());
    }

    @Test
    void serverErrorsAreTheirMessageAndExitCode3() {
        // an encoder base cannot generate: the server's 400, as one line
        CliRun gen = cli("complete", "-m", "all-minilm-l6-v2", "hello");
        assertEquals(ExitCodes.CLIENT_ERROR, gen.code(), gen.toString());
        assertTrue(gen.err().startsWith("error: ") && gen.err().contains("(HTTP 400)"), gen.toString());
        assertFalse(gen.err().contains("Exception") || gen.err().contains("\tat "), gen.toString());
        // a strict job request: the server names the field and the nearest valid one
        String file = ok("files", "upload", TOPICS, "-o", "json").json().path("id").asText();
        CliRun lr = cli("jobs", "create", "-f", file, "-s", "x", "--set", "method.hyperparameters.lr=0.01");
        assertEquals(ExitCodes.CLIENT_ERROR, lr.code(), lr.toString());
        assertTrue(lr.err().contains("learning_rate"), lr.toString());
        CliRun unknown = cli("classify", "-m", "no-such-adapter-" + RUN, "hello");
        assertEquals(ExitCodes.CLIENT_ERROR, unknown.code(), unknown.toString());
        assertTrue(unknown.err().contains("no-such-adapter-" + RUN) && unknown.err().contains("(HTTP 404)"), unknown.toString());
        CliRun noFile = cli("files", "show", "file-doesnotexist", "-o", "json");
        assertEquals(ExitCodes.CLIENT_ERROR, noFile.code(), noFile.toString());
        assertEquals("", noFile.out(), "nothing on stdout for scripts");
    }
}
