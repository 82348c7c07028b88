package io.loragate.service;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.TinyLlamaProfile;
import io.loragate.engine.EngineService;
import io.loragate.runtime.ResidentModel;
import io.loragate.training.jobs.TrainingGate;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Serving comes first: the gate the job runner asks before every training step holds it back while
 * a request is being served, and until the engine has been idle for {@code loragate.jobs.min-idle}
 * (200ms by default).
 */
@QuarkusTest
@TestProfile(TinyLlamaProfile.class)
class TrainingGateTest {

    @Inject
    Instance<TrainingGate> gates;

    @Inject
    EngineService engines;

    @Inject
    ResidentModel resident;

    @Test
    void aTrainingStepWaitsForTheEngineToBeIdle() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
        TrainingGate gate = gates.get();
        assertInstanceOf(EngineTrainingGate.class, gate, "the job runner's gate is the engine's");

        CompletableFuture<Long> served = CompletableFuture.supplyAsync(() -> {
            given().contentType(ContentType.JSON)
                    .body("{\"model\":\"tiny-llama\",\"prompt\":\"Once upon a time\",\"max_tokens\":240,\"temperature\":0,"
                            + "\"ignore_eos\":true}")
                    .post("/v1/completions").then().statusCode(200);
            return System.nanoTime();
        });
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!engines.engine().busy()) {
            if (served.isDone()) {
                served.get(); // its failure, if it failed
            }
            assertTrue(System.nanoTime() < deadline && !served.isDone(), "the request never reached the engine");
            Thread.sleep(1);
        }
        // the engine's view, not the client's: when the engine was last seen busy
        java.util.concurrent.atomic.AtomicLong lastBusy = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());
        Thread watcher = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                if (engines.engine().busy()) {
                    lastBusy.set(System.nanoTime());
                }
                Thread.onSpinWait();
            }
        });
        watcher.start();
        try {
            gate.awaitTurn();
            long turn = System.nanoTime();
            long idle = engines.engine().idleNanos();
            assertTrue(!engines.engine().busy(), "the training step was let in while a request was running");
            assertTrue(turn - lastBusy.get() >= TimeUnit.MILLISECONDS.toNanos(190),
                    "let in " + (turn - lastBusy.get()) / 1e6 + " ms after the engine was last busy (its own idle time: " + idle / 1e6
                            + " ms); min-idle is 200 ms");
        } finally {
            watcher.interrupt();
            watcher.join();
        }
        served.get(60, TimeUnit.SECONDS);
    }
}
