package dev.deadwatch.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.listener.TrainingListener.BatchData;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.cli.CommandProvider;
import dev.deadwatch.listener.DeadwatchListener;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.concurrent.TimeUnit;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code deadwatch overhead}: training throughput of the grokking example with and without the
 * monitor at its default settings, measured as interleaved runs in one JVM in alternating order
 * (A B, B A, A B, …), so drift of the machine and any first-of-pair effect hit both arms alike. Reports the median steps/s of each arm and their
 * ratio.
 */
@Command(name = "overhead", mixinStandardHelpOptions = true,
        description = "Measure the monitor's training overhead on the grokking example (interleaved A/B).")
public final class OverheadCommand implements Callable<Integer> {

    /** Registers {@code overhead} with the CLI. */
    public static final class Provider implements CommandProvider {
        @Override
        public Object command() {
            return new OverheadCommand();
        }
    }

    @Option(names = "--steps", defaultValue = "1000", description = "Steps per run (default: ${DEFAULT-VALUE}).")
    private int steps;

    @Option(names = "--repeats", defaultValue = "3", description = "A/B pairs (default: ${DEFAULT-VALUE}).")
    private int repeats;

    @Option(names = "--warmup", defaultValue = "200", description = "Untimed steps first (default: ${DEFAULT-VALUE}).")
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

    @Spec
    private CommandSpec spec;

    /**
     * One timed run: steps/s up to the last step, the process CPU time per step over the same span
     * (every thread, the monitor's worker included; unlike wall time it does not count time the
     * machine gave to other tenants), and the seconds spent after the last step (final read, drain).
     */
    record Timing(double stepsPerSecond, double cpuMillisPerStep, double endSeconds, long snapshots,
            int finalInterval) {}

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    @Override
    public Integer call() throws Exception {
        if (budget != 0) {
            DeadwatchListener.builder().optBudget(budget); // validated here, naming a bad value
        }
        if (steps < 100 || repeats < 1 || warmup < 0 || interval < 0 || orderEvery < 0) {
            throw new ParameterException(spec.commandLine(), "need --steps >= 100, --repeats >= 1, --warmup >= 0,"
                    + " --interval >= 0, --order-every >= 0; got " + steps + ", " + repeats + ", " + warmup + ", "
                    + interval + ", " + orderEvery);
        }
        run(warmup, false, 0, 0, 0);
        List<Double> without = new ArrayList<>();
        List<Double> with = new ArrayList<>();
        List<Double> ratio = new ArrayList<>();
        List<Double> end = new ArrayList<>();
        List<Double> cpuRatio = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            // alternate which arm runs first (AB, BA, AB, ...): the first run of a pair measured
            // systematically slower here, which an always-A-first order would book as overhead
            Timing a;
            Timing b;
            if (i % 2 == 0) {
                a = run(steps, false, 0, 0, 0);
                b = run(steps, true, interval, orderEvery, budget);
            } else {
                b = run(steps, true, interval, orderEvery, budget);
                a = run(steps, false, 0, 0, 0);
            }
            without.add(a.stepsPerSecond());
            with.add(b.stepsPerSecond());
            ratio.add(a.stepsPerSecond() / b.stepsPerSecond() - 1);
            cpuRatio.add(b.cpuMillisPerStep() / a.cpuMillisPerStep() - 1);
            end.add(b.endSeconds());
            System.out.printf(Locale.ROOT, "pair %d: without %.1f steps/s (%.3f cpu-ms/step), with %.1f steps/s"
                    + " (%.3f cpu-ms/step; %d reads, interval at end %d, final read + drain %.2f s)%n", i + 1,
                    a.stepsPerSecond(), a.cpuMillisPerStep(), b.stepsPerSecond(), b.cpuMillisPerStep(), b.snapshots(),
                    b.finalInterval(), b.endSeconds());
        }
        System.out.printf(Locale.ROOT, "median steps/s: without %.2f [%.2f..%.2f], with %.2f [%.2f..%.2f]%n",
                median(without), min(without), max(without), median(with), min(with), max(with));
        System.out.printf(Locale.ROOT, "overhead (median of per-pair ratios): %.1f%% [%.1f%%..%.1f%%]; "
                + "after the last step: %.2f s [%.2f..%.2f]%n", 100 * median(ratio), 100 * min(ratio),
                100 * max(ratio), median(end), min(end), max(end));
        System.out.printf(Locale.ROOT, "CPU overhead (median of per-pair ratios of CPU time per step): %.1f%% [%.1f%%..%.1f%%]%n",
                100 * median(cpuRatio), 100 * min(cpuRatio), 100 * max(cpuRatio));
        return 0;
    }

    private static final boolean VERBOSE = Boolean.getBoolean("deadwatch.overhead.verbose");

    /**
     * Times one run of the grokking training, with or without the monitor.
     *
     * @param interval snapshot interval, 0 for the default
     * @param orderEvery order read every N snapshots, 0 for the default
     * @param budget time budget, 0 for the default
     */
    static Timing run(int n, boolean monitored, int interval, int orderEvery, double budget) throws Exception {
        if (n == 0) {
            return new Timing(0, 0, 0, 0, 0);
        }
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        DeadwatchListener.Builder b = DeadwatchListener.builder().optBlockFactory(Grokking::model)
                .optRegistry(registry);
        if (interval > 0) {
            b.optInterval(interval);
        }
        if (orderEvery > 0) {
            b.optOrderEvery(orderEvery);
        }
        if (budget > 0) {
            b.optBudget(budget);
        }
        DeadwatchListener monitor = monitored ? b.build() : null;
        long[] lastStep = new long[2];
        TrainingListener clock = new TrainingListenerAdapter() {
            @Override
            public void onTrainingBatch(Trainer trainer, BatchData batchData) {
                lastStep[0] = System.nanoTime(); // after every other listener's batch work
                lastStep[1] = processCpuNanos();
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
            if (monitor != null) {
                cfg.addTrainingListeners(monitor);
            }
            cfg.addTrainingListeners(clock);
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(Grokking.inputShape(split.trainSize()));
                long t0 = System.nanoTime();
                long cpu0 = processCpuNanos();
                TrainingLoop.run(trainer, split.train(), split.validation(), n, 25);
                long t1 = System.nanoTime();
                if (monitor != null && VERBOSE) {
                    registry.getMeters().stream().filter(x -> x instanceof Timer).map(x -> (Timer) x)
                            .forEach(x -> System.out.printf(Locale.ROOT, "  %s %s: n=%d total %.3f s max %.3f s%n",
                                    x.getId().getName(), x.getId().getTag("read"), x.count(),
                                    x.totalTime(TimeUnit.SECONDS), x.max(TimeUnit.SECONDS)));
                }
                return new Timing(n / ((lastStep[0] - t0) / 1e9), (lastStep[1] - cpu0) / 1e6 / n, (t1 - lastStep[0]) / 1e9,
                        monitor == null ? 0 : monitor.timeline().size(), monitor == null ? 0 : monitor.interval());
            }
        } finally {
            if (monitor != null) {
                monitor.close();
            }
        }
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : 0.5 * (a[a.length / 2 - 1] + a[a.length / 2]);
    }

    private static double min(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    private static double max(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

}
