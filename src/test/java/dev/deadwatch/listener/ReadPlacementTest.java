package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deadwatch.capture.GradMode;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.Side;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Where each read runs. With a block factory the training thread only copies the parameters:
 * every read, the Fisher side's forward and backward pass included, runs on the worker on the
 * float64 replica (while the trainer may hold DJL's process-wide gradient collector). Without
 * one the same holds on copies of the parameters (the default); read on the model itself, the
 * part of every read that needs the model runs on the training thread between steps, and the rest
 * (matrices, eigendecompositions) on the worker (issue 14). Under a budget the worker yields
 * its core to training (SCHED_IDLE); with the budget off it runs at ordinary priority.
 */
class ReadPlacementTest {

    private static final int STEPS = 20;
    private static final int INTERVAL = 5;
    private static final String WORKER = "deadwatch-reads";

    @Test
    void withABlockFactoryEveryReadRunsOnTheWorker() throws Exception {
        assertAllOnTheWorker(threadsOfEachRead(Where.REPLICA));
    }

    @Test
    void withoutOneOnCopiesEveryReadRunsOnTheWorkerToo() throws Exception {
        assertAllOnTheWorker(threadsOfEachRead(Where.COPIES));
    }

    private static void assertAllOnTheWorker(Placement p) {
        assertThat(p.captures()).containsOnlyKeys("layernorm", "dds", "fisher", "order");
        p.captures().forEach((read, names) -> assertThat(names).as(read).containsExactly(WORKER));
        assertThat(p.rests()).containsOnlyKeys("layernorm", "dds", "fisher");
        p.rests().forEach((read, names) -> assertThat(names).as(read).containsExactly(WORKER));
    }

    /**
     * The training thread runs the captures and the order read; the eigendecompositions are in
     * the rests, which run on the worker only.
     */
    @Test
    void onTheModelTheTrainingThreadCapturesAndTheWorkerRunsTheRest() throws Exception {
        String training = Thread.currentThread().getName();
        Placement p = threadsOfEachRead(Where.MODEL);
        assertThat(p.captures()).containsOnlyKeys("layernorm", "dds", "fisher", "order");
        p.captures().forEach((read, names) -> assertThat(names).as(read).containsExactly(training));
        assertThat(p.rests()).containsOnlyKeys("layernorm", "dds", "fisher");
        p.rests().forEach((read, names) -> assertThat(names).as(read).containsExactly(WORKER));
    }

    @Test
    void underABudgetTheWorkerRunsInSchedIdleWithoutOneAtOrdinaryPriority() throws Exception {
        assumeTrue(ThreadPriority.current().isPresent(), "Linux /proc");
        assertThat(workerScheduling(0.05)).as("budget 5%").isNotEmpty()
                .allSatisfy(s -> assertThat(s.policy()).isEqualTo(ThreadPriority.SCHED_IDLE));
        assertThat(workerScheduling(1.0)).as("budget off").isNotEmpty()
                .allSatisfy(s -> assertThat(s.policy()).isEqualTo(ThreadPriority.SCHED_OTHER))
                .allSatisfy(s -> assertThat(s.nice()).isEqualTo(ThreadPriority.current().get().nice()));
    }

    /**
     * Whether training leaves the worker a core is read from the training thread's engine threads:
     * with as many as there are cores, the worker's CPU time counts twice against the budget.
     */
    @Test
    void theWorkersCpuCountsTwiceWhenTrainingTakesEveryCore() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        int before = GradMode.threadsOfThisThread();
        try {
            assertThat(workerChargeTrainingOn(cores)).isEqualTo(ReadWorker.CONTENDED_CHARGE);
            if (cores > 1) {
                assertThat(workerChargeTrainingOn(cores - 1)).isEqualTo(1.0);
            }
        } finally {
            GradMode.threadsOnThisThread(before);
        }
    }

    private static double workerChargeTrainingOn(int engineThreads) throws Exception {
        GradMode.threadsOnThisThread(engineThreads);
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL)
                .optBlockFactory(TinyRun::block).build()) {
            TinyRun.train(INTERVAL, monitor);
            monitor.drain();
            return monitor.workerCharge();
        }
    }

    /** @return the worker's scheduling as each read saw it */
    private static Set<ThreadPriority.Scheduling> workerScheduling(double budget) throws Exception {
        Set<ThreadPriority.Scheduling> seen = new LinkedHashSet<>();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL).optBudget(budget)
                .optBlockFactory(TinyRun::block)
                .optReadObserver(read -> {
                    synchronized (seen) {
                        seen.add(ThreadPriority.current().orElseThrow());
                    }
                }).build()) {
            TinyRun.train(STEPS, monitor);
            monitor.drain();
        }
        synchronized (seen) {
            return seen;
        }
    }

    /** The threads each read's capture (or whole read) and rest ran on. */
    private record Placement(Map<String, Set<String>> captures, Map<String, Set<String>> rests) {}

    /** Where the reads run. */
    private enum Where { REPLICA, COPIES, MODEL }

    private static Placement threadsOfEachRead(Where where) throws Exception {
        Map<String, Set<String>> captures = new LinkedHashMap<>();
        Map<String, Set<String>> rests = new LinkedHashMap<>();
        List<ReadReport> reports = new ArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(INTERVAL).optOrderEvery(1)
                .optBudget(1.0).optOnReport(r -> {
                    synchronized (reports) {
                        reports.add(r);
                    }
                })
                .optReadObserver(new ReadSuite.ReadObserver() {
                    @Override
                    public void beforeRead(String read) {
                        record(captures, read);
                    }

                    @Override
                    public void beforeRest(String read) {
                        record(rests, read);
                    }
                });
        if (where == Where.REPLICA) {
            b.optBlockFactory(TinyRun::block);
        }
        b.optReadOnCopies(where == Where.COPIES);
        try (DeadwatchListener monitor = b.build()) {
            TinyRun.train(STEPS, monitor);
            monitor.drain();
        }
        synchronized (reports) {
            // a snapshot arriving while the worker is busy is dropped, never queued
            assertThat(reports).as("reads completed").isNotEmpty().hasSizeLessThanOrEqualTo(STEPS / INTERVAL);
            for (ReadReport r : reports) {
                List<DdsResult> fisher = r.dds().stream().filter(d -> d.side() == Side.FISHER).toList();
                assertThat(fisher).as("Fisher side of both Linear layers at step %d", r.step()).hasSize(2)
                        .allSatisfy(d -> assertThat(d.dimension()).isEqualTo(64));
            }
        }
        synchronized (captures) {
            return new Placement(Map.copyOf(captures), Map.copyOf(rests));
        }
    }

    private static void record(Map<String, Set<String>> threads, String read) {
        synchronized (threads) {
            threads.computeIfAbsent(read, k -> new LinkedHashSet<>()).add(Thread.currentThread().getName());
        }
    }
}
