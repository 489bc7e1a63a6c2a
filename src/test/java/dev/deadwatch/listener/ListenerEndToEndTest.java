package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.export.MetricsContract;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Real DJL training with the listener, scraped over HTTP: the docs/metrics.md contract, end to end. */
class ListenerEndToEndTest {

    /** docs/metrics.md: every exported name with the labels it must carry (beyond run and model). */
    private static final String[][] CONTRACT = {
        {"deadwatch_info", "version", "engine", "precision"},
        {"deadwatch_layer_precision", "layer"},
        {"deadwatch_step"},
        {"deadwatch_train_loss"}, {"deadwatch_validation_loss"},
        {"deadwatch_train_accuracy"}, {"deadwatch_validation_accuracy"},
        {"deadwatch_dead_directions", "layer", "side"},
        {"deadwatch_dead_directions_profile", "layer", "side", "eps"},
        {"deadwatch_dds_logdet_active", "layer", "side"},
        {"deadwatch_dds_lambda_min", "layer", "side"},
        {"deadwatch_dds_effective_rank", "layer", "side"},
        {"deadwatch_dds_logdet_slope", "layer", "side"},
        {"deadwatch_directions_unresolved", "layer", "side"},
        {"deadwatch_directions_structural", "layer", "side", "cause"},
        {"deadwatch_batchnorm_gamma_min_abs", "layer"},
        {"deadwatch_batchnorm_dead_channels", "layer"},
        {"deadwatch_layernorm_kernel_rayleigh", "layer"},
        {"deadwatch_layernorm_kernel_alignment", "layer"},
        {"deadwatch_layernorm_gamma_min_abs", "layer"},
        {"deadwatch_layernorm_extra_dead", "layer"},
        {"deadwatch_directions", "layer", "order"},
        {"deadwatch_order_candidates", "layer", "set"},
        {"deadwatch_learning_coefficient_dead", "layer"},
        {"deadwatch_regime", "layer"},
        {"deadwatch_regime_changes_total", "layer", "kind"},
        {"deadwatch_snapshots_total"},
        {"deadwatch_snapshot_write_failures_total"},
        {"deadwatch_reads_skipped_total", "reason"},
        {"deadwatch_read_seconds_count", "read"}, {"deadwatch_read_seconds_sum", "read"},
        {"deadwatch_read_seconds_max", "read"},
        {"deadwatch_training_pause_seconds_count"}, {"deadwatch_training_pause_seconds_sum"},
        {"deadwatch_training_pause_seconds_max"},
    };

    @Test
    void theLabelTableHereCoversExactlyTheContract() {
        assertThat(java.util.Arrays.stream(CONTRACT).map(e -> e[0]).toList())
                .containsExactlyInAnyOrderElementsOf(MetricsContract.names());
    }

    @Test
    void scrapeDuringARealRunFindsEveryContractNameWithItsLabels() throws Exception {
        DeadwatchListener monitor = DeadwatchListener.builder()
                .optInterval(5).optOrderEvery(2).optBudget(1.0).optWaitForReads(true)
                .optBlockFactory(TinyRun::block)
                .optRunId("e2e")
                .optPrometheusEndpoint("127.0.0.1", 0)
                .build();
        AtomicReference<String> midRun = new AtomicReference<>();
        try (monitor) {
            TinyRun.train(60, monitor, new ai.djl.training.listener.TrainingListenerAdapter() {
                private int step;

                @Override
                public void onTrainingBatch(ai.djl.training.Trainer t, BatchData d) {
                    if (++step == 40) {
                        midRun.set(scrape(monitor.port()));
                    }
                }
            });
            String end = scrape(monitor.port());
            assertThat(midRun.get()).contains("deadwatch_snapshots_total{");
            for (String[] entry : CONTRACT) {
                if (entry[0].startsWith("deadwatch_batchnorm_")) {
                    continue; // only for a model with a BatchNorm (ModelZooTest reads one)
                }
                List<String> lines = series(end, entry[0]);
                assertThat(lines).as("series %s", entry[0]).isNotEmpty();
                for (String line : lines) {
                    assertThat(line).contains("run=\"e2e\"").contains("model=\"tiny\"");
                    for (int i = 1; i < entry.length; i++) {
                        assertThat(line).as("%s has label %s", entry[0], entry[i]).contains(entry[i] + "=\"");
                    }
                }
            }
            assertThat(value(end, "deadwatch_info", "precision=\"float64\"")).isEqualTo(1.0);
            List<TimelineRow> rows = monitor.timeline();
            assertThat(value(end, "deadwatch_step", "")).isEqualTo((double) rows.get(rows.size() - 1).step());
            // one per 5 steps, plus the state at training end taken again if step 60's was dropped as busy
            double snapshots = value(end, "deadwatch_snapshots_total", "");
            assertThat(snapshots).isIn(12.0, 13.0);
            assertThat(rows.get(rows.size() - 1).step()).as("the last step is always read").isEqualTo(60);
            assertThat(value(end, "deadwatch_validation_accuracy", "")).isBetween(0.5, 1.0);
            assertThat(value(end, "deadwatch_layernorm_kernel_rayleigh", "layer=\"01LayerNorm\"")).isLessThan(1e-6);
            assertThat(value(end, "deadwatch_reads_skipped_total", "reason=\"error\"")).isZero();
            assertThat(series(end, "deadwatch_dead_directions_profile")).anyMatch(l -> l.contains("eps=\"1e-6\""));
            assertThat(series(end, "deadwatch_directions")).anyMatch(l -> l.contains("order=\"preasymptotic\""));
            assertThat(series(end, "deadwatch_order_candidates")).anyMatch(l -> l.contains("set=\"found\""))
                    .anyMatch(l -> l.contains("set=\"read\""));
            assertThat(series(end, "deadwatch_regime_changes_total")).anyMatch(l -> l.contains("kind=\"kernel_lost\""));
            // every snapshot is either read or dropped as busy (queue of one), never lost
            double busy = value(end, "deadwatch_reads_skipped_total", "reason=\"busy\"");
            assertThat(monitor.timeline().size() + busy).isEqualTo(snapshots);
            assertThat(monitor.timeline().size()).isGreaterThanOrEqualTo(6);
            assertPromtoolAccepts(end);
        }
    }

    /**
     * Runs Debian's {@code promtool check metrics} (installed by scripts/setup.sh) on a scrape: its
     * lint rejects, among others, a unit it does not take as a base unit ({@code _bits}).
     */
    private static void assertPromtoolAccepts(String exposition) throws Exception {
        java.nio.file.Path promtool = java.util.Arrays.stream(System.getenv().getOrDefault("PATH", "")
                .split(java.io.File.pathSeparator)).map(d -> java.nio.file.Path.of(d, "promtool"))
                .filter(java.nio.file.Files::isExecutable).findFirst().orElse(null);
        org.assertj.core.api.Assumptions.assumeThat(promtool).as("promtool on the PATH").isNotNull();
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(exposition.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(1, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as("promtool check metrics:%n%s", out).isZero();
    }

    @Test
    void aReadThatThrowsLeavesTrainingRunningUnchangedAndIsCounted() throws Exception {
        String unmonitored = TinyRun.train(30);
        Detector broken = new Detector() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public List<Candidate> detect(DetectorContext context) {
                throw new IllegalStateException("detector failure injected by the test");
            }
        };
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<String> seen = new ArrayList<>();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1)
                .optBudget(1.0).optWaitForReads(true).optRegistry(reg).optDetectors(List.of(broken))
                .optOnReport(r -> seen.add("report")).build()) {
            String monitored = TinyRun.train(30, monitor);
            assertThat(monitored).as("final weights with a failing monitor").isEqualTo(unmonitored);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count())
                    .isEqualTo(6.0);
            assertThat(reg.get("deadwatch.snapshots").counter().count()).isEqualTo(6.0);
            assertThat(seen).isEmpty();
        }
    }

    @Test
    void aRunShorterThanOneIntervalStillGetsItsFinalReadOnTheWorker() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1_000_000)
                .optBlockFactory(TinyRun::block).optRegistry(reg).build()) {
            TinyRun.train(12, monitor); // onTrainingEnd drains the worker
            assertThat(monitor.timeline()).as("the final read ran before training returned").hasSize(1);
            assertThat(monitor.timeline().get(0).step()).isEqualTo(12);
            assertThat(reg.get("deadwatch.snapshots").counter().count()).isEqualTo(1.0);
        }
    }

    @Test
    void overBudgetReadsAreNotStartedTheIntervalBacksOffAndEachIsCounted() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1)
                .optBudget(1e-6).optRegistry(reg).build()) {
            TinyRun.train(60, monitor);
            // step 5 reads (no cost known yet); steps 10, 20, 40 are refused, each with the order
            // read due with it, doubling the interval; the final read at step 60 always runs; an
            // order read may also stop after its first candidate (steps 5 and 60)
            assertThat(reg.get("deadwatch.snapshots").counter().count()).isEqualTo(2.0);
            assertThat(monitor.timeline()).extracting(TimelineRow::step).containsExactly(5L, 60L);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "budget").counter().count())
                    .isBetween(6.0, 8.0);
            assertThat(monitor.interval()).isEqualTo(40);
        }
    }

    @ParameterizedTest(name = "on copies: {0}")
    @ValueSource(booleans = {true, false})
    void floatThirtyTwoReadsOnCopiesOrOnTheModelDoNotChangeTraining(boolean copies) throws Exception {
        String unmonitored = TinyRun.train(30);
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1)
                .optBudget(1.0).optRegistry(reg).optWaitForReads(true).optReadOnCopies(copies).build()) {
            String monitored = TinyRun.train(30, monitor);
            assertThat(monitored).as(copies ? "reads on copies, while training goes on, never write the model"
                    : "every read (order, Fisher) on the model restores bit-exactly").isEqualTo(unmonitored);
            assertThat(monitor.timeline()).hasSize(6);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            assertThat(reg.get("deadwatch.read").tag("read", "order").timer().count()).isEqualTo(6);
            assertThat(reg.get("deadwatch.read").tag("read", "fisher").timer().count()).isEqualTo(6);
        }
    }

    static String scrape(int port) {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> series(String text, String name) {
        List<String> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.startsWith(name + "{") || line.startsWith(name + " ")) {
                out.add(line);
            }
        }
        return out;
    }

    static double value(String text, String name, String labelFragment) {
        for (String line : series(text, name)) {
            if (line.contains(labelFragment)) {
                Matcher mt = Pattern.compile("} (\\S+)$").matcher(line);
                if (mt.find()) {
                    return Double.parseDouble(mt.group(1));
                }
            }
        }
        throw new AssertionError("no " + name + " with " + labelFragment);
    }
}
