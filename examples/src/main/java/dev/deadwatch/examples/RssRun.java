package dev.deadwatch.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The child JVM of {@link ReplicaMemoryBench}'s runs: trains the encoder without the monitor, or
 * with it on a float64 replica, on copies of the parameters, or on the model itself, then prints {@code PREFIX peakRssBytes reads liveArrays
 * secondsPerStep allocator nonFinite} (the wall time of the training loop over its steps, reads waited for
 * included; the {@link Allocator} it found itself running with; how many of the model's parameters
 * ended with a value not finite), then its resident mappings
 * ({@link #printMappings()}).
 * Arguments: {@code small|minilm}, {@code none|replica|copies|model} ({@link ReplicaMemoryBench.Arm}), steps.
 */
public final class RssRun {

    /** What the result line starts with. */
    static final String PREFIX = "deadwatch-rss";

    private RssRun() {}

    /**
     * @param args size, arm, steps
     * @throws Exception when the run fails
     */
    public static void main(String[] args) throws Exception {
        MiniEncoder.Size s = "minilm".equals(args[0]) ? PauseMemoryBench.MINILM : MiniEncoder.Size.SMALL;
        ReplicaMemoryBench.Arm arm = ReplicaMemoryBench.Arm.valueOf(args[1].toUpperCase(java.util.Locale.ROOT));
        int steps = Integer.parseInt(args[2]);
        int baseline = PauseMemoryBench.liveArrays();
        long t0 = System.nanoTime();
        PauseMemoryBench bench = new PauseMemoryBench(steps, 1);
        int reads = bench.trainFor(s, arm);
        double perStep = (System.nanoTime() - t0) / 1e9 / steps;
        System.out.println(PREFIX + " " + peakRss() + " " + reads + " " + (PauseMemoryBench.liveArrays() - baseline)
                + " " + perStep + " " + Allocator.ofThisProcess().name() + " " + bench.lastNonFinite());
        printMappings();
    }

    /** What a mapping line starts with. */
    static final String MAP = "deadwatch-map";

    /**
     * Prints each mapping of this process with resident pages, {@code MAP start end residentKb}
     * (hex addresses), from {@code /proc/self/smaps}: the parent tells the Java heap's pages from
     * the rest by the heap's address range, which the JVM prints at exit.
     */
    static void printMappings() {
        try {
            String range = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
                if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                    range = line.substring(0, line.indexOf(' '));
                } else if (line.startsWith("Rss:") && range != null) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    if (kb > 0) {
                        System.out.println(MAP + " " + range.replace('-', ' ') + " " + kb);
                    }
                }
            }
        } catch (IOException e) {
            // not Linux: no split
        }
    }

    /** @return this process's peak RSS, bytes (VmHWM), or the JVM's heap where unknown */
    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return Runtime.getRuntime().totalMemory();
    }
}
