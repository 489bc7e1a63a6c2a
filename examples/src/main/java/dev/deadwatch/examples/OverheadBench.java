package dev.deadwatch.examples;

import static dev.deadwatch.examples.BenchCommand.stat;

import java.util.List;
import java.util.Locale;

/**
 * The training-overhead section of {@code BENCHMARKS.md} ({@code deadwatch bench}): the
 * measurement of {@code deadwatch overhead} ({@link PairedRuns} of {@link GrokkingRun}s) at the
 * default settings, with the order read every snapshot and on one engine thread, and the
 * examples' engine-thread choice (one thread against two, unmonitored).
 */
final class OverheadBench {

    /** Steps of each arm's warm-up run before the overhead pairs. */
    static final int OVERHEAD_WARMUP = 1000;

    private final int pairs;
    private final int overheadSteps;

    /**
     * @param pairs A/B pairs of the overhead runs
     * @param overheadSteps steps per overhead run
     */
    OverheadBench(int pairs, int overheadSteps) {
        this.pairs = pairs;
        this.overheadSteps = overheadSteps;
    }

    /** Appends the section to {@code md}. */
    void write(StringBuilder md) throws Exception {
        md.append("## Training overhead (grokking example)\n\n");
        md.append(String.format(Locale.ROOT, "`deadwatch overhead`'s measurement: a %d-step warm-up run of each arm, then %d "
                + "interleaved pairs of %d-step runs in alternating order (AB, BA, …); steps/s up to the last step; overhead = "
                + "median of the per-pair ratios `[min..max]`. Beside it, two cost-accounting figures that the machine's "
                + "run-to-run drift does not move: the time the training thread spends inside the monitor's callbacks, and "
                + "the CPU time the monitor adds on other threads (its worker; the other core here), each as a share of an "
                + "unmonitored step. Engine threads: intra-op threads of the training thread (the examples use the engine's "
                + "default, %d here). Reads per run: reads completed in a monitored run. Second half: the same ratio over the "
                + "second half of each run's steps, after the monitor's per-run start-up (building its replica, its first read). "
                + "The read worker's scheduling "
                + "under the default budget on this machine: %s.%n%n", OVERHEAD_WARMUP, pairs, overheadSteps,
                GrokkingRun.Arm.DEFAULTS.threads(), OverheadCommand.workerScheduling()));
        md.append("| setting | engine threads | steps/s without | steps/s with | overhead (wall) | training thread in the monitor "
                + "| monitor CPU on other threads | process CPU per step | reads per run | overhead, second half of each run |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n");
        List<GrokkingRun.Arm> arms = List.of(GrokkingRun.Arm.DEFAULTS, new GrokkingRun.Arm(0, 1, 0, 0),
                new GrokkingRun.Arm(0, 0, 0, 1));
        List<String> names = List.of("**defaults** (interval 50, order every 5th snapshot, budget 5%)",
                "order read every snapshot (worst case)", "defaults, training on one engine thread (the other core left to the monitor)");
        double startup = Double.NaN;
        for (int i = 0; i < arms.size(); i++) {
            GrokkingRun.Arm arm = arms.get(i);
            PairedRuns.Comparison c = PairedRuns.compare(pairs, overheadSteps, OVERHEAD_WARMUP, arm, System.out);
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | **%s** | %s | %s | %s | %s | %s |%n", names.get(i), arm.threads(),
                    stat(c.without().stream().map(GrokkingRun.Timing::stepsPerSecond).toList(), "%.0f", 1),
                    stat(c.with().stream().map(GrokkingRun.Timing::stepsPerSecond).toList(), "%.0f", 1),
                    stat(c.overhead(), "%.1f%%", 100), stat(c.hookShare(), "%.2f%%", 100),
                    stat(c.offThreadShare(), "%.1f%%", 100), stat(c.cpuOverhead(), "%.1f%%", 100),
                    stat(c.reads(), "%.0f", 1), stat(c.steadyOverhead(), "%.1f%%", 100)));
            if (i == 0) {
                startup = c.startupSeconds();
            }
        }
        md.append(String.format(Locale.ROOT, "%nGoal: ≤ 3%% at defaults. One-time start-up of the first monitored run in a JVM "
                + "(replica build, first use of each read; not in the ratios above), as the first monitored warm-up run's "
                + "time beyond the first unmonitored one's: %s.%n%n", startup >= 0 ? String.format(Locale.ROOT, "%.2f s", startup)
                : String.format(Locale.ROOT, "not resolved (%.2f s: the two runs' drift is larger)", startup)));
        // the examples' engine-thread choice, measured the same way: one thread against two, unmonitored
        GrokkingRun.Arm a1 = new GrokkingRun.Arm(0, 0, 0, 1);
        GrokkingRun.Arm a2 = new GrokkingRun.Arm(0, 0, 0, 2);
        PairedRuns.Pairs p = PairedRuns.interleave(pairs, () -> GrokkingRun.run(overheadSteps, false, a1),
                () -> GrokkingRun.run(overheadSteps, false, a2), (i, x, y) -> { });
        List<Double> one = p.a().stream().map(GrokkingRun.Timing::stepsPerSecond).toList();
        List<Double> two = p.b().stream().map(GrokkingRun.Timing::stepsPerSecond).toList();
        List<Double> cpuOne = p.a().stream().map(GrokkingRun.Timing::cpuMillisPerStep).toList();
        List<Double> cpuTwo = p.b().stream().map(GrokkingRun.Timing::cpuMillisPerStep).toList();
        md.append(String.format(Locale.ROOT, "Engine threads, unmonitored, %d interleaved pairs: one thread %s steps/s at %s "
                + "CPU-ms/step, two threads %s steps/s at %s CPU-ms/step.%n%n", pairs, stat(one, "%.0f", 1),
                stat(cpuOne, "%.2f", 1), stat(two, "%.0f", 1), stat(cpuTwo, "%.2f", 1)));
    }
}
