package io.loragate.api.rest;

import io.vertx.ext.web.Router;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The web console's HTTP headers. Its files are plain static resources
 * ({@code META-INF/resources/console/}); this route runs ahead of Quarkus's static handler and adds
 * a Content-Security-Policy that allows scripts, styles and requests from this origin only and no
 * inline script or style, so a string the page shows (an adapter name, a dataset line, an error)
 * could never run even if a rendering bug let it into the markup. {@code /console} redirects to
 * {@code /console/} so that the page's relative asset paths resolve.
 */
@ApplicationScoped
public class ConsoleRoutes {

    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    void install(@Observes Router router) {
        router.get("/console").order(-5).handler(ctx -> {
            if (ctx.request().path().equals("/console")) { // Vert.x also routes "/console/" here
                ctx.response().setStatusCode(302).putHeader("Location", "/console/").end();
            } else {
                ctx.next();
            }
        });
        router.route("/console/*").order(-5).handler(ctx -> {
            ctx.response().putHeader("Content-Security-Policy", CSP)
                    .putHeader("X-Content-Type-Options", "nosniff")
                    .putHeader("X-Frame-Options", "DENY")
                    .putHeader("Referrer-Policy", "no-referrer")
                    .putHeader("Cache-Control", "no-cache");
            ctx.next();
        });
    }
}
