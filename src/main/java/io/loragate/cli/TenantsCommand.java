package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code loragate tenants ...}: the admin API ({@code /v1/admin/tenants}); needs the admin key. */
@Command(name = "tenants", description = "Create, list, show and delete tenants (admin key: --api-key or $LORAGATE_ADMIN_KEY).",
        subcommands = {TenantsCommand.ListTenants.class, TenantsCommand.Create.class, TenantsCommand.Show.class, TenantsCommand.Delete.class})
class TenantsCommand {

    abstract static class AdminCommand extends ApiCommand {
        @Override
        boolean admin() {
            return true;
        }
    }

    @Command(name = "list", description = "Every tenant.")
    static class ListTenants extends AdminCommand {
        @Override
        public Integer call() {
            JsonNode r = api().get("/v1/admin/tenants");
            if (printedJson(r)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (JsonNode t : r.path("data")) {
                rows.add(Printer.row(t.path("id").asText(), t.path("key_id").asText(), overrides(t.path("quota_overrides")),
                        Printer.time(t.path("created_at"))));
            }
            printer().table(List.of("ID", "KEY ID", "QUOTA OVERRIDES", "CREATED (UTC)"), rows);
            return ExitCodes.OK;
        }
    }

    @Command(name = "create", description = "Create a tenant; prints its API key (shown this once).")
    static class Create extends AdminCommand {
        @Parameters(paramLabel = "ID")
        String id;

        @Option(names = "--quota", paramLabel = "NAME=VALUE",
                description = "a quota override, e.g. requests_per_second=20 (repeatable)")
        Map<String, String> quotas;

        @Override
        public Integer call() {
            ObjectNode body = Api.JSON.createObjectNode().put("id", id);
            if (quotas != null) {
                ObjectNode q = body.putObject("quotas");
                for (Map.Entry<String, String> e : quotas.entrySet()) {
                    try {
                        q.put(e.getKey(), new java.math.BigDecimal(e.getValue()));
                    } catch (NumberFormatException x) {
                        throw CliException.usage("--quota " + e.getKey() + " must be a number, got '" + e.getValue() + "'");
                    }
                }
            }
            JsonNode t = api().post("/v1/admin/tenants", body);
            if (!printedJson(t)) {
                printer().line("created tenant " + t.path("id").asText());
                printer().line("api key (shown this once): " + t.path("api_key").asText());
            }
            return ExitCodes.OK;
        }
    }

    @Command(name = "show", description = "A tenant's effective quotas and usage.")
    static class Show extends AdminCommand {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            JsonNode t = api().get("/v1/admin/tenants/" + enc(id));
            if (printedJson(t)) {
                return ExitCodes.OK;
            }
            List<List<String>> rows = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : t.path("quotas").properties()) {
                rows.add(Printer.row(e.getKey(), Printer.text(e.getValue())));
            }
            for (Map.Entry<String, JsonNode> e : t.path("usage").properties()) {
                rows.add(Printer.row("usage: " + e.getKey(), Printer.text(e.getValue())));
            }
            printer().line(t.path("id").asText() + " (key " + t.path("key_id").asText() + ")");
            printer().table(List.of("QUOTA", "VALUE (0 = unlimited)"), rows);
            return ExitCodes.OK;
        }
    }

    @Command(name = "delete", description = "Delete a tenant (refused while it stores adapters or files or runs jobs).")
    static class Delete extends AdminCommand {
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() {
            JsonNode r = api().delete("/v1/admin/tenants/" + enc(id));
            if (!printedJson(r)) {
                printer().line("deleted tenant " + id);
            }
            return ExitCodes.OK;
        }
    }

    private static String overrides(JsonNode o) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, JsonNode> e : o.properties()) {
            if (!e.getValue().isNull()) {
                b.append(b.length() == 0 ? "" : " ").append(e.getKey()).append('=').append(e.getValue().asText());
            }
        }
        return b.length() == 0 ? "-" : b.toString();
    }
}
