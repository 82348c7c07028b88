package io.loragate.api.rest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.loragate.config.LoragateConfig;
import io.loragate.common.LoragateException;
import io.loragate.common.LoragateException.Kind;
import io.loragate.service.TenantLimits;
import io.loragate.service.TenantService;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.AsyncFile;
import io.vertx.core.file.OpenOptions;
import io.vertx.core.http.HttpServerFileUpload;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * Multipart uploads ({@code POST /v1/adapters}, {@code POST /v1/files}) read without a worker
 * thread: RESTEasy Reactive parses multipart bodies on worker threads that block while the client
 * sends, so a few hundred slow uploads used to take every worker (and with them every tenant's
 * requests and the health probes). This Vert.x route runs ahead of RESTEasy and:
 * <ol>
 * <li>authenticates the key and takes the request quota (as {@link AuthFilter}) before any byte is read;
 * <li>refuses a tenant's upload beyond {@code loragate.uploads.max-concurrent-per-tenant} with 429 and
 *     {@code Retry-After}, and a declared {@code Content-Length} over the limit, before reading the body;
 * <li>streams the file parts to the upload spool as bytes arrive on the event loop, counting them: the
 *     first byte past the limit (adapter: {@code loragate.adapters.max-upload-bytes}, all parts together;
 *     dataset: {@code loragate.files.max-bytes}) stops the upload, chunked or not, and is never written;
 * <li>answers 408 to a client that sends nothing for {@code loragate.uploads.idle-timeout};
 * <li>hands the finished files to the same service code as before on a worker (short work: no client
 *     I/O), and deletes the spooled files whatever the outcome.
 * </ol>
 * Answers and errors are the ones the JAX-RS resources gave (same JSON, same statuses).
 */
@ApplicationScoped
public class UploadRoutes {

    private static final Logger LOG = Logger.getLogger(UploadRoutes.class);
    /** Multipart framing and form fields a body carries beyond its files. */
    static final long OVERHEAD = 64 * 1024;

    private enum Target {
        ADAPTER(Set.of("config", "weights")), FILE(Set.of("file"));

        final Set<String> fileFields;

        Target(Set<String> fileFields) {
            this.fileFields = fileFields;
        }
    }

    private final Vertx vertx;
    private final TenantService tenants;
    private final TenantLimits limits;
    private final AdaptersResource adapters;
    private final FilesResource files;
    private final ObjectMapper json;
    private final long adapterLimit;
    private final long fileLimit;
    private final long idleMillis;
    /** Bytes an upload must deliver in each idle-timeout window (loragate.uploads.min-bytes-per-second). */
    private final long minBytesPerWindow;
    private final int perTenant;
    private final Path spool;
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();

    public UploadRoutes(Vertx vertx, TenantService tenants, TenantLimits limits, AdaptersResource adapters, FilesResource files,
            ObjectMapper json, LoragateConfig config,
            @ConfigProperty(name = "quarkus.http.body.uploads-directory") String uploadsDirectory) {
        this.vertx = vertx;
        this.tenants = tenants;
        this.limits = limits;
        this.adapters = adapters;
        this.files = files;
        this.json = json;
        this.adapterLimit = config.adapters().maxUploadBytes().asLongValue();
        this.fileLimit = config.files().maxBytes().asLongValue();
        this.idleMillis = Math.max(1, config.uploads().idleTimeout().toMillis());
        this.minBytesPerWindow = Math.max(0, config.uploads().minBytesPerSecond()) * idleMillis / 1000;
        this.perTenant = config.uploads().maxConcurrentPerTenant();
        this.spool = Path.of(uploadsDirectory);
    }

    void install(@Observes Router router) {
        // before HttpLimitErrors (-3) and Quarkus's own body-size check (-2): this route applies the finer limits
        router.post("/v1/adapters").order(-4).handler(ctx -> route(ctx, Target.ADAPTER));
        router.post("/v1/files").order(-4).handler(ctx -> route(ctx, Target.FILE));
    }

    /** Uploads in flight for {@code tenant} (tests). */
    int inFlight(String tenant) {
        AtomicInteger n = inFlight.get(tenant);
        return n == null ? 0 : n.get();
    }

    /** The spool directory (tests). */
    Path spool() {
        return spool;
    }

    private void route(RoutingContext ctx, Target target) {
        String type = ctx.request().getHeader("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) {
            ctx.next(); // RESTEasy answers 415 as before
            return;
        }
        String tenant;
        try {
            tenant = authenticate(ctx.request().getHeader("Authorization"));
        } catch (LoragateException e) {
            refuse(ctx, null, new ErrorMapper().loragate(e));
            return;
        }
        long limit = target == Target.ADAPTER ? adapterLimit : fileLimit;
        String length = ctx.request().getHeader("Content-Length");
        if (length != null && declaredOver(length, limit + OVERHEAD)) {
            refuse(ctx, tenant, tooLarge(target, limit));
            return;
        }
        AtomicInteger n = inFlight.computeIfAbsent(tenant, t -> new AtomicInteger());
        if (n.incrementAndGet() > perTenant) {
            n.decrementAndGet();
            refuse(ctx, tenant, new ErrorMapper().loragate(new LoragateException(Kind.RESOURCE_EXHAUSTED, "tenant '" + tenant
                    + "' already has " + perTenant + " uploads in flight (loragate.uploads.max-concurrent-per-tenant); retry when one ends")
                    .retryAfter(1)));
            return;
        }
        try {
            limits.acquireRequest(tenant);
        } catch (LoragateException e) {
            n.decrementAndGet();
            refuse(ctx, tenant, new ErrorMapper().loragate(e));
            return;
        }
        new Upload(ctx, target, tenant, limit, n).start();
    }

    /** {@link AuthFilter}'s rule for {@code /v1} endpoints: the key names the tenant; no auth: {@code default}. */
    private String authenticate(String authorization) {
        if (!tenants.authEnabled()) {
            return TenantResolver.DEFAULT;
        }
        String key = TenantService.bearerKey(authorization);
        if (key == null) {
            throw AuthFilter.missing();
        }
        return tenants.authenticate(key).orElseThrow(AuthFilter::invalid);
    }

    private static boolean declaredOver(String contentLength, long limit) {
        try {
            return Long.parseLong(contentLength.trim()) > limit;
        } catch (NumberFormatException e) {
            return false; // Vert.x answers malformed lengths itself
        }
    }

    private static Response tooLarge(Target target, long limit) {
        if (target == Target.FILE) {
            // the dataset store's message, with HTTP's status for it (gRPC: INVALID_ARGUMENT)
            return ErrorMapper.body(413, "file is larger than the limit of " + limit + " bytes (loragate.files.max-bytes)",
                    "invalid_request_error", "file", "http_413").build();
        }
        return ErrorMapper.body(413, "request body too large: an adapter upload (all parts together) is at most " + limit
                + " bytes (loragate.adapters.max-upload-bytes)", "invalid_request_error", null, "http_413").build();
    }

    /** Answers before reading the body, then closes the connection (the body is never read). */
    private void refuse(RoutingContext ctx, String tenant, Response answer) {
        send(ctx, tenant, answer, true);
    }

    /**
     * Writes a JAX-RS answer (ErrorMapper's shape) with the tenant's rate-limit headers. {@code close}:
     * the rest of the body is not wanted; what the client still sends is discarded for a moment (so that
     * it can read the answer rather than a reset) and the connection is closed.
     */
    private void send(RoutingContext ctx, String tenant, Response answer, boolean close) {
        HttpServerResponse out = ctx.response();
        if (out.ended() || out.closed()) {
            return;
        }
        String body;
        try {
            body = json.writeValueAsString(answer.getEntity());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        out.setStatusCode(answer.getStatus());
        answer.getHeaders().forEach((k, vs) -> {
            if (!"Content-Type".equalsIgnoreCase(k)) {
                vs.forEach(v -> out.putHeader(k, String.valueOf(v)));
            }
        });
        out.putHeader("Content-Type", "application/json");
        if (tenant != null) {
            rateLimitHeaders(out, tenant);
        }
        if (close) {
            out.putHeader("Connection", "close");
        }
        out.end(body);
        if (close) {
            HttpServerRequest req = ctx.request();
            if (!req.isEnded()) {
                req.handler(b -> {
                });
                req.resume();
            }
            if (req.version() != HttpVersion.HTTP_2) {
                vertx.setTimer(1000, id -> req.connection().close());
            }
        }
    }

    private void rateLimitHeaders(HttpServerResponse out, String tenant) {
        TenantLimits.RateState r = limits.requestState(tenant);
        if (r != null) {
            out.putHeader("x-ratelimit-limit-requests", String.valueOf(r.limit()));
            out.putHeader("x-ratelimit-remaining-requests", String.valueOf(r.remaining()));
            out.putHeader("x-ratelimit-reset-requests", String.format(Locale.ROOT, "%.3fs", Math.max(0, r.resetSeconds())));
        }
        TenantLimits.RateState t = limits.tokenState(tenant);
        if (t != null) {
            out.putHeader("x-ratelimit-limit-tokens", String.valueOf(t.limit()));
            out.putHeader("x-ratelimit-remaining-tokens", String.valueOf(t.remaining()));
            out.putHeader("x-ratelimit-reset-tokens", String.format(Locale.ROOT, "%.3fs", Math.max(0, t.resetSeconds())));
        }
    }

    /** One file part being spooled. */
    private static final class Part {
        final String field;
        final String filename;
        final Path path;
        /** Completes once the part's last byte is on disk and its file closed. */
        final Promise<Void> done = Promise.promise();
        AsyncFile file;
        private Future<Void> closing;

        Part(String field, String filename, Path path) {
            this.field = field;
            this.filename = filename;
            this.path = path;
        }

        /** Closes the file once (a second close of an AsyncFile throws). */
        Future<Void> close() {
            if (closing == null) {
                closing = file.close();
            }
            return closing;
        }
    }

    /** One upload, all on its connection's event loop (every callback below runs there). */
    private final class Upload {
        private final RoutingContext ctx;
        private final HttpServerRequest req;
        private final Target target;
        private final String tenant;
        private final long limit;
        private final AtomicInteger slot;
        private final List<Part> parts = new ArrayList<>();
        /** The file names as sent (Vert.x's decoder replaces some of their characters). */
        private final MultipartFilenames filenames;
        private long written;
        private long received;
        private long timer = -1;
        private long lastByte = System.nanoTime();
        private long windowStartNanos = System.nanoTime();
        private long windowStartBytes;
        private boolean over; // finished: answered, failed or handed over
        private boolean released;

        Upload(RoutingContext ctx, Target target, String tenant, long limit, AtomicInteger slot) {
            this.ctx = ctx;
            this.req = ctx.request();
            this.target = target;
            this.tenant = tenant;
            this.limit = limit;
            this.slot = slot;
            this.filenames = new MultipartFilenames(req.getHeader("Content-Type"));
        }

        void start() {
            armTimer();
            ctx.response().closeHandler(v -> fail(null)); // the client went away: drop everything
            req.exceptionHandler(e -> fail(ErrorMapper.body(400, "malformed multipart body: " + e.getMessage(),
                    "invalid_request_error", null, "invalid_multipart").build()));
            req.setExpectMultipart(true);
            req.uploadHandler(this::part);
            req.handler(b -> {
                lastByte = System.nanoTime();
                received += b.length();
                if (target == Target.FILE) {
                    filenames.feed(b);
                }
                if (received > limit + OVERHEAD) {
                    fail(tooLarge(target, limit)); // form fields and framing are bounded too
                }
            });
            req.endHandler(v -> ended());
            req.resume();
        }

        private void armTimer() {
            timer = vertx.setTimer(idleMillis, id -> checkIdle());
        }

        /** 408 once nothing has arrived for the idle timeout; otherwise looks again when it could have passed. */
        private void checkIdle() {
            if (over) {
                return;
            }
            long now = System.nanoTime();
            long idle = (now - lastByte) / 1_000_000;
            if (idle >= idleMillis) {
                fail(ErrorMapper.body(408, "upload timed out: no data received for " + idle + " ms (loragate.uploads.idle-timeout)",
                        "invalid_request_error", null, "request_timeout").build());
                return;
            }
            long windowMillis = (now - windowStartNanos) / 1_000_000;
            if (windowMillis >= idleMillis) {
                long got = received - windowStartBytes;
                if (got < minBytesPerWindow) {
                    fail(ErrorMapper.body(408, "upload too slow: " + got + " bytes in the last " + windowMillis + " ms; at least "
                            + minBytesPerWindow * 1000 / idleMillis + " bytes per second are needed"
                            + " (loragate.uploads.min-bytes-per-second)", "invalid_request_error", null, "request_timeout").build());
                    return;
                }
                windowStartNanos = now;
                windowStartBytes = received;
            }
            timer = vertx.setTimer(Math.min(idleMillis - idle, idleMillis - (now - windowStartNanos) / 1_000_000),
                    id -> checkIdle());
        }

        private void part(HttpServerFileUpload up) {
            if (over || !target.fileFields.contains(up.name()) || parts.stream().anyMatch(p -> p.field.equals(up.name()))) {
                up.handler(b -> count(b.length())); // unknown or repeated part: counted, never stored
                return;
            }
            Part p = new Part(up.name(), up.filename(), spool.resolve("loragate-upload-" + UUID.randomUUID()));
            parts.add(p);
            up.pause(); // until the file is open
            up.handler(b -> {
                if (!count(b.length()) || over) {
                    return;
                }
                p.file.write(b);
                if (p.file.writeQueueFull()) {
                    up.pause();
                    p.file.drainHandler(v -> up.resume());
                }
            });
            up.exceptionHandler(e -> fail(ErrorMapper.body(400, "malformed multipart body: " + e.getMessage(),
                    "invalid_request_error", null, "invalid_multipart").build()));
            Future<Void> opened = vertx.fileSystem().mkdirs(spool.toString())
                    .compose(v -> vertx.fileSystem().open(p.path.toString(), new OpenOptions().setWrite(true).setCreateNew(true)))
                    .map(f -> {
                        p.file = f;
                        if (over) {
                            discard(p);
                        } else {
                            up.endHandler(v -> {
                                if (!over) {
                                    p.close().onComplete(p.done);
                                }
                            });
                            up.resume();
                        }
                        return null;
                    });
            opened.onFailure(e -> {
                LOG.warnf("cannot spool an upload to %s: %s", spool, e.toString());
                p.done.tryFail(e);
                fail(new ErrorMapper().unexpected(new IllegalStateException("cannot spool the upload")));
            });
        }

        /** Counts stored bytes; false (and a 413) once they would pass the limit: that byte is never written. */
        private boolean count(int bytes) {
            lastByte = System.nanoTime();
            if (over) {
                return false;
            }
            written += bytes;
            if (written > limit) {
                fail(tooLarge(target, limit));
                return false;
            }
            return true;
        }

        private void ended() {
            if (over) {
                return;
            }
            // every part's bytes on disk: its upload ended (after the request's end, when it waited for its file to open)
            List<Future<Void>> written = new ArrayList<>();
            for (Part p : parts) {
                written.add(p.done.future());
            }
            Future.all(written).onComplete(ar -> {
                if (over) {
                    return;
                }
                if (ar.failed()) {
                    fail(new ErrorMapper().unexpected(new IllegalStateException("cannot spool the upload")));
                    return;
                }
                over = true; // handed over: no more timeouts; the slot is held until the answer
                vertx.cancelTimer(timer);
                Map<String, String> form = new LinkedHashMap<>();
                req.formAttributes().forEach(e -> form.putIfAbsent(e.getKey(), e.getValue()));
                vertx.<Record>executeBlocking(() -> {
                    try {
                        return handOver(form);
                    } finally {
                        deleteAll();
                    }
                }, false).onComplete(res -> {
                    Response answer;
                    if (res.succeeded()) {
                        answer = Response.ok(res.result()).build();
                    } else if (res.cause() instanceof LoragateException le) {
                        answer = new ErrorMapper().loragate(le);
                    } else if (res.cause() instanceof RuntimeException re) {
                        answer = new ErrorMapper().unexpected(re);
                    } else {
                        answer = new ErrorMapper().unexpected(new IllegalStateException(String.valueOf(res.cause())));
                    }
                    release();
                    send(ctx, tenant, answer, false);
                });
            });
        }

        /** On a worker: the service call, exactly as the JAX-RS resource made it; answers its documented record. */
        private Record handOver(Map<String, String> form) throws IOException {
            Map<String, Path> got = new LinkedHashMap<>();
            Map<String, String> names = new LinkedHashMap<>();
            for (Part p : parts) {
                got.put(p.field, p.path);
                String sent = filenames.filename(p.field);
                names.put(p.field, sent != null ? sent : p.filename);
            }
            // a file field sent as a plain form field (no filename): its value is the content
            for (String field : target.fileFields) {
                if (!got.containsKey(field) && form.containsKey(field)) {
                    Path path = spool.resolve("loragate-upload-" + UUID.randomUUID());
                    Files.createDirectories(spool);
                    Files.write(path, form.get(field).getBytes(StandardCharsets.UTF_8));
                    synchronized (parts) {
                        parts.add(new Part(field, null, path));
                    }
                    got.put(field, path);
                }
            }
            if (target == Target.ADAPTER) {
                return adapters.register(tenant, form.get("name"), got.get("config"), got.get("weights"));
            }
            if (!got.containsKey("file")) {
                throw new LoragateException(Kind.INVALID_ARGUMENT, "part 'file' (the JSON Lines dataset) is missing").withParam("file");
            }
            return files.upload(tenant, Optional.ofNullable(names.get("file")).orElse("file"), form.get("purpose"), got.get("file"));
        }

        /** Ends the upload without handing it over: deletes what was spooled, answers {@code answer} (null: nobody listens). */
        void fail(Response answer) {
            if (over) {
                return;
            }
            over = true;
            vertx.cancelTimer(timer);
            for (Part p : parts) {
                discard(p);
            }
            release();
            if (answer != null) {
                send(ctx, tenant, answer, true);
            } else if (!ctx.response().ended() && !ctx.response().closed()) {
                ctx.response().setStatusCode(400).putHeader("Connection", "close").end();
            }
        }

        private void discard(Part p) {
            if (p.file == null) {
                return; // still opening: deleted when the open completes (over is set)
            }
            p.close().onComplete(ar -> vertx.fileSystem().delete(p.path.toString()).onFailure(e -> {
            }));
        }

        private void deleteAll() {
            synchronized (parts) {
                for (Part p : parts) {
                    try {
                        Files.deleteIfExists(p.path);
                    } catch (IOException e) {
                        LOG.warnf("cannot delete the spooled upload %s: %s", p.path, e.toString());
                    }
                }
            }
        }

        private void release() {
            if (!released) {
                released = true;
                slot.decrementAndGet();
            }
        }
    }
}
