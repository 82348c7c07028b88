package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate files ...}: training datasets ({@code /v1/files}) and their preflight reports. */
@Command(name = "files", description = "Upload, list, show and delete datasets (JSON Lines).",
        subcommands = {FilesCommand.Upload.class, FilesCommand.ListFiles.class, FilesCommand.Show.class, FilesCommand.Delete.class})
class FilesCommand {

    /** Bad lines shown under a report (the report holds the first 1000). */
    static final int BAD_LINES_SHOWN = 20;

    @Command(name = "upload", description = "Upload a JSON Lines dataset; prints its validation report and bad lines.")
    static class Upload extends ApiCommand {
        @Parameters(paramLabel = "FILE")
        Path file;

        @Option(names = "--purpose", defaultValue = "fine-tune", description = "file purpose (default: ${DEFAULT-VALUE})")
        String purpose;

        @Override
        public Integer call() {
            JsonNode f = upload(this, file, purpose);
            if (!printedJson(f)) {
                printFile(printer(), f);
            }
            return ExitCodes.OK;
        }
    }

    /** Uploads {@code file} with a progress bar; answers the file object. */
    static JsonNode upload(ApiCommand c, Path file, String purpose) {
        if (!Files.isRegularFile(file)) {
            throw CliException.usage(file + ": no such file");
        }
        Multipart body = new Multipart().field("purpose", purpose).file("file", file);
        Transfer t = new Transfer(c.printer().progress(c.err()), file.getFileName().toString(), body.length());
        try {
            return c.api().upload("/v1/files", body.onProgress(t::sent));
        } finally {
            t.close();
        }
    }

    @Command(name = "list", description = "Your datasets, newest first.")
    static class ListFiles extends ApiCommand {
        @Override
        public Integer call() {
            JsonNode r = api().get("/v1/files");
            if (printedJson(r)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode f : r.path("data")) {
                JsonNode rep = f.path("report");
                rows.add(Printer.row(f.path("id").asText(), f.path("filename").asText(), ProgressBar.bytes(f.path("bytes").asDouble()),
                        Printer.text(rep.path("format")), Printer.text(rep.path("examples")), Printer.text(rep.path("error_count")),
                        f.path("status").asText(), Printer.time(f.path("created_at"))));
            }
            printer().table(List.of("ID", "FILENAME", "SIZE", "FORMAT", "EXAMPLES", "BAD LINES", "STATUS", "CREATED (UTC)"), rows);
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "One dataset with its report.")
    static class Show extends ApiCommand {
        @Parameters(paramLabel = "FILE_ID")
        String id;

        @Option(names = "--max-length", description = "recount truncation at this many tokens")
        Integer maxLength;

        @Override
        public Integer call() {
            JsonNode f = api().get("/v1/files/" + enc(id) + (maxLength == null ? "" : "?max_length=" + maxLength));
            if (!printedJson(f)) {
                printFile(printer(), f);
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", description = "Delete a dataset.")
    static class Delete extends ApiCommand {
        @Parameters(paramLabel = "FILE_ID")
        String id;

        @Override
        public Integer call() {
            JsonNode r = api().delete("/v1/files/" + enc(id));
            if (!printedJson(r)) {
                printer().line("deleted " + id);
            }
            return ExitCodes.OK;
        }
    }

    /** The file object as a report table, then its bad lines. */
    static void printFile(Printer p, JsonNode f) {
        p.line(f.path("id").asText() + "  " + f.path("filename").asText() + "  " + ProgressBar.bytes(f.path("bytes").asDouble())
                + "  " + f.path("status").asText());
        JsonNode r = f.path("report");
        if (!r.isObject()) {
            return;
        }
        JsonNode t = r.path("tokens");
        List<List<String>> rows = new ArrayList<>();
        rows.add(Printer.row("format", Printer.text(r.path("format"))));
        rows.add(Printer.row("examples", Printer.text(r.path("examples"))));
        rows.add(Printer.row("tokens per example", "min " + Printer.text(t.path("min")) + ", mean " + Printer.text(t.path("mean"))
                + ", p50 " + Printer.text(t.path("p50")) + ", p95 " + Printer.text(t.path("p95")) + ", max " + Printer.text(t.path("max"))));
        rows.add(Printer.row("tokens in all", Printer.text(t.path("total"))));
        rows.add(Printer.row("longer than " + Printer.text(r.path("max_length")), Printer.text(r.path("truncated"))));
        rows.add(Printer.row("duplicates", Printer.text(r.path("duplicates"))));
        if (r.path("label_counts").isObject() && r.path("label_counts").size() > 0) {
            StringBuilder labels = new StringBuilder();
            for (Map.Entry<String, JsonNode> e : r.path("label_counts").properties()) {
                labels.append(labels.length() == 0 ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue().asText());
            }
            rows.add(Printer.row("labels", labels));
        }
        rows.add(Printer.row("bad lines", Printer.text(r.path("error_count"))));
        p.table(List.of("REPORT", ""), rows);
        JsonNode errors = r.path("errors");
        if (errors.size() > 0) {
            p.line("");
            List<List<String>> bad = new ArrayList<>();
            for (int i = 0; i < errors.size() && i < BAD_LINES_SHOWN; i++) {
                bad.add(Printer.row(errors.get(i).path("line").asText(), errors.get(i).path("reason").asText()));
            }
            p.table(List.of("LINE", "REASON"), bad);
            long more = r.path("error_count").asLong(errors.size()) - bad.size();
            if (more > 0) {
                p.line("... and " + more + " more bad lines (-o json lists the first 1000)");
            }
        }
    }
}
