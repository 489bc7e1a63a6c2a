package dev.deadwatch.examples;

import dev.deadwatch.listener.DeadwatchListenerBuilder;
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
import dev.deadwatch.listener.ThreadPriority;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code deadwatch overhead}: training throughput of the grokking example with and without the
 * monitor at its default settings, measured as interleaved runs in one JVM in alternating order
 * (A B, B A, A B, …) after a warm-up of both arms, so drift of the machine and any first-of-pair
 * effect hit both arms alike. Reports the median of the per-pair ratios, and beside it two
 * cost-accounting figures the machine's drift does not move: the time the training thread spends
 * inside the monitor, and the CPU time the monitor adds on other threads (its worker).
 */
@Command(name = "overhead", mixinStandardHelpOptions = true,
        description = "Measure the monitor's training overhead on the grokking example (interleaved A/B).")
public final class OverheadCommand implements Callable<Integer> {


    @Option(names = "--steps", defaultValue = "2000", description = "Steps per run (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--repeats", defaultValue = "6", description = "A/B pairs (default: ${DEFAULT-VALUE}).")
    private int repeats;

    @Option(names = "--warmup", defaultValue = "1000",
            description = "Untimed steps of each arm first (default: ${DEFAULT-VALUE}).")
    private int warmup;

    @Option(names = "--interval", defaultValue = "0",
            description = "Snapshot interval of the monitored arm (default: the listener's default).")
    private int interval;

    @Option(names = "--order-every", defaultValue = "0",
            description = "Order read every N snapshots in the monitored arm (default: the listener's default; 1 is the worst case).")
    private int orderEvery;

    @Option(names = "--budget", defaultValue = "0",
            description = "Time budget of the monitored arm, in (0,1] (default: the listener's default).")
    private double budget;

    @Option(names = "--engine-threads", defaultValue = "0",
            description = "Engine (intra-op) threads of the training thread in both arms (default: the engine's,"
                    + " one per core unless -Dai.djl.pytorch.num_threads=N).")
    private int engineThreads;

    @Spec
    private CommandSpec spec;

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

    /**
     * The pairs of one comparison and the warm-up that came before them.
     *
     * @param without unmonitored runs, one per pair
     * @param with monitored runs, same order
     * @param warmupWithout the unmonitored warm-up run
     * @param warmupWith the monitored warm-up run (the first monitored run in the JVM)
     */
    record Comparison(List<Timing> without, List<Timing> with, Timing warmupWithout, Timing warmupWith) {

        /** @return per pair, steps/s without over steps/s with, minus 1 */
        List<Double> overhead() {
            return pairwise(t -> 1 / t.stepsPerSecond());
        }

        /** @return per pair, the same over the second half of each run's steps */
        List<Double> steadyOverhead() {
            return pairwise(t -> 1 / t.steadyStepsPerSecond());
        }

        /** @return per pair, process CPU per step with over without, minus 1 */
        List<Double> cpuOverhead() {
            return pairwise(Timing::cpuMillisPerStep);
        }

        /** @return per pair, training-thread time in the monitor as a share of an unmonitored step */
        List<Double> hookShare() {
            return share(t -> t.hookMicrosPerStep() / 1e3);
        }

        /** @return per pair, the CPU time the monitor adds on other threads, per unmonitored step */
        List<Double> offThreadShare() {
            return share(Timing::offThreadCpuMillisPerStep);
        }

        /** @return per monitored run, the reads it completed */
        List<Double> reads() {
            return with.stream().map(t -> (double) t.snapshots()).toList();
        }

        /** @return seconds the first monitored run took beyond the first unmonitored one */
        double startupSeconds() {
            return warmupWith.totalSeconds() - warmupWithout.totalSeconds();
        }

        private List<Double> pairwise(ToDoubleFunction<Timing> f) {
            List<Double> out = new ArrayList<>();
            for (int i = 0; i < with.size(); i++) {
                out.add(f.applyAsDouble(with.get(i)) / f.applyAsDouble(without.get(i)) - 1);
            }
            return out;
        }

        private List<Double> share(ToDoubleFunction<Timing> millisPerStep) {
            List<Double> out = new ArrayList<>();
            for (int i = 0; i < with.size(); i++) {
                double step = 1e3 / without.get(i).stepsPerSecond();
                out.add((millisPerStep.applyAsDouble(with.get(i)) - millisPerStep.applyAsDouble(without.get(i))) / step);
            }
            return out;
        }
    }

    @Override
    public Integer call() throws Exception {
        if (budget != 0) {
            DeadwatchListener.builder().optBudget(budget); // validated here, naming a bad value
        }
        if (steps < 100 || repeats < 1 || warmup < 0 || interval < 0 || orderEvery < 0 || engineThreads < 0) {
            throw new ParameterException(spec.commandLine(), "need --steps >= 100, --repeats >= 1, --warmup >= 0,"
                    + " --interval >= 0, --order-every >= 0, --engine-threads >= 0; got " + steps + ", " + repeats + ", "
                    + warmup + ", " + interval + ", " + orderEvery + ", " + engineThreads);
        }
        Arm arm = new Arm(interval, orderEvery, budget, engineThreads);
        Comparison c = compare(repeats, steps, warmup, arm, System.out);
        System.out.printf(Locale.ROOT, "median steps/s: without %s, with %s%n",
                stat(c.without().stream().map(Timing::stepsPerSecond).toList(), "%.1f", 1),
                stat(c.with().stream().map(Timing::stepsPerSecond).toList(), "%.1f", 1));
        System.out.printf(Locale.ROOT, "overhead (median of per-pair ratios of steps/s): %s%n",
                stat(c.overhead(), "%.1f%%", 100));
        System.out.printf(Locale.ROOT, "overhead over the second half of each run (steady state): %s%n",
                stat(c.steadyOverhead(), "%.1f%%", 100));
        System.out.printf(Locale.ROOT, "CPU overhead (median of per-pair ratios of process CPU per step): %s%n",
                stat(c.cpuOverhead(), "%.1f%%", 100));
        System.out.printf(Locale.ROOT, "training thread inside the monitor: %s of a step; monitor's CPU on other"
                + " threads: %s of a step%n", stat(c.hookShare(), "%.2f%%", 100), stat(c.offThreadShare(), "%.1f%%", 100));
        System.out.printf(Locale.ROOT, "reads completed per monitored run: %s (read worker: %s)%n",
                stat(c.reads(), "%.0f", 1), workerScheduling());
        System.out.printf(Locale.ROOT, "one-time start-up of the first monitored run: %.2f s%n", c.startupSeconds());
        return 0;
    }

    /**
     * Runs a warm-up of each arm, then {@code pairs} interleaved pairs in alternating order.
     *
     * @param pairs A/B pairs
     * @param steps steps per run
     * @param warmup steps of each arm's warm-up run
     * @param arm the monitored arm's settings
     * @param log where each pair is printed, or {@code null}
     * @return the runs
     */
    static Comparison compare(int pairs, int steps, int warmup, Arm arm, PrintStream log) throws Exception {
        Timing warmA = run(Math.max(warmup, 1), false, arm);
        Timing warmB = run(Math.max(warmup, 1), true, arm);
        Pairs p = interleave(pairs, () -> run(steps, false, arm), () -> run(steps, true, arm), (i, a, b) -> {
            if (log != null) {
                log.printf(Locale.ROOT, "pair %d: without %.1f steps/s (%.3f cpu-ms/step), with %.1f steps/s"
                        + " (%.3f cpu-ms/step; %d reads, interval at end %d, final read + drain %.2f s;"
                        + " in the monitor's batch callback %.1f us/step)%n", i + 1,
                        a.stepsPerSecond(), a.cpuMillisPerStep(), b.stepsPerSecond(), b.cpuMillisPerStep(),
                        b.snapshots(), b.finalInterval(), b.endSeconds(), b.hookMicrosPerStep());
            }
        });
        return new Comparison(p.a(), p.b(), warmA, warmB);
    }

    /** One timed run of an arm. */
    @FunctionalInterface
    interface Runner {
        /** @return the run's timing */
        Timing run() throws Exception;
    }

    /** Told of each pair as it completes. */
    @FunctionalInterface
    interface PairLog {
        /**
         * @param index the pair, from 0
         * @param a arm A's run
         * @param b arm B's run
         */
        void pair(int index, Timing a, Timing b);
    }

    /**
     * The runs of two arms, pair by pair.
     *
     * @param a arm A's runs
     * @param b arm B's runs, same order
     */
    record Pairs(List<Timing> a, List<Timing> b) {}

    /**
     * Runs two arms as interleaved pairs in alternating order (AB, BA, AB, …).
     *
     * @param pairs how many pairs
     * @param a arm A
     * @param b arm B
     * @param log told of each pair
     * @return both arms' runs
     */
    static Pairs interleave(int pairs, Runner a, Runner b, PairLog log) throws Exception {
        List<Timing> as = new ArrayList<>();
        List<Timing> bs = new ArrayList<>();
        for (int i = 0; i < pairs; i++) {
            // alternate which arm runs first: the first run of a pair measured systematically
            // slower here, which an always-A-first order would book against arm B
            Timing ta;
            Timing tb;
            if (i % 2 == 0) {
                ta = a.run();
                tb = b.run();
            } else {
                tb = b.run();
                ta = a.run();
            }
            as.add(ta);
            bs.add(tb);
            log.pair(i, ta, tb);
        }
        return new Pairs(as, bs);
    }

    private static final boolean VERBOSE = Boolean.getBoolean("deadwatch.overhead.verbose");

    /** @return the scheduling a read worker under a budget gets on this machine, as a thread of its own found it */
    static String workerScheduling() throws InterruptedException {
        String[] seen = {"unknown (no /proc)"};
        Thread t = new Thread(() -> ThreadPriority.yieldCurrentThread().ifPresent(s -> seen[0] = s.toString()));
        t.start();
        t.join();
        return seen[0];
    }

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

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }

    /** @return "median [min..max]" of {@code v} times {@code scale}, each formatted with {@code fmt} */
    static String stat(List<Double> v, String fmt, double scale) {
        double lo = v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        double hi = v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return String.format(Locale.ROOT, fmt + " [" + fmt + ".." + fmt + "]", median(v) * scale, lo * scale, hi * scale);
    }
}
