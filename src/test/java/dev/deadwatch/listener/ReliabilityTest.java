package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.regime.RegimeChange;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor under faults: a diverging model, a soak of snapshots, crashed writes, bad options. */
class ReliabilityTest {

    @TempDir
    Path tmp;

    /** Writes NaN into a parameter (the first LayerNorm's beta) at one step, as a diverging optimizer would: by the next snapshot the step has spread it to every parameter. */
    private static TrainingListener poisonAt(int atStep) {
        return new TrainingListenerAdapter() {
            private int step;

            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                if (++step == atStep) {
                    Pair<String, Parameter> first = trainer.getModel().getBlock().getParameters().get(1);
                    GradMode.off(() -> {
                        first.getValue().getArray().set(new NDIndex(":"), Float.NaN);
                        return null;
                    });
                }
            }
        };
    }

    /**
     * The last step's snapshot can arrive while the worker is busy and be dropped: the final state
     * must still be read at training end. The worker is held on its first read until the training
     * thread has passed its last step (step 10 then waits in the queue of one; 15 and 20 are dropped).
     */
    @Test
    void theLastStepIsReadEvenWhenItsSnapshotWasDroppedAsBusy() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        HoldFirstReadUntil hold = new HoldFirstReadUntil(20);
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1000).optBudget(1.0)
                .optBlockFactory(TinyRun::block).optRegistry(reg).optReadObserver(hold).build()) {
            TinyRun.train(20, monitor, hold);
            monitor.drain();
            // held until step 20 had passed, with one queue slot: step 20's snapshot was dropped
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count())
                    .as("snapshots dropped while the worker was held").isGreaterThanOrEqualTo(2);
            assertThat(monitor.timeline()).extracting(TimelineRow::step).startsWith(5L).endsWith(20L);
        }
    }

    /**
     * A snapshot dropped as busy does not use up the order read due with it: the order read runs
     * every {@code orderEvery} snapshots actually read. The worker is held on its first read until
     * training ends: 5 is read, 10 waits, 15 … 35 are dropped, the final state (35) is read at the
     * end as the third read, with the order read due every third. (Were drops counted, the order
     * read due at 15 and at 30 would be lost with them and the final read would come without one.)
     */
    @Test
    void anOrderReadDueWithADroppedSnapshotStaysDue() throws Exception {
        HoldFirstReadUntil hold = new HoldFirstReadUntil(35);
        List<ReadReport> reports = new ArrayList<>();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(3).optBudget(1.0)
                .optBlockFactory(TinyRun::block).optReadObserver(hold)
                .optOnReport(r -> {
                    synchronized (reports) {
                        reports.add(r);
                    }
                }).build()) {
            TinyRun.train(35, monitor, hold);
            monitor.drain();
        }
        synchronized (reports) {
            assertThat(reports).extracting(ReadReport::step).containsExactly(5L, 10L, 35L);
            assertThat(reports).extracting(ReadReport::orderRead).containsExactly(false, false, true);
        }
    }

    @Test
    void aModelGoingNonFiniteSkipsReadsWithoutSpuriousRegimesAndTrainingGoesOn() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<RegimeChange> changes = new ArrayList<>();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream stderr = System.err;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1).optBudget(1.0)
                .optPersist(1).optRegistry(reg).optOnRegimeChange(changes::add).build()) {
            String checksum;
            System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
            try {
                checksum = TinyRun.train(30, poisonAt(12), monitor);
            } finally {
                System.setErr(stderr);
            }
            assertThat(checksum).as("training ran to the end").hasSize(64);
            // said once, naming the parameter (the slf4j binding of the tests writes to System.err)
            String log = err.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertThat(log.split("is not finite", -1)).as(log).hasSize(2);
            assertThat(log).contains("parameter 01LayerNorm_gamma of the model is not finite at step 15");
            // reads at 5 and 10; from 15 on the parameters are NaN: 15, 20, 25, 30 skipped
            assertThat(monitor.timeline()).extracting(TimelineRow::step).containsExactly(5L, 10L);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "nonfinite").counter().count()).isEqualTo(4.0);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            assertThat(reg.get("deadwatch.snapshots").counter().count()).isEqualTo(6.0);
            assertThat(changes).as("no regime change from the non-finite model").allSatisfy(
                    c -> assertThat(c.step()).isLessThanOrEqualTo(10));
        }
    }

    @Test
    void everyReadOnTheFloat64ReplicaLeavesTrainingBitIdentical() throws Exception {
        String unmonitored = TinyRun.train(40);
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1).optBudget(1.0)
                .optBlockFactory(TinyRun::block).optRegistry(reg).build()) {
            String monitored = TinyRun.train(40, monitor);
            assertThat(monitored).as("final weights with every read, replica path").isEqualTo(unmonitored);
            assertThat(reg.get("deadwatch.read").tag("read", "order").timer().count()).as("order reads done")
                    .isPositive();
            assertThat(reg.get("deadwatch.read").tag("read", "fisher").timer().count()).isPositive();
        }
    }

    private static int liveArrays() {
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    @Test
    void aSoakOfSnapshotsAtEveryStepKeepsNativeMemoryFlatAndCountsEveryDrop() throws Exception {
        // warm-up run, so the engine's own lazily created arrays are part of the baseline
        try (DeadwatchListener warm = DeadwatchListener.builder().optInterval(5).optBlockFactory(TinyRun::block)
                .build()) {
            TinyRun.train(10, warm);
        }
        int baseline = liveArrays();
        long heapBefore = usedHeapAfterGc();
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        // the CI variant; a long soak: mvn -pl src test -Dtest=ReliabilityTest -Ddeadwatch.soak.steps=5000
        int steps = Integer.getInteger("deadwatch.soak.steps", 400);
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1).optOrderEvery(1).optBudget(1.0)
                .optBlockFactory(TinyRun::block).optRegistry(reg).build()) {
            TinyRun.train(steps, monitor);
            double snapshots = reg.get("deadwatch.snapshots").counter().count();
            double busy = reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count();
            // one per step, plus the state at training end taken again if the last step's was dropped
            assertThat(snapshots).as("one snapshot per step").isIn((double) steps, steps + 1.0);
            assertThat(busy).as("the worker cannot keep up at every step: drops are counted").isPositive();
            assertThat(monitor.timeline().size() + busy).as("every snapshot read or counted as dropped")
                    .isEqualTo(snapshots);
        }
        assertThat(liveArrays()).as("native arrays after %d snapshots", steps).isEqualTo(baseline);
        assertThat(usedHeapAfterGc() - heapBefore).as("heap retained after %d snapshots, bytes", steps)
                .isLessThan(HEAP_SLACK_BYTES);
    }

    /**
     * With {@code optWaitForReads} nothing is dropped where the default drops: a snapshot every
     * step outruns the worker (the test above counts the drops), yet every snapshot is read, in
     * order, and the waits are counted as training pauses.
     */
    @Test
    void waitingForReadsReadsEverySnapshotWhereTheDefaultDropsThem() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        int steps = 60;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1).optOrderEvery(1).optBudget(1.0)
                .optWaitForReads(true).optBlockFactory(TinyRun::block).optRegistry(reg).build()) {
            TinyRun.train(steps, monitor);
            monitor.drain();
            assertThat(reg.get("deadwatch.snapshots").counter().count()).isEqualTo(steps);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count()).isZero();
            assertThat(monitor.timeline()).extracting(TimelineRow::step)
                    .isEqualTo(java.util.stream.LongStream.rangeClosed(1, steps).boxed().toList());
        }
    }

    /** Heap growth tolerated across the soak: GC noise, far below what a per-snapshot leak would keep. */
    private static final long HEAP_SLACK_BYTES = 32L << 20;

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void snapshotFilesAreOneFolderPerReadInTheRunsFolderAndOnlyTheLastNAreKept() throws Exception {
        Path dir = tmp.resolve("snapshots");
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optBudget(1.0)
                .optOutputDirectory(dir).optKeepSnapshots(2).optRunId("kept").build()) {
            TinyRun.train(30, monitor);
        }
        try (Stream<Path> files = Files.list(dir.resolve("kept"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly(
                    ".lock", "snapshot-0000000025", "snapshot-0000000030");
        }
        try (Stream<Path> files = Files.list(dir.resolve("kept/snapshot-0000000030"))) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList()).containsExactly(
                    "CHECKSUMS", "inputs.ndlist", "labels.ndlist", "parameters.params", "report.json", "snapshot.json");
        }
        assertThat(Files.readString(dir.resolve("kept/snapshot-0000000030/report.json"))).contains("\"step\": 30");
    }

    @Test
    void everyBuilderOptionRejectsBadValuesNamingThem() {
        Map<String, Consumer<DeadwatchListenerBuilder>> bad = new java.util.LinkedHashMap<>();
        bad.put("interval must be >= 1, got 0", b -> b.optInterval(0));
        bad.put("orderEvery must be >= 1, got -3", b -> b.optOrderEvery(-3));
        bad.put("probeSize must be >= 2, got 1", b -> b.optProbeSize(1));
        bad.put("budget must be in (0,1], got 0.0", b -> b.optBudget(0));
        bad.put("budget must be in (0,1], got 1.5", b -> b.optBudget(1.5));
        bad.put("budget must be in (0,1], got NaN", b -> b.optBudget(Double.NaN));
        bad.put("maxRows must be >= 2, got 1", b -> b.optMaxRows(1));
        bad.put("persist must be >= 1, got 0", b -> b.optPersist(0));
        bad.put("keepSnapshots must be >= 1, got 0", b -> b.optKeepSnapshots(0));
        bad.put("port must be in 0..65535, got 70000", b -> b.optPrometheusEndpoint("127.0.0.1", 70000));
        bad.put("host must not be blank, got ' '", b -> b.optPrometheusEndpoint(" ", 9400));
        bad.put("run id must be 1-64 characters of [A-Za-z0-9_.:-], got 'a b'", b -> b.optRunId("a b"));
        bad.put("factory", b -> b.optBlockFactory(null));
        bad.put("registry", b -> b.optRegistry(null));
        bad.put("dir", b -> b.optOutputDirectory(null));
        bad.forEach((message, option) -> assertThatThrownBy(() -> option.accept(DeadwatchListener.builder()))
                .as(message).hasMessageContaining(message));
    }

    /**
     * Holds the worker on its first read until the training thread has passed step {@code last}
     * (a listener after the monitor, and the monitor's read observer).
     */
    /** The first snapshot's step in the held-worker tests (interval 5). */
    private static final int FIRST_SNAPSHOT = 5;

    private static final class HoldFirstReadUntil extends TrainingListenerAdapter implements ReadSuite.ReadObserver {
        private final int last;
        private final CountDownLatch passed = new CountDownLatch(1);
        private final CountDownLatch started = new CountDownLatch(1);
        private final AtomicBoolean held = new AtomicBoolean();
        private int step;

        HoldFirstReadUntil(int last) {
            this.last = last;
        }

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            if (++step == FIRST_SNAPSHOT + 1) {
                // the monitor (an earlier listener) handed step 5's snapshot over; training goes on
                // only once the worker has taken it from the queue, else step 10 would find the
                // queue still full and be dropped in its place
                boolean inRead;
                try {
                    inRead = started.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    inRead = false;
                }
                assertThat(inRead).as("the worker started the first read").isTrue();
            }
            if (step == last) {
                passed.countDown();
            }
        }

        @Override
        public void beforeRead(String read) throws Exception {
            if (held.compareAndSet(false, true)) {
                started.countDown();
                assertThat(passed.await(60, TimeUnit.SECONDS)).as("training reached step %d", last).isTrue();
            }
        }
    }

    @Test
    void theTimelineKeepsOnlyItsNewestRows() throws Exception {
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1).optOrderEvery(1000).optBudget(1.0)
                .optFisher(false).optTimelineSize(5).optWaitForReads(true).build()) {
            TinyRun.train(12, monitor);
            assertThat(monitor.timeline()).extracting(TimelineRow::step).containsExactly(8L, 9L, 10L, 11L, 12L);
            assertThat(monitor.snapshots()).isEqualTo(12);
        }
        assertThatThrownBy(() -> DeadwatchListener.builder().optTimelineSize(0)).hasMessageContaining("timelineSize");
    }

    @Test
    void aSecondMonitorOfTheSameRunInOneRegistryIsRefusedNotMerged() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        try (DeadwatchListener first = DeadwatchListener.builder().optInterval(5).optBudget(1.0).optRegistry(reg)
                .optRunId("same").build();
                DeadwatchListener second = DeadwatchListener.builder().optInterval(5).optBudget(1.0).optRegistry(reg)
                        .optRunId("same").build()) {
            TinyRun.train(20, first, second);
            // the first counts its own 4 snapshots; the second switched itself off instead of adding its own
            assertThat(reg.get("deadwatch.snapshots").tag("run", "same").counter().count()).isEqualTo(4);
            assertThat(first.timeline()).hasSize(4);
            assertThat(second.timeline()).isEmpty();
            assertThat(second.steps()).isZero();
        }
    }
}
