package dev.deadwatch.examples;

import dev.deadwatch.examples.GrokkingRun.Arm;
import dev.deadwatch.examples.GrokkingRun.Timing;
import dev.deadwatch.examples.PairedRuns.Comparison;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.listener.ThreadPriority;
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
 * (A B, B A, A B, …) after a warm-up of both arms, so drift of the machine and any first-of-pair
 * effect hit both arms alike. Reports the median of the per-pair ratios, and beside it two
 * cost-accounting figures the machine's drift does not move: the time the training thread spends
 * inside the monitor, and the CPU time the monitor adds on other threads (its worker). The runs
 * are {@link GrokkingRun}s; {@link PairedRuns} interleaves and compares them.
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
        Comparison c = PairedRuns.compare(repeats, steps, warmup, arm, System.out);
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

    /** @return the scheduling a read worker under a budget gets on this machine, as a thread of its own found it */
    static String workerScheduling() throws InterruptedException {
        String[] seen = {"unknown (no /proc)"};
        Thread t = new Thread(() -> ThreadPriority.yieldCurrentThread().ifPresent(s -> seen[0] = s.toString()));
        t.start();
        t.join();
        return seen[0];
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
