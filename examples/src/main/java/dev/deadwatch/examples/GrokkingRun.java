package dev.deadwatch.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListener.BatchData;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * One timed run of the grokking training, with or without the monitor: the unit the overhead
 * measurement of {@code deadwatch overhead} and {@code deadwatch bench} is built from. Records
 * wall time, process and training-thread CPU time and the time spent inside the monitor's batch
 * callback, up to the last step and over the second half of the steps.
 */
final class GrokkingRun {

    private GrokkingRun() {}

    /**
     * One timed run.
     *
     * @param stepsPerSecond steps/s up to the last step
     * @param steadyStepsPerSecond steps/s over the second half of the steps (after the monitor's
     *     per-run start-up: its replica, its first read)
     * @param cpuMillisPerStep process CPU time per step over the same span (every thread)
     * @param offThreadCpuMillisPerStep CPU time per step of every thread but the training thread
     *     (the monitor's worker, the JIT, the GC)
     * @param hookMicrosPerStep time the training thread spent in the monitor's batch callback
     * @param endSeconds seconds spent after the last step (final read, drain)
     * @param totalSeconds the whole run: building the model and trainer, the steps and the end
     * @param snapshots completed reads
     * @param finalInterval the monitor's snapshot interval at the end
     */
    record Timing(double stepsPerSecond, double steadyStepsPerSecond, double cpuMillisPerStep, double offThreadCpuMillisPerStep,
            double hookMicrosPerStep, double endSeconds, double totalSeconds, long snapshots, int finalInterval) {}

    /**
     * The monitored arm's settings.
     *
     * @param interval snapshot interval, 0 for the listener's default
     * @param orderEvery order read every N snapshots, 0 for the default
     * @param budget time budget, 0 for the default
     * @param engineThreads engine threads of the training thread, 0 for the examples' default
     */
    record Arm(int interval, int orderEvery, double budget, int engineThreads) {
        /** The engine's own default, read before any run changes the training thread's count. */
        static final int ENGINE_DEFAULT_THREADS = Math.max(1, dev.deadwatch.capture.GradMode.threadsOfThisThread());

        static final Arm DEFAULTS = new Arm(0, 0, 0, 0);

        /** @return the engine threads both arms train with */
        int threads() {
            return engineThreads > 0 ? engineThreads : ENGINE_DEFAULT_THREADS;
        }
    }

    private static final boolean VERBOSE = Boolean.getBoolean("deadwatch.overhead.verbose");

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /**
     * Times one run of the grokking training, with or without the monitor.
     *
     * @param n steps
     * @param monitored whether the monitor is attached
     * @param arm the monitor's settings and the engine threads (used by both arms)
     */
    static Timing run(int n, boolean monitored, Arm arm) throws Exception {
        long start = System.nanoTime();
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optBlockFactory(Grokking::model)
                .optRegistry(registry);
        if (arm.interval() > 0) {
            b.optInterval(arm.interval());
        }
        if (arm.orderEvery() > 0) {
            b.optOrderEvery(arm.orderEvery());
        }
        if (arm.budget() > 0) {
            b.optBudget(arm.budget());
        }
        DeadwatchListener monitor = monitored ? b.build() : null;
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long[] last = new long[3]; // at the last step: wall, process CPU, training-thread CPU
        long[] half = new long[2]; // steps seen; wall time when half of them had passed
        long[] hook = new long[2]; // start of the monitor's batch callback; time inside it, summed
        TrainingListener before = new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                hook[0] = System.nanoTime(); // just before the monitor's batch work
            }
        };
        TrainingListener clock = new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                last[0] = System.nanoTime(); // after every other listener's batch work
                if (++half[0] == n / 2) {
                    half[1] = last[0];
                }
                hook[1] += last[0] - hook[0];
                last[1] = processCpuNanos();
                last[2] = threads.getCurrentThreadCpuTime();
            }
        };
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("grokking")) {
            m.getEngine().setRandomSeed(42);
            Grokking.Split split = Grokking.split(m, 42);
            model.setBlock(Grokking.model());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(Grokking.LEARNING_RATE))
                            .optBeta2(0.98f).optWeightDecays(Grokking.WEIGHT_DECAY).build());
            cfg.addTrainingListeners(before);
            if (monitor != null) {
                cfg.addTrainingListeners(monitor);
            }
            cfg.addTrainingListeners(clock);
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(Grokking.inputShape(split.trainSize()));
                long t0 = System.nanoTime();
                long cpu0 = processCpuNanos();
                long own0 = threads.getCurrentThreadCpuTime();
                TrainingLoop.run(trainer, split.train(), split.validation(), n, 25, arm.threads());
                long t1 = System.nanoTime();
                if (monitor != null && VERBOSE) {
                    registry.getMeters().stream().filter(x -> x instanceof Timer).map(x -> (Timer) x)
                            .forEach(x -> System.out.printf(Locale.ROOT, "  %s %s: n=%d total %.3f s max %.3f s%n",
                                    x.getId().getName(), x.getId().getTag("read"), x.count(),
                                    x.totalTime(TimeUnit.SECONDS), x.max(TimeUnit.SECONDS)));
                }
                double cpu = (last[1] - cpu0) / 1e6 / n;
                double own = (last[2] - own0) / 1e6 / n;
                return new Timing(n / ((last[0] - t0) / 1e9), (n - n / 2) / ((last[0] - half[1]) / 1e9), cpu, cpu - own, hook[1] / 1e3 / n,
                        (t1 - last[0]) / 1e9, (t1 - start) / 1e9,
                        monitor == null ? 0 : monitor.timeline().size(), monitor == null ? 0 : monitor.interval());
            }
        } finally {
            if (monitor != null) {
                monitor.close();
            }
        }
    }
}
