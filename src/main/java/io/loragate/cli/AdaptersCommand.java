package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate adapters ...}: the adapter registry ({@code /v1/adapters}). */
@Command(name = "adapters", description = "List, register, activate, pin and delete adapters.",
        subcommands = {AdaptersCommand.ListAdapters.class, AdaptersCommand.Show.class, AdaptersCommand.Register.class,
                AdaptersCommand.Activate.class, AdaptersCommand.Pin.class, AdaptersCommand.Unpin.class, AdaptersCommand.Delete.class})
class AdaptersCommand {

    @Command(name = "list", description = "Your adapters with their active version.")
    static class ListAdapters extends ApiCommand {
        @Override
        public Integer call() {
            JsonNode r = api().get("/v1/adapters");
            if (printedJson(r)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode a : r.path("data")) {
                rows.add(Printer.row(a.path("name").asText(), a.path("active_id").asText(), a.path("versions").size(),
                        a.path("pinned").asBoolean() ? "yes" : "no"));
            }
            printer().table(List.of("NAME", "ACTIVE", "VERSIONS", "PINNED"), rows);
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "One adapter and its versions (state, pinned, loaded).")
    static class Show extends ApiCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        public Integer call() {
            JsonNode a = api().get("/v1/adapters/" + enc(name));
            if (printedJson(a)) {
                return ExitCodes.OK;
            }
            printer().line(a.path("name").asText() + ": active version " + a.path("active_version").asText()
                    + (a.path("pinned").asBoolean() ? ", pinned (follows the active version)" : ""));
            printVersions(printer(), a.path("versions"));
            return ExitCodes.OK;
        }
    }

    @Command(name = "register", description = "Register a PEFT folder (adapter_config.json + adapter_model.safetensors) as a new version.")
    static class Register extends ApiCommand {
        @Parameters(paramLabel = "DIR", description = "the adapter folder")
        Path dir;

        @Option(names = {"-n", "--name"}, description = "adapter name (default: the folder's name)")
        String name;

        @Override
        public Integer call() {
            Path config = dir.resolve("adapter_config.json");
            Path weights = dir.resolve("adapter_model.safetensors");
            for (Path p : List.of(config, weights)) {
                if (!Files.isRegularFile(p)) {
                    throw CliException.usage(p + " not found: a PEFT folder holds adapter_config.json and adapter_model.safetensors");
                }
            }
            String n = name != null ? name : dir.toAbsolutePath().normalize().getFileName().toString();
            Multipart body = new Multipart().field("name", n).file("config", config).file("weights", weights);
            Transfer t = new Transfer(printer().progress(err()), n, body.length());
            JsonNode v;
            try {
                v = api().upload("/v1/adapters", body.onProgress(t::sent));
            } finally {
                t.close();
            }
            if (printedJson(v)) {
                return ExitCodes.OK;
            }
            printer().line("registered " + v.path("id").asText() + " (" + v.path("peft_type").asText() + ", rank "
                    + v.path("rank").asText() + ", " + ProgressBar.bytes(v.path("bytes").asDouble()) + ")"
                    + (v.path("active").asBoolean() ? ", active" : "; active version: " + v.path("active_version").asText()));
            return ExitCodes.OK;
        }
    }

    @Command(name = "activate", description = "Make VERSION the one the bare NAME serves (hot swap).")
    static class Activate extends ApiCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "VERSION")
        int version;

        @Override
        public Integer call() {
            ObjectNode body = Api.JSON.createObjectNode().put("version", version);
            JsonNode v = api().put("/v1/adapters/" + enc(name) + "/active", body);
            if (!printedJson(v)) {
                printer().line(name + " now serves " + v.path("id").asText());
            }
            return ExitCodes.OK;
        }
    }

    /** {@code pin} and {@code unpin}: the same request to {@code /pin} or {@code /unpin}. */
    abstract static class PinToggle extends ApiCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--version", description = "this version instead of the alias (which follows the active version)")
        Integer version;

        /** {@code pin} or {@code unpin}. */
        abstract String action();

        /** The line printed for the answer {@code v}. */
        abstract String done(JsonNode v);

        @Override
        public Integer call() {
            JsonNode v = api().post("/v1/adapters/" + enc(name) + "/" + action() + (version == null ? "" : "?version=" + version), null);
            if (!printedJson(v)) {
                printer().line(done(v));
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "pin", description = "Keep NAME's active version (or --version) resident: never evicted.")
    static class Pin extends PinToggle {
        @Override
        String action() {
            return "pin";
        }

        @Override
        String done(JsonNode v) {
            return "pinned " + (version == null ? name + " (now " + v.path("id").asText() + ")" : v.path("id").asText());
        }
    }

    @Command(name = "unpin", description = "Let NAME's active version (or --version) be evicted again.")
    static class Unpin extends PinToggle {
        @Override
        String action() {
            return "unpin";
        }

        @Override
        String done(JsonNode v) {
            return "unpinned " + (version == null ? name : v.path("id").asText());
        }
    }

    @Command(name = "delete", description = "Delete one version (NAME@VERSION), or with --all every version of NAME.")
    static class Delete extends ApiCommand {
        @Parameters(paramLabel = "NAME[@VERSION]")
        String id;

        @Option(names = "--all", description = "delete every version of NAME (the adapter itself)")
        boolean all;

        @Override
        public Integer call() {
            List<String> ids = new ArrayList<>();
            if (id.contains("@")) {
                if (all) {
                    throw CliException.usage("--all deletes every version of a name: give NAME, not " + id);
                }
                ids.add(id);
            } else {
                if (!all) {
                    throw CliException.usage("'" + id + "' names no version: delete " + id + "@VERSION, or pass --all to delete every version");
                }
                JsonNode a = api().get("/v1/adapters/" + enc(id));
                int active = a.path("active_version").asInt();
                for (JsonNode v : a.path("versions")) {
                    if (v.path("version").asInt() != active) {
                        ids.add(v.path("id").asText()); // the active version goes last: the server refuses it while others exist
                    }
                }
                ids.add(id + "@" + active);
            }
            com.fasterxml.jackson.databind.node.ArrayNode answers = Api.JSON.createArrayNode();
            for (String one : ids) {
                answers.add(api().delete("/v1/adapters/" + enc(one)));
                if (!printer().json()) {
                    printer().line("deleted " + one);
                }
            }
            if (printer().json()) {
                printer().printJson(answers.size() == 1 ? answers.get(0) : answers);
            }
            return ExitCodes.OK;
        }
    }

    static void printVersions(Printer p, JsonNode versions) {
        List<List<String>> rows = new ArrayList<>();
        for (JsonNode v : versions) {
            rows.add(Printer.row(v.path("id").asText(), v.path("active").asBoolean() ? "*" : "", v.path("state").asText(),
                    v.path("pinned").asBoolean() ? "yes" : "no", v.path("loaded").asBoolean() ? "yes" : "no",
                    v.path("peft_type").asText(), v.path("rank").asText(), ProgressBar.bytes(v.path("bytes").asDouble()),
                    Printer.time(v.path("created_at"))));
        }
        p.table(List.of("VERSION", "ACTIVE", "STATE", "PINNED", "LOADED", "TYPE", "RANK", "SIZE", "CREATED (UTC)"), rows);
    }
}
