package dev.deadwatch.examples;

import dev.deadwatch.examples.GrokkingRun.Arm;
import dev.deadwatch.examples.GrokkingRun.Timing;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The run-pair harness of the overhead measurement: runs two arms as interleaved pairs in
 * alternating order (A B, B A, A B, …) after a warm-up of each, so drift of the machine and any
 * first-of-pair effect hit both arms alike, and compares the monitored arm with the unmonitored
 * one pair by pair ({@link Comparison}).
 */
final class PairedRuns {

    private PairedRuns() {}

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
        Timing warmA = GrokkingRun.run(Math.max(warmup, 1), false, arm);
        Timing warmB = GrokkingRun.run(Math.max(warmup, 1), true, arm);
        Pairs p = interleave(pairs, () -> GrokkingRun.run(steps, false, arm), () -> GrokkingRun.run(steps, true, arm), (i, a, b) -> {
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
}
