package dev.deadwatch.examples;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.cli.CommandProvider;
import dev.deadwatch.listener.DeadwatchListener;
import java.util.ArrayList;
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
 * monitor at its default settings, measured as interleaved A/B runs in one JVM (A, B, A, B…), so
 * drift of the machine hits both arms alike. Reports the median steps/s of each arm and their
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

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (steps < 100 || repeats < 1 || warmup < 0) {
            throw new ParameterException(spec.commandLine(), "need --steps >= 100, --repeats >= 1, --warmup >= 0; got "
                    + steps + ", " + repeats + ", " + warmup);
        }
        run(warmup, false, 0);
        List<Double> without = new ArrayList<>();
        List<Double> with = new ArrayList<>();
        for (int i = 0; i < repeats; i++) {
            without.add(run(steps, false, 0));
            with.add(run(steps, true, interval));
            System.out.printf(Locale.ROOT, "pair %d: without %.1f steps/s, with %.1f steps/s%n", i + 1,
                    without.get(i), with.get(i));
        }
        double a = median(without);
        double b = median(with);
        System.out.printf(Locale.ROOT, "median steps/s: without %.2f [%.2f..%.2f], with %.2f [%.2f..%.2f]; "
                + "overhead %.1f%%%n", a, min(without), max(without), b, min(with), max(with), 100 * (a / b - 1));
        return 0;
    }

    /** @return steps per second of one run of the grokking training */
    static double run(int n, boolean monitored, int interval) throws Exception {
        if (n == 0) {
            return 0;
        }
        DeadwatchListener.Builder b = DeadwatchListener.builder().optBlockFactory(Grokking::model);
        if (interval > 0) {
            b.optInterval(interval);
        }
        DeadwatchListener monitor = monitored ? b.build() : null;
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
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(Grokking.inputShape(split.trainSize()));
                long t0 = System.nanoTime();
                TrainingLoop.run(trainer, split.train(), split.validation(), n, 25);
                return n / ((System.nanoTime() - t0) / 1e9);
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
