package io.loragate.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate jobs ...}: fine-tuning jobs ({@code /v1/fine_tuning/jobs}). */
@Command(name = "jobs", description = "Create, watch, list and cancel fine-tuning jobs.",
        subcommands = {JobsCommand.Create.class, JobsCommand.Watch.class, JobsCommand.Show.class, JobsCommand.ListJobs.class,
                JobsCommand.Events.class, JobsCommand.Cancel.class})
class JobsCommand {

    @Command(name = "create", description = "Create a fine-tuning job; --watch follows it to its end.")
    static class Create extends ApiCommand {
        @Option(names = {"-f", "--training-file"}, required = true, paramLabel = "FILE",
                description = "a file id (file-...) or a local JSON Lines file, uploaded first")
        String trainingFile;

        @Option(names = "--validation-file", paramLabel = "FILE", description = "a file id or a local file (default: a split of the training file)")
        String validationFile;

        @Option(names = {"-s", "--suffix"}, required = true, description = "the adapter name the job publishes a version of")
        String suffix;

        @Option(names = {"-m", "--model"}, description = "the base model (default: the server's base)")
        String model;

        @Option(names = {"-t", "--type"}, description = "supervised or classification (default: classification for a classification dataset)")
        String type;

        @Option(names = "--method", description = "lora (default), rslora, dora, ia3, bottleneck, prompt_tuning, linear_probe, partial")
        String method;

        @Option(names = "--epochs")
        Integer epochs;

        @Option(names = "--batch-size")
        Integer batchSize;

        @Option(names = "--learning-rate")
        Double learningRate;

        @Option(names = "--validation-split")
        Double validationSplit;

        @Option(names = {"-r", "--rank"}, description = "LoRA rank r")
        Integer rank;

        @Option(names = "--alpha")
        Double alpha;

        @Option(names = "--target-modules", split = ",", paramLabel = "MODULE")
        List<String> targetModules;

        @Option(names = "--seed")
        Long seed;

        @Option(names = "--activate", description = "make the published version active at once")
        boolean activate;

        @Option(names = "--min-eval-accuracy", description = "publish only at this held-out accuracy or better")
        Double minEvalAccuracy;

        @Option(names = "--max-eval-loss-ratio", description = "publish only when adapter loss / base loss is at most this")
        Double maxEvalLossRatio;

        @Option(names = "--set", paramLabel = "PATH=VALUE",
                description = "any field of the request, e.g. method.hyperparameters.warmup_steps=2 or diagnostics.layers=[5]"
                        + " (VALUE is JSON, else a string)")
        List<String> sets = new ArrayList<>();

        @Option(names = "--watch", description = "follow the job with a progress bar to its end (exit 1 unless it succeeds)")
        boolean watch;

        @Option(names = "--interval", defaultValue = "1", description = "seconds between polls when watching (default: ${DEFAULT-VALUE})")
        double interval;

        @Override
        public Integer call() {
            ObjectNode body = Api.JSON.createObjectNode();
            JsonNode trainingReport = null;
            String training = trainingFile;
            if (isLocal(trainingFile)) {
                JsonNode f = uploadTrainingFile();
                training = f.path("id").asText();
                trainingReport = f.path("report");
            }
            body.put("model", model != null ? model : ModelsCommand.baseModel(api()));
            body.put("training_file", training);
            if (validationFile != null) {
                body.put("validation_file", isLocal(validationFile)
                        ? FilesCommand.upload(this, Path.of(validationFile), "fine-tune").path("id").asText() : validationFile);
            }
            body.put("suffix", suffix);
            if (seed != null) {
                body.put("seed", seed);
            }
            if (activate) {
                body.put("activate", true);
            }
            ObjectNode m = body.putObject("method");
            String t = jobType(training, trainingReport);
            m.put("type", t);
            putHyperparameters(m.putObject("hyperparameters"));
            putAdapter(m.putObject("adapter"));
            if (minEvalAccuracy != null || maxEvalLossRatio != null) {
                ObjectNode g = body.putObject("publish_if");
                putIf(g, "min_eval_accuracy", minEvalAccuracy);
                putIf(g, "max_eval_loss_ratio", maxEvalLossRatio);
            }
            for (String s : sets) { // last, so that --set overrides the options above
                set(body, s);
            }
            JsonNode job = api().post("/v1/fine_tuning/jobs", body);
            return watch ? follow(job) : reportCreated(job, t, training);
        }

        /** Uploads the local training file and says what it holds; answers the upload's response. */
        private JsonNode uploadTrainingFile() {
            JsonNode f = FilesCommand.upload(this, Path.of(trainingFile), "fine-tune");
            String training = f.path("id").asText();
            JsonNode trainingReport = f.path("report");
            if (!printer().json()) {
                printer().line("uploaded " + trainingFile + " as " + training + " (" + Printer.text(trainingReport.path("examples"))
                        + " " + Printer.text(trainingReport.path("format")) + " examples, " + Printer.text(trainingReport.path("error_count"))
                        + " bad lines)");
            }
            return f;
        }

        /**
         * {@code --type}, else what the training file's format implies (its report, fetched when the
         * file was not uploaded here).
         */
        private String jobType(String training, JsonNode trainingReport) {
            if (type != null) {
                return type;
            }
            if (trainingReport == null) {
                trainingReport = api().get("/v1/files/" + enc(training)).path("report");
            }
            return "classification".equals(trainingReport.path("format").asText(null)) ? "classification" : "supervised";
        }

        private void putHyperparameters(ObjectNode h) {
            putIf(h, "epochs", epochs);
            putIf(h, "batch_size", batchSize);
            putIf(h, "learning_rate", learningRate);
            putIf(h, "validation_split", validationSplit);
        }

        private void putAdapter(ObjectNode a) {
            if (method != null) {
                a.put("method", method);
            }
            putIf(a, "r", rank);
            putIf(a, "alpha", alpha);
            if (targetModules != null) {
                targetModules.forEach(a.putArray("target_modules")::add);
            }
        }

        /** Without --watch: says what was created and how to follow it. */
        private Integer reportCreated(JsonNode job, String t, String training) {
            if (!printedJson(job)) {
                printer().line("created " + job.path("id").asText() + " (" + job.path("status").asText() + "): "
                        + t + " on " + training + " -> " + suffix);
                printer().line("follow it with: loragate jobs watch " + job.path("id").asText());
            }
            return ExitCodes.OK;
        }

        /** With --watch: follows the job to its end; the exit code says how it ended. */
        private Integer follow(JsonNode job) {
            if (!printer().json()) {
                printer().line("created " + job.path("id").asText());
            }
            return new JobWatcher(api(), printer(), err(), interval).watch(job.path("id").asText());
        }

        private static boolean isLocal(String f) {
            return !f.startsWith("file-") || Files.exists(Path.of(f));
        }

        private static void putIf(ObjectNode o, String field, Number v) {
            if (v instanceof Integer i) {
                o.put(field, i);
            } else if (v instanceof Double d) {
                o.put(field, d);
            }
        }

        /** {@code a.b.c=VALUE}: sets the field, creating the objects on the way. */
        static void set(ObjectNode body, String assignment) {
            int eq = assignment.indexOf('=');
            if (eq <= 0) {
                throw CliException.usage("--set takes PATH=VALUE, got '" + assignment + "'");
            }
            String[] path = assignment.substring(0, eq).split("\\.");
            String raw = assignment.substring(eq + 1);
            JsonNode value;
            try {
                value = Api.JSON.readTree(raw);
                if (value == null || value.isMissingNode()) {
                    value = Api.JSON.getNodeFactory().textNode(raw);
                }
            } catch (JsonProcessingException e) {
                value = Api.JSON.getNodeFactory().textNode(raw);
            }
            ObjectNode o = body;
            for (int i = 0; i < path.length - 1; i++) {
                JsonNode next = o.get(path[i]);
                o = next instanceof ObjectNode on ? on : o.putObject(path[i]);
            }
            o.set(path[path.length - 1], value);
        }
    }

    @Command(name = "watch", description = "Follow a job: progress bar (step / total, loss, evaluation, ETA), then its report.")
    static class Watch extends ApiCommand {
        @Parameters(paramLabel = "JOB_ID")
        String id;

        @Option(names = "--interval", defaultValue = "1", description = "seconds between polls (default: ${DEFAULT-VALUE})")
        double interval;

        @Override
        public Integer call() {
            return new JobWatcher(api(), printer(), err(), interval).watch(id);
        }
    }

    @Command(name = "show", description = "One job: status, progress, report.")
    static class Show extends ApiCommand {
        @Parameters(paramLabel = "JOB_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode job = api().get("/v1/fine_tuning/jobs/" + enc(id));
            if (!printedJson(job)) {
                JobWatcher.printSummary(printer(), job);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "list", description = "Your jobs, newest first.")
    static class ListJobs extends ApiCommand {
        @Option(names = "--limit", defaultValue = "20")
        int limit;

        @Option(names = "--after", paramLabel = "JOB_ID", description = "the page after this job")
        String after;

        @Override
        public Integer call() {
            JsonNode r = api().get("/v1/fine_tuning/jobs?limit=" + limit + (after == null ? "" : "&after=" + enc(after)));
            if (printedJson(r)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode j : r.path("data")) {
                JsonNode p = j.path("progress");
                rows.add(Printer.row(j.path("id").asText(), j.path("status").asText(), j.path("method").path("type").asText(),
                        j.path("suffix").asText(), p.path("step").asText() + "/" + p.path("total_steps").asText(),
                        Printer.text(j.path("fine_tuned_model")), Printer.time(j.path("created_at"))));
            }
            printer().table(List.of("ID", "STATUS", "TYPE", "SUFFIX", "STEPS", "PUBLISHED", "CREATED (UTC)"), rows);
            if (r.path("has_more").asBoolean()) {
                String last = r.path("data").get(r.path("data").size() - 1).path("id").asText();
                printer().line("more: loragate jobs list --after " + last);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "events", description = "A job's events, newest first.")
    static class Events extends ApiCommand {
        @Parameters(paramLabel = "JOB_ID")
        String id;

        @Option(names = "--limit", defaultValue = "20")
        int limit;

        @Option(names = "--after", paramLabel = "EVENT_ID", description = "the page after (older than) this event")
        String after;

        @Override
        public Integer call() {
            JsonNode r = api().get("/v1/fine_tuning/jobs/" + enc(id) + "/events?limit=" + limit + (after == null ? "" : "&after=" + enc(after)));
            if (printedJson(r)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode e : r.path("data")) {
                rows.add(Printer.row(Printer.time(e.path("created_at")), e.path("level").asText(), e.path("type").asText(),
                        e.path("message").asText()));
            }
            printer().table(List.of("TIME (UTC)", "LEVEL", "TYPE", "MESSAGE"), rows);
            if (r.path("has_more").asBoolean()) {
                String last = r.path("data").get(r.path("data").size() - 1).path("id").asText();
                printer().line("older: loragate jobs events " + id + " --after " + last);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "cancel", description = "Cancel a job: it stops at its next step and publishes nothing.")
    static class Cancel extends ApiCommand {
        @Parameters(paramLabel = "JOB_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode job = api().post("/v1/fine_tuning/jobs/" + enc(id) + "/cancel", null);
            if (!printedJson(job)) {
                printer().line(job.path("id").asText() + ": " + job.path("status").asText());
            }
            return ExitCodes.OK;
        }
    }
}
