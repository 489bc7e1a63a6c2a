package dev.deadwatch.examples;

import static dev.deadwatch.examples.PauseMemoryBench.BATCH;
import static dev.deadwatch.examples.PauseMemoryBench.MINILM;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * The memory table of {@code bench --only pauses}: peak RSS of a training with the monitor on a
 * float64 replica against the same training without it, each run in a JVM of its own
 * ({@link RssRun}) so that its peak is that run's alone, with each native {@link Allocator} on the
 * MiniLM-size encoder.
 */
final class ReplicaMemoryBench {

    private final int steps;
    /** The MiniLM-size ratio with glibc, and the lowest of its rows, whichever allocator. */
    private double glibcRatio = Double.NaN;
    private double bestRatio = Double.POSITIVE_INFINITY;

    /** @param steps training steps per run */
    ReplicaMemoryBench(int steps) {
        this.steps = steps;
    }

    /** Appends the table: the small encoder with glibc, the MiniLM-size one with every allocator. */
    void write(StringBuilder md) throws Exception {
        md.append("\n| replica | model | native allocator | float32 parameters (MB) | peak RSS without the monitor (MB)"
                + " | with (MB) | with / without | (with − without) / parameters | a training step without the monitor (s)"
                + " | live NDArrays after the reads, monitor closed | reads |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (MiniEncoder.Size s : List.of(MiniEncoder.Size.SMALL, MINILM)) {
            memory(md, s);
        }
    }

    /** @return the MiniLM-size peak-RSS ratio with glibc (NaN before {@link #write}) */
    double glibcRatio() {
        return glibcRatio;
    }

    /** @return the lowest MiniLM-size peak-RSS ratio of the table, whichever allocator */
    double bestRatio() {
        return bestRatio;
    }

    private void memory(StringBuilder md, MiniEncoder.Size s) throws Exception {
        long params = 0;
        try (Model probeModel = Model.newInstance("size")) {
            probeModel.setBlock(MiniEncoder.build(s));
            try (NDManager m = NDManager.newBaseManager()) {
                probeModel.getBlock().initialize(m, ai.djl.ndarray.types.DataType.FLOAT32, s.inputShape(BATCH));
                params = PauseMemoryBench.parameters(probeModel.getBlock());
            }
        }
        double bytes = 4.0 * params;
        // the small model with glibc only: its peak is mostly the JVM's own
        for (Allocator a : s == MINILM ? List.of(Allocator.values()) : List.of(Allocator.GLIBC)) {
            if (!a.available()) {
                md.append(String.format(Locale.ROOT, "| float64 | %s | %s: not installed (Debian: libjemalloc2) |"
                        + " | | | | | | | |%n", PauseMemoryBench.name(s), a.label()));
                continue;
            }
            Child without = child(s, false, a);
            Child with = child(s, true, a);
            if (without.allocator() != a || with.allocator() != a) {
                throw new IllegalStateException("asked for " + a + ", the runs had " + without.allocator() + " and "
                        + with.allocator());
            }
            double ratio = (double) with.peakRss() / without.peakRss();
            if (s == MINILM && a == Allocator.GLIBC) {
                glibcRatio = ratio;
            }
            if (s == MINILM) {
                bestRatio = Math.min(bestRatio, ratio);
            }
            md.append(String.format(Locale.ROOT, "| float64 | %s | %s | %.1f | %d | %d | **%.2f** | %.2f | %.3f | %+d | %d |%n",
                    PauseMemoryBench.name(s), a.label(), bytes / 1e6, without.peakRss() >> 20, with.peakRss() >> 20, ratio,
                    (with.peakRss() - without.peakRss()) / bytes, without.secondsPerStep(), with.liveArrays(),
                    with.reads()));
        }
    }

    /**
     * One training run in a JVM of its own ({@link RssRun}) with glibc's allocator, so that its
     * peak RSS is that run's alone, not what this process holds from the sections before.
     *
     * @return see {@link #child(MiniEncoder.Size, boolean, Allocator)}
     */
    Child child(MiniEncoder.Size s, boolean monitored) throws IOException, InterruptedException {
        return child(s, monitored, Allocator.GLIBC);
    }

    /** What a child run measured. */
    record Child(long peakRss, int reads, int liveArrays, double secondsPerStep, Allocator allocator) {}

    /**
     * One training run in a JVM of its own ({@link RssRun}) with the given native allocator.
     *
     * @return its peak RSS (bytes), reads, live NDArrays left after the monitor closed, seconds per
     *     step, and the allocator it found itself running with
     */
    Child child(MiniEncoder.Size s, boolean monitored, Allocator allocator) throws IOException, InterruptedException {
        String jvm = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(jvm, "-Dai.djl.offline=true",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                RssRun.class.getName(), s == MINILM ? "minilm" : "small", Boolean.toString(monitored),
                Integer.toString(steps));
        allocator.applyTo(pb.environment());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("the RSS run failed: " + out);
        }
        for (String line : out.split("\n")) {
            if (line.startsWith(RssRun.PREFIX)) {
                String[] f = line.substring(RssRun.PREFIX.length()).trim().split(" ");
                return new Child(Long.parseLong(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                        Double.parseDouble(f[3]), Allocator.valueOf(f[4]));
            }
        }
        throw new IllegalStateException("the RSS run printed no result: " + out);
    }
}
