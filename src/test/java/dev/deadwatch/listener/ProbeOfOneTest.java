package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 14: a probe of one sample cannot be read. It is said once in the log, and each
 * snapshot it spoils is counted once as {@code reads_skipped_total{reason="error"}}, not each
 * training step. Batches of one sample are fine: the automatic probe collects over batches.
 */
class ProbeOfOneTest {

    private static final int INTERVAL = 10;
    private static final int STEPS = 50;

    @Test
    void aGivenProbeOfOneSampleIsCountedOncePerSnapshotAndSaidOnce() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        try (NDManager m = NDManager.newBaseManager();
                DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL).optBudget(1.0)
                        .optProbe(new NDList(m.randomNormal(new Shape(1, TinyRun.FEATURES))), null)
                        .optRegistry(reg).build()) {
            String checksum;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                checksum = TinyRun.train(STEPS, monitor);
            } finally {
                System.setErr(stderr);
            }
            assertThat(checksum).as("training ran to the end").hasSize(64);
            String log = err.toString(StandardCharsets.UTF_8);
            // the slf4j binding of the tests writes to System.err, a line per warning
            assertThat(log.lines().filter(l -> l.contains("WARN dev.deadwatch"))).as(log).singleElement()
                    .asString().contains("at least 2 samples, got 1");
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count())
                    .as("errors: one per snapshot step (%d steps, interval %d)", STEPS, INTERVAL)
                    .isEqualTo(STEPS / INTERVAL);
            assertThat(monitor.timeline()).isEmpty();
        }
    }

    @Test
    void batchesOfOneSampleMakeAProbeOverSeveralBatches() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL).optBudget(1.0)
                .optOrderEvery(1000).optProbeSize(8).optWaitForReads(true).optRegistry(reg).build()) {
            Training.run(TinyRun::block, new Shape(1, TinyRun.FEATURES), TinyRun.CLASSES, 16, STEPS, 0.01f,
                    b -> { }, monitor);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            assertThat(monitor.timeline()).extracting(TimelineRow::step).containsExactly(10L, 20L, 30L, 40L, 50L);
        }
    }
}
