package io.loragate.api.rest;

import static io.loragate.AuthProfile.createTenant;
import static io.loragate.AuthProfile.uniqueTenant;
import static io.loragate.registry.RegistryFixtures.adapter;
import static io.loragate.registry.RegistryFixtures.config;
import static io.loragate.registry.RegistryFixtures.weights;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.loragate.AuthProfile;
import io.loragate.runtime.ResidentModel;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.config.HttpClientConfig;
import io.restassured.config.RestAssuredConfig;
import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import jakarta.inject.Inject;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web console ({@code /console}) in a real browser (Debian's headless Chromium through
 * Selenium): a tenant enters its key, uploads a dataset, starts a job, watches the loss chart gain
 * points until the job ends, switches the active version and pins by clicking; what the page shows
 * is checked against the API. Plus the headers (CSP) and the API fields the page reads. Screenshots
 * go to {@code target/console-screenshots/}.
 */
@QuarkusTest
@TestProfile(AuthProfile.class)
class ConsoleBrowserTest {

    private static final Path SHOTS = Path.of("target/console-screenshots");
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TestHTTPResource("/console/")
    URL console;

    @Inject
    ResidentModel resident;

    private static ChromeDriver browser;

    @BeforeEach
    void ready() throws Exception {
        resident.whenLoaded().get(60, TimeUnit.SECONDS);
    }

    @AfterAll
    static void quit() {
        if (browser != null) {
            browser.quit();
            browser = null;
        }
    }

    private static RequestSpecification as(String key) {
        // job creation and uploads can be slow on a loaded machine: longer than RestAssured's default socket timeout
        return given().config(RestAssuredConfig.config().httpClient(HttpClientConfig.httpClientConfig()
                .setParam("http.socket.timeout", 120_000).setParam("http.connection.timeout", 30_000))).auth().oauth2(key);
    }

    private static void register(String key, String name) {
        Path folder = adapter("tiny-llama", 0);
        as(key).multiPart("name", name).multiPart("config", config(folder).toFile(), "application/json")
                .multiPart("weights", weights(folder).toFile(), "application/octet-stream")
                .post("/v1/adapters").then().statusCode(200);
    }

    private static void complete(String key, String model) {
        as(key).contentType(ContentType.JSON).body("{\"model\": \"" + model + "\", \"prompt\": \"Q: apple\\nA:\", \"max_tokens\": 1}")
                .post("/v1/completions").then().statusCode(200);
    }

    @Test
    void consoleIsServedWithAStrictContentSecurityPolicy() {
        given().redirects().follow(false).get("/console").then().statusCode(302).header("Location", "/console/");
        String html = given().get("/console/").then().statusCode(200)
                .header("Content-Security-Policy", containsString("script-src 'self'"))
                .header("Content-Security-Policy", containsString("default-src 'none'"))
                .header("X-Content-Type-Options", "nosniff")
                .header("X-Frame-Options", "DENY")
                .extract().asString();
        for (String asset : List.of("app.js", "app.css")) {
            given().get("/console/" + asset).then().statusCode(200).header("Content-Security-Policy", ConsoleRoutes.CSP);
        }
        // no inline script, no inline handler, no inline style, nothing from another origin
        assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)[^>]*>", Pattern.CASE_INSENSITIVE).matcher(html).find(), "inline <script>");
        assertFalse(Pattern.compile("\\son[a-z]+\\s*=", Pattern.CASE_INSENSITIVE).matcher(html).find(), "inline event handler");
        assertFalse(Pattern.compile("<style|\\sstyle\\s*=", Pattern.CASE_INSENSITIVE).matcher(html).find(), "inline style");
        assertFalse(html.contains("http://") || html.contains("https://"), "a resource from another origin");
        String js = given().get("/console/app.js").then().statusCode(200).extract().asString();
        assertFalse(js.contains("innerHTML") || js.contains("outerHTML") || js.contains("insertAdjacentHTML")
                || js.contains("document.write") || js.contains("eval("), "app.js must build the page from text nodes only");
    }

    /** The fields the console reads: a per-adapter request count of the caller's tenant, and a version's own pin. */
    @Test
    void adaptersCarryRecentRequestsAndTheirOwnVersionPin() {
        String a = createTenant(uniqueTenant("console-a"), null);
        String b = createTenant(uniqueTenant("console-b"), null);
        register(a, "rate");
        register(b, "rate");
        complete(a, "rate");
        complete(a, "rate@1");
        complete(b, "rate");
        JsonPath mine = as(a).get("/v1/adapters/rate").then().statusCode(200).extract().jsonPath();
        assertEquals(2, mine.getInt("recent_requests.total"), "both versions' requests count for the name");
        assertEquals(30, mine.getList("recent_requests.counts").size());
        assertEquals(10, mine.getInt("recent_requests.bucket_seconds"));
        assertEquals(2 * 60.0 / 300, mine.getDouble("recent_requests.per_minute"), 1e-9);
        as(b).get("/v1/adapters").then().statusCode(200).body("data[0].recent_requests.total", equalTo(1));

        as(a).post("/v1/adapters/rate/pin").then().statusCode(200);
        as(a).get("/v1/adapters/rate").then().body("pinned", equalTo(true))
                .body("versions[0].pinned", equalTo(true)).body("versions[0].version_pinned", equalTo(false));
        as(a).post("/v1/adapters/rate/pin?version=1").then().statusCode(200).body("version_pinned", equalTo(true));
        as(a).post("/v1/adapters/rate/unpin").then().statusCode(200);
        as(a).post("/v1/adapters/rate/unpin?version=1").then().statusCode(200).body("version_pinned", equalTo(false));
    }

    @Test
    void aTenantTrainsWatchesAndSwitchesVersionsInTheBrowser() throws Exception {
        Files.createDirectories(SHOTS);
        String tenant = uniqueTenant("console");
        String key = createTenant(tenant, null);
        String other = createTenant(uniqueTenant("console-other"), null);
        String adapterName = "qa";
        register(key, adapterName); // version 1; the job publishes version 2
        register(other, "other-tenants-secret");

        // a dataset whose file name is markup: the page must show it as text
        Path dir = Files.createDirectories(Path.of("target/console-test", tenant));
        Path dataset = dir.resolve("<img src=x onerror=window.__xss=1>.jsonl");
        Files.writeString(dataset, FineTuningJobsRestTest.promptCompletionSet() + "{\"prompt\": \"<b>no completion</b>\"}\n",
                StandardCharsets.UTF_8);

        browser = HeadlessChromium.start();
        WebDriverWait wait = new WebDriverWait(browser, WAIT, Duration.ofMillis(100));
        browser.get(console.toString());
        browser.findElement(By.id("api-key")).sendKeys(key);
        browser.findElement(By.id("key-use")).click();
        wait.until(d -> text(d, "#adapters .adapter[data-adapter='qa'] [data-role='active-version']").equals("v1"));
        assertTrue(browser.findElements(By.cssSelector("[data-adapter='other-tenants-secret']")).isEmpty());
        assertFalse(browser.getPageSource().contains("other-tenants-secret"), "another tenant's adapter on the page");

        // upload through the page; the report it shows is the API's
        browser.findElement(By.id("upload-file")).sendKeys(dataset.toAbsolutePath().toString());
        browser.findElement(By.id("upload-button")).click();
        wait.until(d -> text(d, "#upload-state").startsWith("uploaded file-"));
        String fileId = text(browser, "#upload-state").substring("uploaded ".length());
        JsonPath file = as(key).get("/v1/files/" + fileId).then().statusCode(200).extract().jsonPath();
        assertEquals(16, file.getInt("report.examples"));
        assertEquals(1, file.getInt("report.error_count"));
        wait.until(d -> !d.findElements(By.cssSelector("#files tr[data-file-id='" + fileId + "']")).isEmpty());
        WebElement row = browser.findElement(By.cssSelector("#files tr[data-file-id='" + fileId + "']"));
        String storedName = file.getString("filename"); // the server's sanitised name: '=' dropped, '<' and '>' kept
        assertTrue(storedName.contains("<img src"), storedName);
        assertTrue(row.getText().contains(storedName), row.getText());
        assertTrue(row.getText().contains("prompt_completion") && row.getText().contains("16"), row.getText());
        String shownReport = text(browser, "#file-report");
        assertTrue(shownReport.contains(file.getString("report.errors[0].reason")), shownReport);
        assertTrue(browser.findElements(By.cssSelector("#files img, #file-report img, #file-report b")).isEmpty(), "markup from data");
        assertNull(((JavascriptExecutor) browser).executeScript("return window.__xss === undefined ? null : window.__xss;"));
        shot("1-dataset-uploaded");

        // start a job through the form
        new Select(browser.findElement(By.id("job-model"))).selectByValue("tiny-llama");
        new Select(browser.findElement(By.id("job-file"))).selectByValue(fileId);
        browser.findElement(By.id("job-suffix")).sendKeys(adapterName);
        new Select(browser.findElement(By.id("job-type"))).selectByValue("supervised");
        new Select(browser.findElement(By.id("job-method"))).selectByValue("lora");
        // 800 steps: several of the page's 1.5 s polls even on a quiet machine (240 steps, with step
        // writes batched, ran in about two polls there)
        setField("job-epochs", "200");
        setField("job-batch", "4");
        setField("job-lr", "0.02");
        setField("job-r", "4");
        setField("job-eval-every", "80");
        setField("job-seed", "7");
        browser.findElement(By.id("job-activate")).click();
        browser.findElement(By.id("job-submit")).click();
        wait.until(d -> !text(d, "#job-detail [data-role='job-id']").isEmpty());
        String jobId = text(browser, "#job-detail [data-role='job-id']");
        assertEquals(fileId, as(key).get("/v1/fine_tuning/jobs/" + jobId).then().statusCode(200).extract().path("training_file"));

        // the chart gains points while the job runs
        List<Integer> seenWhileRunning = new ArrayList<>();
        boolean midShot = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            String status = text(browser, "#job-detail [data-role='job-status']");
            if (List.of("succeeded", "failed", "cancelled").contains(status)) {
                break;
            }
            int points = points("train");
            if (status.equals("running") && (seenWhileRunning.isEmpty() || seenWhileRunning.get(seenWhileRunning.size() - 1) != points)) {
                seenWhileRunning.add(points);
            }
            if (!midShot && points >= 20) {
                shot("2-training");
                midShot = true;
            }
            assertTrue(System.nanoTime() < deadline, "job " + jobId + " still " + status + " after 300 s");
            Thread.sleep(150);
        }
        JsonPath done = as(key).get("/v1/fine_tuning/jobs/" + jobId).then().statusCode(200).extract().jsonPath();
        assertEquals("succeeded", done.getString("status"), () -> done.prettify());
        long increases = seenWhileRunning.stream().filter(p -> p > 0).distinct().count();
        assertTrue(increases >= 2, "the chart must gain points while the job runs; seen " + seenWhileRunning);

        // after the end: every step and evaluation of the API is on the chart
        List<Map<String, Object>> events = as(key).queryParam("limit", 999).get("/v1/fine_tuning/jobs/" + jobId + "/events")
                .then().statusCode(200).extract().jsonPath().getList("data");
        long trainEvents = events.stream().filter(e -> "metrics".equals(e.get("type")) && e.get("data") instanceof Map<?, ?> d
                && d.get("step") != null && d.get("train_loss") != null).count();
        long evalEvents = events.stream().filter(e -> "metrics".equals(e.get("type")) && e.get("data") instanceof Map<?, ?> d
                && d.get("step") != null && d.get("eval_loss") != null).count();
        assertEquals(done.getLong("progress.total_steps"), trainEvents);
        wait.until(d -> points("train") == trainEvents && points("eval") == evalEvents);
        assertTrue(evalEvents >= 2, "evaluations every 80 steps: " + evalEvents);
        String published = done.getString("fine_tuned_model");
        assertEquals(adapterName + "@2", published);
        wait.until(d -> text(d, "#job-detail [data-role='published']").equals(published));
        wait.until(d -> !d.findElements(By.cssSelector("#eval-table table")).isEmpty());
        String evalTable = text(browser, "#eval-table");
        assertTrue(evalTable.contains("loss") && evalTable.contains("adapter") && evalTable.contains("base"), evalTable);
        assertEquals(done.getList("report.layers").size(),
                browser.findElements(By.cssSelector("#layers-table tbody tr")).size(), "a diagnostics row per layer");
        shot("3-job-finished");
        jpeg("console"); // the docs' picture (docs/images/console.jpg): a JPEG stays small

        // a sweep of two methods on the same file (through the API: the page shows sweeps, it does not start them)
        String sweepId = as(key).contentType(ContentType.JSON).body("{\"model\": \"tiny-llama\", \"training_file\": \"" + fileId
                + "\", \"methods\": [\"lora\", \"ia3\"], \"seed\": 7, \"hyperparameters\": {\"epochs\": 1, \"batch_size\": 4}}")
                .post("/v1/fine_tuning/sweeps").then().statusCode(200).extract().path("id");

        // the job activated version 2; switch back to 1 by clicking
        wait.until(d -> text(d, ".adapter[data-adapter='qa'] [data-role='active-version']").equals("v2"));
        click(wait, ".adapter[data-adapter='qa'] button[data-action='activate'][data-version='1']");
        wait.until(d -> text(d, ".adapter[data-adapter='qa'] [data-role='active-version']").equals("v1"));
        as(key).get("/v1/adapters/qa").then().statusCode(200).body("active_version", equalTo(1));

        // pin and unpin the alias
        click(wait, ".adapter[data-adapter='qa'] button[data-action='pin']");
        wait.until(d -> !d.findElements(By.cssSelector(".adapter[data-adapter='qa'] button[data-action='unpin']")).isEmpty());
        as(key).get("/v1/adapters/qa").then().body("pinned", equalTo(true));
        shot("4-version-switched-and-pinned");
        click(wait, ".adapter[data-adapter='qa'] button[data-action='unpin']");
        wait.until(d -> !d.findElements(By.cssSelector(".adapter[data-adapter='qa'] button[data-action='pin']")).isEmpty());
        as(key).get("/v1/adapters/qa").then().body("pinned", equalTo(false));

        // the request rate the page shows is the API's, and the version serving it becomes resident
        complete(key, "qa");
        complete(key, "qa");
        int total = as(key).get("/v1/adapters/qa").then().extract().path("recent_requests.total");
        assertEquals(2, total);
        wait.until(d -> text(d, ".adapter[data-adapter='qa'] .adapter-head").contains("(" + total + " in 5 min)"));
        wait.until(d -> text(d, ".adapter[data-adapter='qa'] tr[data-version-id='qa@1'] [data-role='resident']").equals("resident"));

        // the sweep's comparison table is the API's
        JsonPath sweep = null;
        long sweepDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (sweep == null || !List.of("succeeded", "failed", "cancelled").contains(sweep.getString("status"))) {
            assertTrue(System.nanoTime() < sweepDeadline, "sweep " + sweepId + " unfinished after 180 s");
            Thread.sleep(300);
            sweep = as(key).get("/v1/fine_tuning/sweeps/" + sweepId).then().statusCode(200).extract().jsonPath();
        }
        List<Map<String, Object>> rows = sweep.getList("table");
        assertEquals(2, rows.size());
        String sweepStatus = sweep.getString("status");
        wait.until(d -> text(d, "#sweeps tr[data-sweep-id='" + sweepId + "']").contains(sweepStatus));
        click(wait, "#sweeps tr[data-sweep-id='" + sweepId + "']");
        wait.until(d -> d.findElements(By.cssSelector("#sweep-table tbody tr")).size() == rows.size());
        List<WebElement> shownRows = browser.findElements(By.cssSelector("#sweep-table tbody tr"));
        for (int i = 0; i < rows.size(); i++) {
            String shown = shownRows.get(i).getText();
            Map<String, Object> sweepRow = rows.get(i);
            assertTrue(shown.startsWith(sweepRow.get("method") + " " + sweepRow.get("status")), shown + " vs " + sweepRow);
            Object model = sweepRow.get("fine_tuned_model");
            assertTrue(shown.contains(model == null ? "—" : (String) model), shown + " vs " + sweepRow);
        }
        shot("5-sweep");

        // nothing the page ran broke its own policy; and the policy does stop an inline script
        List<String> violations = new ArrayList<>();
        for (LogEntry e : browser.manage().logs().get(LogType.BROWSER)) {
            if (e.getMessage().contains("Content Security Policy") || e.getMessage().contains("Uncaught")) {
                violations.add(e.getMessage());
            }
        }
        assertTrue(violations.isEmpty(), violations.toString());
        Object ran = ((JavascriptExecutor) browser).executeScript("const s = document.createElement('script');"
                + " s.textContent = 'window.__inline = 1'; document.body.appendChild(s); return window.__inline === undefined ? null : 1;");
        assertNull(ran, "the Content-Security-Policy must block inline scripts");
        assertNull(((JavascriptExecutor) browser).executeScript("return window.__xss === undefined ? null : window.__xss;"));
    }

    // ---------------------------------------------------------------------------------------------

    private int points(String series) {
        String v = browser.findElement(By.id("loss-chart")).getAttribute("data-points-" + series);
        return v == null ? 0 : Integer.parseInt(v);
    }

    private void setField(String id, String value) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    /** The element's text, or "" while it is missing or being redrawn. */
    private static String text(WebDriver d, String css) {
        try {
            List<WebElement> found = d.findElements(By.cssSelector(css));
            return found.isEmpty() ? "" : found.get(0).getText().trim();
        } catch (StaleElementReferenceException e) {
            return "";
        }
    }

    /** Clicks, retrying when the periodic refresh redrew the element between finding and clicking it. */
    private static void click(WebDriverWait wait, String css) {
        wait.until((Function<WebDriver, Boolean>) d -> {
            try {
                List<WebElement> found = d.findElements(By.cssSelector(css));
                if (found.isEmpty()) {
                    return false;
                }
                found.get(0).click();
                return true;
            } catch (StaleElementReferenceException e) {
                return false;
            }
        });
    }

    private static void jpeg(String name) throws Exception {
        Map<String, Object> shot = browser.executeCdpCommand("Page.captureScreenshot", Map.of("format", "jpeg", "quality", 50));
        Files.write(SHOTS.resolve(name + ".jpg"), java.util.Base64.getDecoder().decode((String) shot.get("data")));
    }

    private static void shot(String name) throws Exception {
        Files.write(SHOTS.resolve(name + ".png"), browser.getScreenshotAs(OutputType.BYTES));
    }
}
