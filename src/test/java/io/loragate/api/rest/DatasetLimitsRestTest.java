package io.loragate.api.rest;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.loragate.DatasetsProfile;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.data.Datasets;
import io.loragate.training.data.ValidationGate;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenant isolation (docs/security.md) over REST: a dataset line over a per-line bound is a bad line of the report naming the
 * bound and its key, and an upload arriving while {@code loragate.files.max-concurrent-validations}
 * (default 2) validations run is refused with 429, {@code Retry-After} and an OpenAI-shaped error,
 * storing nothing.
 */
@QuarkusTest
@TestProfile(DatasetsProfile.class)
class DatasetLimitsRestTest {

    @Inject
    ResidentModel resident;

    @Inject
    Datasets datasets;

    @TempDir
    Path tmp;

    @BeforeEach
    void baseIsLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static final String OK = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}";

    static String chat(int messages) {
        StringBuilder s = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < messages; i++) {
            s.append(i == 0 ? "" : ",").append("{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":\"m\"}");
        }
        return s.append("]}").toString();
    }

    Path file(String name, List<String> lines) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, lines);
        return f;
    }

    @Test
    void linesOverABoundAreBadLinesNamingIt() throws IOException {
        String deep = "{\"messages\":" + "[".repeat(40) + "]".repeat(40) + "}";
        JsonPath r = FilesResourceTest.upload(file("hostile.jsonl", List.of(OK, chat(1001), deep, OK)), "fine-tune").statusCode(200)
                .body("report.format", equalTo("chat"))
                .body("report.examples", equalTo(2))
                .body("report.error_count", equalTo(2))
                .extract().jsonPath();
        assertEquals(List.of(2, 3), r.getList("report.errors.line", Integer.class));
        assertEquals(List.of("more than 1000 messages (loragate.files.max-messages-per-line)",
                "nesting depth over 16 (loragate.files.max-line-depth)"), r.getList("report.errors.reason", String.class));
    }

    @Test
    void validationsBeyondTheBoundAreRefusedWith429() throws IOException {
        ValidationGate gate = datasets.validationGate();
        Path f = file("third.jsonl", List.of(OK));
        gate.run(() -> gate.run(() -> { // the two validations the default bound allows are running
            FilesResourceTest.upload(f, "fine-tune").statusCode(429)
                    .header("Retry-After", equalTo(String.valueOf(ValidationGate.RETRY_AFTER_SECONDS)))
                    .body("error.type", equalTo("rate_limit_error"))
                    .body("error.param", equalTo("file"))
                    .body("error.message", equalTo("too many dataset validations running (2, "
                            + "loragate.files.max-concurrent-validations); retry later"));
            return null;
        }));
        given().get("/v1/files").then().statusCode(200).body("data.filename", not(hasItem("third.jsonl")));
        FilesResourceTest.upload(f, "fine-tune").statusCode(200).body("report.examples", equalTo(1));
    }
}
