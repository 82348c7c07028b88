package io.loragate.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code loragate}: the command-line client of the gateway's REST API. A plain HTTP client: it
 * starts no Quarkus and imports nothing of the server (ArchitectureTest), so it runs from the same
 * jars as the server without touching its data.
 */
@Command(name = "loragate", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, version = "loragate CLI 0.1.0",
        description = "Command-line client of a loragate gateway (REST API).",
        subcommands = {ModelsCommand.class, AdaptersCommand.class, FilesCommand.class, JobsCommand.class, CompleteCommand.class,
                ChatCommand.class, ClassifyCommand.class, EmbedCommand.class, RecommendCommand.class, TenantsCommand.class,
                CommandLine.HelpCommand.class},
        footer = {"", "Environment: LORAGATE_URL, LORAGATE_API_KEY (LORAGATE_ADMIN_KEY for tenants).",
                "Exit codes: 0 ok, 1 a watched job did not succeed, 2 usage error,",
                "  3 server refused (HTTP 4xx), 4 server failed (HTTP 5xx), 5 server unreachable."})
public class LoragateCli implements Runnable {

    static final String DEFAULT_URL = "http://localhost:8080";

    @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "the gateway (default: $LORAGATE_URL, else " + DEFAULT_URL + ")")
    String url;

    @Option(names = "--api-key", scope = ScopeType.INHERIT, paramLabel = "KEY",
            description = "API key sent as a Bearer token (default: $LORAGATE_API_KEY)")
    String apiKey;

    @Option(names = {"-o", "--output"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
            description = "table (default) or json: the server's JSON, for scripts")
    Format output = Format.table;

    /** Output formats ({@code -o}). */
    enum Format { table, json }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final Map<String, String> env;
    /** Whether stdout is a terminal (progress bars); tests set it. */
    private final boolean terminal;
    /** Standard input ({@code chat -i}); tests give their own. */
    private final BufferedReader stdin;

    public LoragateCli() {
        this(System.getenv(), System.console() != null, new InputStreamReader(System.in, StandardCharsets.UTF_8));
    }

    /** For tests: the environment and whether stdout counts as a terminal. */
    public LoragateCli(Map<String, String> env, boolean terminal) {
        this(env, terminal, new StringReader(""));
    }

    /** For tests: also what standard input holds. */
    public LoragateCli(Map<String, String> env, boolean terminal, Reader stdin) {
        this.env = env;
        this.terminal = terminal;
        this.stdin = new BufferedReader(stdin);
    }

    BufferedReader stdin() {
        return stdin;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command (see loragate --help)");
    }

    public static void main(String[] args) {
        System.exit(commandLine(new LoragateCli()).execute(args));
    }

    /** The command line with the CLI's error handling: one message, the exit code of its class, no stack trace. */
    public static CommandLine commandLine(LoragateCli cli) {
        CommandLine cl = new CommandLine(cli).setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            PrintWriter err = line.getErr();
            if (e instanceof CliException c) {
                err.println("error: " + c.getMessage());
                err.flush();
                return c.exitCode();
            }
            if (e instanceof CommandLine.ParameterException p) {
                throw p; // picocli prints it with the usage: exit code 2
            }
            err.println("error: " + e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            err.flush();
            return ExitCodes.FAILED;
        });
        return cl;
    }

    // --- what the commands share

    String resolvedUrl() {
        String u = url != null ? url : env.getOrDefault("LORAGATE_URL", "");
        return u.isBlank() ? DEFAULT_URL : u.strip();
    }

    String resolvedKey(boolean admin) {
        if (apiKey != null) {
            return apiKey;
        }
        String k = admin ? env.get("LORAGATE_ADMIN_KEY") : null;
        return k != null && !k.isBlank() ? k : env.get("LORAGATE_API_KEY");
    }

    boolean json() {
        return output == Format.json;
    }

    boolean terminal() {
        return terminal;
    }
}
