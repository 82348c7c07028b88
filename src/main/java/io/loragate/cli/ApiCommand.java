package io.loragate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** Base of every command: the API client and the printer, built from the root's options. */
abstract class ApiCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private Api api;
    private Printer printer;

    LoragateCli root() {
        return (LoragateCli) spec.root().userObject();
    }

    /** Whether this command uses the admin key ({@code LORAGATE_ADMIN_KEY} before {@code LORAGATE_API_KEY}). */
    boolean admin() {
        return false;
    }

    Api api() {
        if (api == null) {
            api = new Api(root().resolvedUrl(), root().resolvedKey(admin()));
        }
        return api;
    }

    Printer printer() {
        if (printer == null) {
            printer = new Printer(spec.commandLine().getOut(), root().json(), root().terminal());
        }
        return printer;
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Prints the server's JSON with {@code -o json}; answers whether it did (the caller prints a table otherwise). */
    boolean printedJson(JsonNode n) {
        if (printer().json()) {
            printer().printJson(n);
            return true;
        }
        return false;
    }

    static String enc(String pathSegment) {
        return URLEncoder.encode(pathSegment, StandardCharsets.UTF_8).replace("+", "%20");
    }
}
