package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An exception injected into each read, on each path (float32 on the training thread, float64
 * replica on the worker): training ends with the same weights as an unmonitored run, and every
 * failed snapshot is counted as {@code error}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultInjectionTest {

    private static final int STEPS = 30;
    private static final int INTERVAL = 5;
    private String unmonitored;

    @BeforeAll
    void trainWithoutMonitor() throws Exception {
        unmonitored = TinyRun.train(STEPS);
    }

    static Stream<Arguments> faults() {
        List<Arguments> out = new ArrayList<>();
        for (String read : List.of("layernorm", "dds", "fisher", "order")) {
            out.add(Arguments.of(read, false));
            out.add(Arguments.of(read, true));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} fails, replica {1}")
    @MethodSource("faults")
    void aFailingReadLeavesTrainingUnchangedAndIsCounted(String failing, boolean replica) throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<String> started = new ArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(INTERVAL).optOrderEvery(1).optBudget(1.0).optWaitForReads(true)
                .optRegistry(reg).optReadObserver(read -> {
                    synchronized (started) {
                        started.add(read);
                    }
                    if (read.equals(failing)) {
                        throw new IllegalStateException(read + " failure injected by the test");
                    }
                });
        if (replica) {
            b.optBlockFactory(TinyRun::block);
        }
        try (DeadwatchListener monitor = b.build()) {
            String monitored = TinyRun.train(STEPS, monitor);
            monitor.drain();
            assertThat(monitored).as("final weights with %s failing", failing).isEqualTo(unmonitored);
            double errors = reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count();
            double busy = reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count();
            double snapshots = reg.get("deadwatch.snapshots").counter().count();
            if (replica) { // a snapshot may be dropped while the worker is busy; the last step is then taken again
                assertThat(snapshots).isIn((double) STEPS / INTERVAL, STEPS / INTERVAL + 1.0);
            } else {
                assertThat(snapshots).isEqualTo(STEPS / INTERVAL);
                assertThat(busy).isZero();
            }
            assertThat(errors + busy).as("every snapshot failed or was dropped").isEqualTo(snapshots);
            assertThat(errors).as("failed snapshots").isGreaterThanOrEqualTo(STEPS / INTERVAL / 2.0);
            assertThat(monitor.timeline()).as("no read completed").isEmpty();
            synchronized (started) {
                assertThat(started).as("the failing read was reached at every snapshot that was read")
                        .filteredOn(failing::equals).hasSize((int) errors);
            }
        }
    }
}
