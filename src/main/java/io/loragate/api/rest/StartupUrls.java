package io.loragate.api.rest;

import io.quarkus.vertx.http.HttpServerStart;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.ObservesAsync;
import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.jboss.logging.Logger;

/**
 * One INFO line once the HTTP server listens, with the URLs a person opens first: the API, the
 * console, the OpenAPI document, Swagger UI and gRPC (on the same port unless a separate gRPC
 * server is configured).
 */
@ApplicationScoped
public class StartupUrls {

    private static final Logger LOG = Logger.getLogger(StartupUrls.class);

    void started(@ObservesAsync HttpServerStart event) {
        Config config = ConfigProvider.getConfig();
        int port = event.options().getPort();
        if (port <= 0) { // a random port (tests): the one the server bound, once Quarkus has registered it
            port = config.getOptionalValue("quarkus.http.test-port", Integer.class).filter(p -> p > 0)
                    .or(() -> config.getOptionalValue("quarkus.http.port", Integer.class)).orElse(port);
        }
        String base = "http://" + displayHost(event.options().getHost()) + ":" + port;
        boolean separateGrpc = config.getOptionalValue("quarkus.grpc.server.use-separate-server", Boolean.class).orElse(true);
        String grpc = separateGrpc
                ? displayHost(config.getOptionalValue("quarkus.grpc.server.host", String.class).orElse("0.0.0.0")) + ":"
                        + config.getOptionalValue("quarkus.grpc.server.port", Integer.class).orElse(9000)
                : displayHost(event.options().getHost()) + ":" + port + " (same port, h2c)";
        LOG.info(line(base, grpc));
    }

    /** The line itself. */
    static String line(String base, String grpc) {
        return "loragate listening: API " + base + "/v1, console " + base + "/console, OpenAPI " + base + "/q/openapi,"
                + " Swagger UI " + base + "/q/swagger-ui, gRPC " + grpc;
    }

    /** A wildcard address is reachable as localhost on this machine. */
    static String displayHost(String host) {
        if (host == null || host.isEmpty() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
            return "localhost";
        }
        return host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    }
}
