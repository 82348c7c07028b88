package io.loragate.api.rest;

import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.uniqueName;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.hamcrest.Matchers.not;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.common.DurableFiles;
import io.loragate.common.LoragateException;
import io.loragate.registry.AdapterRegistry;
import io.loragate.registry.AdapterVersion;
import io.loragate.registry.RegistryFixtures;
import io.loragate.registry.TinyLlamaRegistryProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.ValidatableResponse;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /v1/adapters} through its real transport, against the tiny-llama base. */
@QuarkusTest
@TestProfile(TinyLlamaRegistryProfile.class)
class AdaptersResourceTest {

    static final String TENANT = TenantResolver.DEFAULT;

    @Inject
    ResidentModel resident;

    @Inject
    AdapterRegistry registry;

    @TempDir
    Path tmp;

    @BeforeEach
    void baseIsLoaded() throws Exception {
        resident.whenLoaded().get(120, TimeUnit.SECONDS);
    }

    static RequestSpecification upload(String name, Path folder) {
        return upload(name, config(folder), weights(folder));
    }

    static RequestSpecification upload(String name, Path configFile, Path weightsFile) {
        RequestSpecification r = given();
        if (name != null) {
            r = r.multiPart("name", name);
        }
        if (configFile != null) {
            r = r.multiPart("config", configFile.toFile(), "application/json");
        }
        if (weightsFile != null) {
            r = r.multiPart("weights", weightsFile.toFile(), "application/octet-stream");
        }
        return r;
    }

    static ValidatableResponse register(String name, Path folder) {
        return upload(name, folder).post("/v1/adapters").then();
    }

    @Test
    void registerListGetSecondVersionActivateAndResolve() {
        String name = uniqueName("support");
        register(name, adapter("tiny-llama", 0)).statusCode(200)
                .body("id", equalTo(name + "@1"))
                .body("name", equalTo(name))
                .body("version", equalTo(1))
                .body("active_version", equalTo(1))
                .body("active", equalTo(true))
                .body("peft_type", equalTo("LORA"))
                .body("rank", equalTo(4))
                .body("state", equalTo("ready"))
                .body("sha256", equalTo(DurableFiles.sha256(weights(adapter("tiny-llama", 0)))));

        given().get("/v1/adapters").then().statusCode(200)
                .body("object", equalTo("list"))
                .body("data.id", hasItem(name));
        given().get("/v1/adapters/" + name).then().statusCode(200)
                .body("active_version", equalTo(1))
                .body("versions", hasSize(1))
                .body("versions[0].id", equalTo(name + "@1"));

        // A second version does not become active by itself.
        register(name, adapter("tiny-llama", 1)).statusCode(200)
                .body("id", equalTo(name + "@2"))
                .body("version", equalTo(2))
                .body("rank", equalTo(8))
                .body("active_version", equalTo(1))
                .body("active", equalTo(false));
        assertEquals(1, registry.resolve(TENANT, name).version());
        assertEquals(2, registry.resolve(TENANT, name + "@2").version());
        assertEquals(1, registry.resolve(TENANT, name + "@1").version());

        given().contentType("application/json").body("{\"version\": 2}").put("/v1/adapters/" + name + "/active")
                .then().statusCode(200)
                .body("id", equalTo(name + "@2"))
                .body("active_version", equalTo(2));
        assertEquals(2, registry.resolve(TENANT, name).version());
        assertEquals(1, registry.resolve(TENANT, name + "@1").version(), "name@v pins the version whatever is active");
        given().get("/v1/adapters/" + name).then().body("active_version", equalTo(2)).body("versions", hasSize(2));

        // The version's files are where the registry says, byte for byte.
        Path folder = registry.folder(registry.resolve(TENANT, name + "@2"));
        assertTrue(Files.isRegularFile(config(folder)));
        assertEquals(DurableFiles.sha256(weights(adapter("tiny-llama", 1))), DurableFiles.sha256(weights(folder)));
    }

    @Test
    void unknownIdsAndOtherTenantsAdaptersAreNotFound() {
        String name = uniqueName("mine");
        register(name, adapter("tiny-llama", 0)).statusCode(200);
        for (String id : List.of(name + "-nope", name + "@2", name + "@0", name + "@x", "../" + name, "")) {
            LoragateException e = assertThrows(LoragateException.class, () -> registry.resolve(TENANT, id), id);
            assertEquals(LoragateException.Kind.NOT_FOUND, e.kind(), id);
        }
        LoragateException other = assertThrows(LoragateException.class, () -> registry.resolve("someone-else", name));
        assertEquals(LoragateException.Kind.NOT_FOUND, other.kind());
        assertThrows(LoragateException.class, () -> registry.get("someone-else", name));
        assertTrue(registry.list("someone-else").stream().noneMatch(a -> a.name().equals(name)));

        given().get("/v1/adapters/" + name + "-nope").then().statusCode(404)
                .body("error.type", equalTo("not_found_error"))
                .body("error.message", containsString(name + "-nope"));
        given().contentType("application/json").body("{\"version\": 9}").put("/v1/adapters/" + name + "/active")
                .then().statusCode(404).body("error.message", containsString(name + "@9"));
        given().contentType("application/json").body("{}").put("/v1/adapters/" + name + "/active")
                .then().statusCode(400).body("error.param", equalTo("version"));
        given().post("/v1/adapters/" + name + "/pin?version=abc").then().statusCode(400)
                .body("error.message", containsString("'abc'"));
    }

    @Test
    void deleteVersionsButNeverTheActiveOneWhileOthersExistAndNeverReuseNumbers() {
        String name = uniqueName("del");
        register(name, adapter("tiny-llama", 0)).statusCode(200);
        register(name, adapter("tiny-llama", 1)).statusCode(200);
        Path v1 = registry.folder(registry.resolve(TENANT, name + "@1"));

        given().delete("/v1/adapters/" + name + "@1").then().statusCode(400)
                .body("error.message", containsString(name + "@1 is the active version"));
        given().delete("/v1/adapters/" + name).then().statusCode(400)
                .body("error.message", containsString("@<version>"));
        given().delete("/v1/adapters/" + name + "@7").then().statusCode(404);

        given().contentType("application/json").body("{\"version\": 2}").put("/v1/adapters/" + name + "/active")
                .then().statusCode(200);
        given().delete("/v1/adapters/" + name + "@1").then().statusCode(200)
                .body("id", equalTo(name + "@1"))
                .body("deleted", equalTo(true));
        assertFalse(Files.exists(v1), "a deleted version's files are removed");
        given().get("/v1/adapters/" + name).then().statusCode(200)
                .body("versions", hasSize(1))
                .body("versions[0].version", equalTo(2));
        assertEquals(LoragateException.Kind.NOT_FOUND,
                assertThrows(LoragateException.class, () -> registry.resolve(TENANT, name + "@1")).kind());

        register(name, adapter("tiny-llama", 0)).statusCode(200).body("version", equalTo(3));
        given().delete("/v1/adapters/" + name + "@3").then().statusCode(200);
        // The only version may go: the adapter goes with it.
        given().delete("/v1/adapters/" + name + "@2").then().statusCode(200);
        given().get("/v1/adapters/" + name).then().statusCode(404);
        given().get("/v1/adapters").then().body("data.id", not(hasItem(name)));
        // A new first version becomes active again, with a fresh number.
        register(name, adapter("tiny-llama", 0)).statusCode(200).body("version", equalTo(4)).body("active_version", equalTo(4));
    }

    @Test
    void badUploadsAreRefusedWithTheirReasonAndCreateNoVersion() throws Exception {
        Path llama0 = adapter("tiny-llama", 0);
        String name = uniqueName("bad");

        upload(name, config(llama0), RegistryFixtures.pickleFile(tmp)).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("pickle"))
                .body("error.param", equalTo("weights"));

        Path zip = RegistryFixtures.write(tmp.resolve("zip/adapter_model.bin"), new byte[] {'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0});
        upload(name, config(llama0), zip).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("pickle"));

        Path notSafetensors = RegistryFixtures.write(tmp.resolve("txt/w.safetensors"), "hello world, not tensors".getBytes());
        upload(name, config(llama0), notSafetensors).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("not a safetensors file"));

        Path wrongShape = RegistryFixtures.wrongShapeAdapter(tmp.resolve("shape"));
        register(name, wrongShape).statusCode(400)
                .body("error.message", containsString("the adapter was made for another base model"))
                .body("error.message", containsString("model.layers.0.self_attn.q_proj"))
                .body("error.message", not(containsString(tmp.toString())))
                .body("error.param", equalTo("weights"));

        register(name, adapter("tiny-gpt2", 0)).statusCode(400)
                .body("error.message", containsString("does not exist in the base model"))
                .body("error.message", containsString("transformer.h.0"));

        register("../" + name, llama0).statusCode(400)
                .body("error.message", containsString("'../" + name + "'"))
                .body("error.param", equalTo("name"));
        register("Upper", llama0).statusCode(400).body("error.message", containsString("'Upper'"));
        register(resident.id(), llama0).statusCode(400).body("error.message", containsString("base model's id"));

        upload(null, config(llama0), weights(llama0)).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("name is missing"));
        upload(name, null, weights(llama0)).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("'config'"));
        upload(name, config(llama0), null).post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("'weights'"));

        upload(name, RegistryFixtures.configWithRank(tmp.resolve("rank"), 32), weights(llama0)).post("/v1/adapters")
                .then().statusCode(400)
                .body("error.message", containsString("rank 32 exceeds the limit of 16"))
                .body("error.param", equalTo("config"));
        upload(name, RegistryFixtures.write(tmp.resolve("json/adapter_config.json"), "{not json".getBytes()), weights(llama0))
                .post("/v1/adapters").then().statusCode(400)
                .body("error.message", containsString("config (adapter_config.json)"))
                .body("error.message", containsString("not valid JSON"));
        given().contentType("application/json").body("{\"name\":\"x\"}").post("/v1/adapters").then().statusCode(415);

        given().get("/v1/adapters/" + name).then().statusCode(404);
        // The server keeps serving: the same name registers fine afterwards, as version 1.
        register(name, llama0).statusCode(200).body("version", equalTo(1));
    }

    @Test
    void uploadsOverTheLimitAreRefusedWithoutReachingTheRegistry() {
        String name = uniqueName("big");
        Path big = RegistryFixtures.write(tmp.resolve("big/adapter_model.safetensors"), new byte[1_200_000]);
        upload(name, config(adapter("tiny-llama", 0)), big).post("/v1/adapters").then().statusCode(413)
                .body("error.message", containsString("too large"));
        // Under the HTTP limit but over the registry's own check (the parts together).
        LoragateException e = assertThrows(LoragateException.class, () -> registry.register(TENANT, name,
                config(adapter("tiny-llama", 0)), RegistryFixtures.write(tmp.resolve("big2/w"), new byte[1_048_577])));
        assertEquals(LoragateException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("loragate.adapters.max-upload-bytes"), e.getMessage());
        given().get("/v1/adapters/" + name).then().statusCode(404);
    }

    @Test
    void aFolderLeftByACrashBetweenRenameAndInsertIsReplaced() throws Exception {
        String name = uniqueName("crash");
        register(name, adapter("tiny-llama", 0)).statusCode(200);
        // What a crash after the rename of version 2, before its row, leaves behind: a folder and no row.
        Path orphan = registry.folder(registry.resolve(TENANT, name)).resolveSibling("2");
        RegistryFixtures.write(orphan.resolve("adapter_model.safetensors"), "half-written".getBytes());
        given().get("/v1/adapters/" + name).then().body("versions", hasSize(1));
        register(name, adapter("tiny-llama", 1)).statusCode(200).body("version", equalTo(2));
        assertEquals(DurableFiles.sha256(weights(adapter("tiny-llama", 1))), DurableFiles.sha256(weights(orphan)));
    }

    @Test
    void concurrentRegistersOfOneNameGetDistinctVersions() throws Exception {
        String name = uniqueName("race");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<AdapterVersion>> futures = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Path folder = adapter("tiny-llama", i % 2);
                futures.add(pool.submit(() -> registry.register(TENANT, name, config(folder), weights(folder))));
            }
            TreeSet<Integer> versions = new TreeSet<>();
            for (Future<AdapterVersion> f : futures) {
                versions.add(f.get(60, TimeUnit.SECONDS).version());
            }
            assertEquals(new TreeSet<>(List.of(1, 2, 3, 4, 5, 6)), versions);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(6, registry.get(TENANT, name).versions().size());
        assertEquals(1, registry.get(TENANT, name).activeVersion());
    }

    @Test
    void pinUnpinLoadUnload() {
        String name = uniqueName("pin");
        register(name, adapter("tiny-llama", 0)).statusCode(200).body("loaded", equalTo(false)).body("pinned", equalTo(false));
        given().post("/v1/adapters/" + name + "/load").then().statusCode(200)
                .body("id", equalTo(name + "@1")).body("loaded", equalTo(true));
        given().post("/v1/adapters/" + name + "/unload").then().statusCode(200).body("loaded", equalTo(false));

        given().post("/v1/adapters/" + name + "/pin").then().statusCode(200).body("pinned", equalTo(true));
        given().get("/v1/adapters/" + name).then().body("pinned", equalTo(true));
        awaitLoaded(name + "@1");
        given().post("/v1/adapters/" + name + "/unload").then().statusCode(400)
                .body("error.message", containsString("is pinned"));

        // The alias pin follows the active version.
        register(name, adapter("tiny-llama", 0)).statusCode(200).body("pinned", equalTo(false));
        given().contentType("application/json").body("{\"version\": 2}").put("/v1/adapters/" + name + "/active")
                .then().statusCode(200).body("pinned", equalTo(true));
        awaitLoaded(name + "@2");
        given().post("/v1/adapters/" + name + "/unload?version=1").then().statusCode(200);

        // A version pin holds that version only.
        given().post("/v1/adapters/" + name + "/pin?version=1").then().statusCode(200)
                .body("id", equalTo(name + "@1")).body("pinned", equalTo(true));
        given().post("/v1/adapters/" + name + "/unpin").then().statusCode(200).body("id", equalTo(name + "@2"))
                .body("pinned", equalTo(false));
        given().post("/v1/adapters/" + name + "/unpin?version=1").then().statusCode(200).body("pinned", equalTo(false));
        given().post("/v1/adapters/" + name + "/unload?version=1").then().statusCode(200).body("loaded", equalTo(false));
        given().post("/v1/adapters/" + name + "/unload").then().statusCode(200).body("loaded", equalTo(false));
        given().post("/v1/adapters/" + name + "/load?version=9").then().statusCode(404);
    }

    private static void awaitLoaded(String id) {
        int at = id.indexOf('@');
        String name = id.substring(0, at);
        int version = Integer.parseInt(id.substring(at + 1));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            List<Boolean> loaded = given().get("/v1/adapters/" + name).then().extract()
                    .path("versions.findAll { it.version == " + version + " }.loaded");
            if (loaded != null && !loaded.isEmpty() && loaded.get(0)) {
                return;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new AssertionError(id + " was not loaded within 30 s");
    }
}
