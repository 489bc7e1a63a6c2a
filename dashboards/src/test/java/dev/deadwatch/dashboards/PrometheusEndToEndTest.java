package dev.deadwatch.dashboards;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.deadwatch.examples.Grokking;
import dev.deadwatch.examples.NodeDeath;
import dev.deadwatch.examples.Settings;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.monitor.ReadSuite;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Prometheus on loopback scrapes two real monitored training runs (a short grokking run:
 * LayerNorm, accuracy, validation; a short node-death run: order reads with dead units), with the
 * alert rules loaded; then every dashboard panel's query, variables substituted, must return
 * series, the variables must list both runs, and every rule must evaluate healthy.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrometheusEndToEndTest {

    /** How long to wait for Prometheus to start, scrape and evaluate. */
    private static final Duration PATIENCE = Duration.ofSeconds(90);
    private static final int GROKKING_STEPS = 300;
    private static final int NODE_DEATH_STEPS = 800;

    @TempDir
    static Path tmp;

    private Process prometheus;
    private int prometheusPort;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<DeadwatchListener> monitors = new ArrayList<>();
    private final List<String> runs = new ArrayList<>();

    @BeforeAll
    void trainWhilePrometheusScrapes() throws Exception {
        int grokkingPort = freePort();
        int nodeDeathPort = freePort();
        prometheusPort = freePort();
        Path config = tmp.resolve("prometheus.yml");
        Files.writeString(config, String.join("\n",
                "global:",
                "  scrape_interval: 1s",
                "  evaluation_interval: 1s",
                "rule_files:",
                "  - " + Repo.RULES,
                "scrape_configs:",
                "  - job_name: deadwatch",
                "    static_configs:",
                "      - targets: ['127.0.0.1:" + grokkingPort + "', '127.0.0.1:" + nodeDeathPort + "']",
                ""));
        prometheus = new ProcessBuilder(Repo.tool("prometheus"), "--config.file=" + config,
                "--storage.tsdb.path=" + tmp.resolve("data"), "--web.listen-address=127.0.0.1:" + prometheusPort,
                "--log.level=warn")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("prometheus.log").toFile()).start();
        await("Prometheus ready", () -> get("/-/ready").statusCode() == 200);

        // each run's first read waits until Prometheus holds a sample of the run's counters at
        // zero: a counter first scraped after its increments hides them from increase()
        Grokking.Result g = Grokking.run(Settings.quiet().withSteps(GROKKING_STEPS).withEndpoint("127.0.0.1", grokkingPort)
                .withReadObserver(firstReadAfterAScrapeOf("grokking-42")));
        monitors.add(g.monitor());
        NodeDeath.Result n = NodeDeath.run(Settings.quiet().withSteps(NODE_DEATH_STEPS).withEndpoint("127.0.0.1", nodeDeathPort)
                .withReadObserver(firstReadAfterAScrapeOf("node-death-42")));
        monitors.add(n.monitor());
        monitors.forEach(m -> runs.add(m.runId()));
        // the endpoints keep serving: wait until Prometheus holds each run's final read
        for (int i = 0; i < monitors.size(); i++) {
            String run = runs.get(i);
            long last = monitors.get(i).timeline().get(monitors.get(i).timeline().size() - 1).step();
            await("final read of " + run + " scraped",
                    () -> value("max(deadwatch_step{run=\"" + run + "\"})") == last);
        }
    }

    /** Holds the first read of a run until Prometheus has scraped the run once (at most {@link #PATIENCE}). */
    private ReadSuite.ReadObserver firstReadAfterAScrapeOf(String run) {
        AtomicBoolean scraped = new AtomicBoolean();
        return read -> {
            if (!scraped.get()) {
                await("a first scrape of " + run,
                        () -> value("count(deadwatch_snapshots_total{run=\"" + run + "\"})") >= 1);
                scraped.set(true);
            }
        };
    }

    @AfterAll
    void stop() throws Exception {
        for (DeadwatchListener m : monitors) {
            m.close();
        }
        if (prometheus != null) {
            prometheus.destroy();
            prometheus.waitFor();
        }
    }

    @Test
    void everyDashboardPanelQueryReturnsSeriesFromTheRealScrape() throws Exception {
        String runRegex = String.join("|", runs);
        Map<String, Integer> seriesPerQuery = new TreeMap<>();
        List<String> empty = new ArrayList<>();
        for (Dashboard.Query q : Dashboard.queries(Dashboard.load())) {
            String expr = Dashboard.substitute(q.expr(), runRegex);
            JsonArray result = query(expr);
            seriesPerQuery.put(q.panel() + " :: " + expr, result.size());
            if (result.isEmpty()) {
                empty.add(q.panel() + ": " + expr);
            }
        }
        assertThat(empty).as("panel queries with no series (of %s)", seriesPerQuery).isEmpty();
        assertThat(seriesPerQuery).isNotEmpty();
    }

    @Test
    void theScrapedValuesAreTheReadsNotJustSeries() throws Exception {
        // node death: the dead squared-ReLU units are read as order 3
        assertThat(value("max(deadwatch_directions{run=\"" + runs.get(1) + "\",order=\"3\"})"))
                .as("order-3 directions of the node-death run").isGreaterThanOrEqualTo(1);
        // grokking: the LayerNorm's inverse-scale kernel is exact (float64 replica)
        assertThat(value("max(abs(deadwatch_layernorm_kernel_rayleigh{run=\"" + runs.get(0) + "\"}))"))
                .as("LayerNorm kernel Rayleigh quotient").isLessThan(1e-6);
        assertThat(value("max(deadwatch_layernorm_kernel_alignment{run=\"" + runs.get(0) + "\"})"))
                .as("LayerNorm kernel alignment").isGreaterThanOrEqualTo(0.9999);
        assertThat(value("max(deadwatch_step{run=\"" + runs.get(0) + "\"})")).isEqualTo(GROKKING_STEPS);
    }

    @Test
    void theVariablesListBothRunsAndTheirLayers() throws Exception {
        assertThat(labelValues("run", "deadwatch_info")).containsAll(runs);
        assertThat(labelValues("model", "deadwatch_info")).contains("grokking");
        assertThat(labelValues("layer", "deadwatch_dead_directions{run=~\"" + String.join("|", runs) + "\"}"))
                .contains("03LayerNorm", "05LambdaBlock");
    }

    @Test
    void theRegimeChangesOfTheRunsReachPrometheusAsTheAnnotationSees() throws Exception {
        String expr = "sum by (run, layer, kind) (increase(deadwatch_regime_changes_total{run=\"" + runs.get(1)
                + "\"}[1h])) > 0";
        JsonArray result = query(expr);
        assertThat(result).as("the node-death run's confirmed changes (%s)", expr).isNotEmpty();
    }

    @Test
    void everyAlertRuleLoadsAndEvaluatesHealthy() throws Exception {
        await("all rules evaluated", () -> {
            JsonArray rules = rules();
            for (JsonElement r : rules) {
                if (r.getAsJsonObject().get("lastEvaluation").getAsString().startsWith("0001-")) {
                    return false;
                }
            }
            return rules.size() == Repo.ALERTS.size();
        });
        List<String> names = new ArrayList<>();
        for (JsonElement r : rules()) {
            JsonObject rule = r.getAsJsonObject();
            names.add(rule.get("name").getAsString());
            assertThat(rule.get("health").getAsString()).as(rule.get("name").getAsString() + " "
                    + rule.get("lastError")).isEqualTo("ok");
        }
        assertThat(names).containsExactlyInAnyOrderElementsOf(Repo.ALERTS);
    }

    // ------------------------------------------------------------------ Prometheus HTTP API

    private JsonArray rules() throws IOException, InterruptedException {
        JsonObject body = JsonParser.parseString(get("/api/v1/rules").body()).getAsJsonObject();
        JsonArray out = new JsonArray();
        for (JsonElement g : body.getAsJsonObject("data").getAsJsonArray("groups")) {
            out.addAll(g.getAsJsonObject().getAsJsonArray("rules"));
        }
        return out;
    }

    private JsonArray query(String expr) throws IOException, InterruptedException {
        HttpResponse<String> r = get("/api/v1/query?query=" + URLEncoder.encode(expr, StandardCharsets.UTF_8));
        JsonObject body = JsonParser.parseString(r.body()).getAsJsonObject();
        assertThat(body.get("status").getAsString()).as(expr + " -> " + r.body()).isEqualTo("success");
        return body.getAsJsonObject("data").getAsJsonArray("result");
    }

    private double value(String expr) {
        try {
            JsonArray result = query(expr);
            return result.isEmpty() ? Double.NaN
                    : Double.parseDouble(result.get(0).getAsJsonObject().getAsJsonArray("value").get(1).getAsString());
        } catch (IOException | InterruptedException e) {
            return Double.NaN;
        }
    }

    private List<String> labelValues(String label, String match) throws IOException, InterruptedException {
        String body = get("/api/v1/label/" + label + "/values?match[]="
                + URLEncoder.encode(match, StandardCharsets.UTF_8)).body();
        List<String> out = new ArrayList<>();
        JsonParser.parseString(body).getAsJsonObject().getAsJsonArray("data").forEach(e -> out.add(e.getAsString()));
        return out;
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + prometheusPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A condition that may fail while things start up. */
    @FunctionalInterface
    private interface Check {
        boolean holds() throws Exception;
    }

    private void await(String what, Check condition) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (condition.holds()) {
                    return;
                }
            } catch (IOException | RuntimeException e) {
                // not up yet
            }
            if (prometheus != null && !prometheus.isAlive()) {
                throw new AssertionError("Prometheus exited: " + Files.readString(tmp.resolve("prometheus.log")));
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out waiting for " + what + "; Prometheus log: "
                + Files.readString(tmp.resolve("prometheus.log")));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
