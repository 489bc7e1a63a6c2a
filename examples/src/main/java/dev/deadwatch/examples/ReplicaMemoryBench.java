package dev.deadwatch.examples;

import static dev.deadwatch.examples.PauseMemoryBench.BATCH;
import static dev.deadwatch.examples.PauseMemoryBench.MINILM;

import ai.djl.Model;
import ai.djl.ndarray.NDManager;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The memory table of {@code bench --only pauses}: peak RSS of a training with the monitor, on a
 * float64 replica, on copies of the parameters (the javaagent's default) and on the model itself,
 * against the same training
 * without it, each run in a JVM of its own ({@link RssRun}) so that its peak is that run's alone,
 * with each native {@link Allocator} on the MiniLM-size encoder.
 */
final class ReplicaMemoryBench {

    /** How a run is monitored. */
    enum Arm {
        /** No monitor. */
        NONE,
        /** The monitor with a block factory: reads on a float64 replica. */
        REPLICA,
        /** The monitor without one: reads on copies of the parameters in float32 (the javaagent's default). */
        COPIES,
        /** The monitor without one, reads on the model itself ({@code optReadOnCopies(false)}). */
        MODEL
    }

    private final int steps;
    /** The MiniLM-size ratio with glibc, and the lowest of its rows, whichever allocator. */
    private double glibcRatio = Double.NaN;
    private double glibcNativeRatio = Double.NaN;
    private long[] heaps = {-1, -1};
    private double bestRatio = Double.POSITIVE_INFINITY;

    /** @param steps training steps per run */
    ReplicaMemoryBench(int steps) {
        this.steps = steps;
    }

    /** Appends the table: the small encoder with glibc, the MiniLM-size one with every allocator. */
    void write(StringBuilder md) throws Exception {
        md.append("\n| model | native allocator | float32 parameters (MB) | peak RSS without the monitor (MB)"
                + " | with it on a float64 replica (MB) | with / without | (with − without) / parameters | with it on"
                + " copies, no replica (the javaagent's default) (MB) | with / without | with it on the model itself (MB)"
                + " | with / without | a training step without the monitor (s) | live NDArrays after the reads, monitor"
                + " closed: replica / copies / model | reads: replica / copies / model | Java heap resident at the end:"
                + " without / replica / copies / model (MB) | replica: with / without, the Java heap aside | model's"
                + " parameters not finite at the end: without / replica / copies / model |\n"
                + "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (MiniEncoder.Size s : List.of(MiniEncoder.Size.SMALL, MINILM)) {
            memory(md, s);
        }
        // one run each way scatters by about ±0.05 GB: the goal is judged on the median of paired runs
        List<Double> ratios = new ArrayList<>(List.of(glibcRatio));
        for (int i = 1; i < PAIRS; i++) {
            Child without = child(MINILM, Arm.NONE);
            Child with = child(MINILM, Arm.REPLICA);
            ratios.add((double) with.peakRss() / without.peakRss());
        }
        glibcMedianRatio = BenchCommand.median(ratios);
        md.append(String.format(Locale.ROOT, "%nMiniLM-size, glibc: peak RSS with the float64 replica over peak RSS"
                + " without the monitor in %d paired runs (the table's first, then training alone and with the replica"
                + " by turns, each in a JVM of its own): %s; median **%.2f**.%n", PAIRS, ratios.stream()
                .map(r -> String.format(Locale.ROOT, "%.2f", r)).collect(Collectors.joining(", ")),
                glibcMedianRatio));
    }

    /** Paired runs of the MiniLM-size replica with glibc, the table's included. */
    static final int PAIRS = 3;
    private double glibcMedianRatio = Double.NaN;

    /** @return the median MiniLM-size peak-RSS ratio with glibc over {@link #PAIRS} paired runs (NaN before {@link #write}) */
    double glibcMedianRatio() {
        return glibcMedianRatio;
    }

    /** @return the MiniLM-size peak-RSS ratio with glibc (NaN before {@link #write}) */
    double glibcRatio() {
        return glibcRatio;
    }

    /** @return the MiniLM-size ratio with glibc of the peaks less the Java heap's resident pages (NaN before {@link #write}) */
    double glibcNativeRatio() {
        return glibcNativeRatio;
    }

    /** @return the MiniLM-size Java heap resident at the end with glibc, MB: without the monitor, with the replica */
    long[] heaps() {
        return heaps.clone();
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
                md.append(String.format(Locale.ROOT, "| %s | %s: not installed (Debian: libjemalloc2) |"
                        + " | | | | | | | | | | | | | | |%n", PauseMemoryBench.name(s), a.label()));
                continue;
            }
            Child without = child(s, Arm.NONE, a);
            Child with = child(s, Arm.REPLICA, a);
            Child onCopies = child(s, Arm.COPIES, a);
            Child onModel = child(s, Arm.MODEL, a);
            for (Child c : List.of(without, with, onCopies, onModel)) {
                if (c.allocator() != a) {
                    throw new IllegalStateException("asked for " + a + ", a run had " + c.allocator());
                }
            }
            double ratio = (double) with.peakRss() / without.peakRss();
            double nativeRatio = (double) with.nativePeak() / without.nativePeak();
            if (s == MINILM && a == Allocator.GLIBC) {
                glibcRatio = ratio;
                glibcNativeRatio = nativeRatio;
                heaps = new long[] {without.heapRss() >> 20, with.heapRss() >> 20};
            }
            if (s == MINILM) {
                bestRatio = Math.min(bestRatio, ratio);
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %d | %d | **%.2f** | %.2f | %d | **%.2f** | %d |"
                    + " **%.2f** | %.3f | %+d / %+d / %+d | %d / %d / %d | %d / %d / %d / %d | %.2f | %d / %d / %d / %d |%n",
                    PauseMemoryBench.name(s), a.label(),
                    bytes / 1e6, without.peakRss() >> 20, with.peakRss() >> 20, ratio,
                    (with.peakRss() - without.peakRss()) / bytes, onCopies.peakRss() >> 20,
                    (double) onCopies.peakRss() / without.peakRss(), onModel.peakRss() >> 20,
                    (double) onModel.peakRss() / without.peakRss(), without.secondsPerStep(), with.liveArrays(),
                    onCopies.liveArrays(), onModel.liveArrays(), with.reads(), onCopies.reads(), onModel.reads(),
                    without.heapRss() >> 20, with.heapRss() >> 20, onCopies.heapRss() >> 20, onModel.heapRss() >> 20,
                    nativeRatio, without.nonFinite(), with.nonFinite(), onCopies.nonFinite(), onModel.nonFinite()));
        }
    }

    /**
     * One training run in a JVM of its own ({@link RssRun}) with glibc's allocator, so that its
     * peak RSS is that run's alone, not what this process holds from the sections before.
     *
     * @return see {@link #child(MiniEncoder.Size, Arm, Allocator)}
     */
    Child child(MiniEncoder.Size s, Arm arm) throws IOException, InterruptedException {
        return child(s, arm, Allocator.GLIBC);
    }

    /**
     * What a child run measured.
     *
     * @param heapRss the Java heap's resident bytes at the end of the run (its pages stay resident
     *     once touched: G1 gives none back without a full collection), -1 where unknown
     * @param nonFinite parameters of the trained model holding a NaN or an infinity at the end (a
     *     monitor skips the snapshots of such a model: fewer reads, and less memory held)
     */
    record Child(long peakRss, int reads, int liveArrays, double secondsPerStep, Allocator allocator, long heapRss,
            int nonFinite) {

        /** @return the peak less the Java heap's resident bytes: the native side of the peak, at most */
        long nativePeak() {
            return heapRss < 0 ? peakRss : peakRss - heapRss;
        }
    }

    /** The JVM's exit line giving the Java heap's reserved range (-Xlog:gc+heap+exit). */
    private static final java.util.regex.Pattern HEAP_RANGE =
            java.util.regex.Pattern.compile("garbage-first heap .*\\[0x([0-9a-f]+), 0x([0-9a-f]+)\\)");

    /**
     * @param out a child's output: the JVM's heap range at exit and the child's resident mappings
     * @return the resident bytes of mappings inside the Java heap's range, or -1 when either is missing
     */
    static long heapRss(String out) {
        java.util.regex.Matcher m = HEAP_RANGE.matcher(out);
        if (!m.find()) {
            return -1;
        }
        long lo = Long.parseUnsignedLong(m.group(1), 16);
        long hi = Long.parseUnsignedLong(m.group(2), 16);
        long kb = 0;
        boolean any = false;
        for (String line : out.split("\n")) {
            if (line.startsWith(RssRun.MAP + " ")) {
                String[] f = line.split(" ");
                long start = Long.parseUnsignedLong(f[1], 16);
                long end = Long.parseUnsignedLong(f[2], 16);
                any = true;
                if (start >= lo && end <= hi) {
                    kb += Long.parseLong(f[3]);
                }
            }
        }
        return any ? kb << 10 : -1;
    }

    /**
     * One training run in a JVM of its own ({@link RssRun}) with the given native allocator.
     *
     * @return its peak RSS (bytes), reads, live NDArrays left after the monitor closed, seconds per
     *     step, and the allocator it found itself running with
     */
    Child child(MiniEncoder.Size s, Arm arm, Allocator allocator) throws IOException, InterruptedException {
        String jvm = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(jvm, "-Dai.djl.offline=true", "-Xlog:gc+heap+exit=info",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                RssRun.class.getName(), s == MINILM ? "minilm" : "small", arm.name().toLowerCase(Locale.ROOT),
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
                        Double.parseDouble(f[3]), Allocator.valueOf(f[4]), heapRss(out), Integer.parseInt(f[5]));
            }
        }
        throw new IllegalStateException("the RSS run printed no result: " + out);
    }
}
