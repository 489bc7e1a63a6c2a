package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The memory runs of {@code bench --only pauses} each run in a JVM of their own ({@link RssRun}),
 * so the peak RSS without the monitor is that of a training alone, not of the bench's process
 * after the sections before (which made the small model's "without" 3.7 GB).
 */
class PauseMemoryBenchTest {

    @Test
    void eachMemoryRunIsAProcessOfItsOwn() throws Exception {
        PauseMemoryBench bench = new PauseMemoryBench(8, 1);
        long[] without = bench.child(MiniEncoder.Size.SMALL, false);
        long[] with = bench.child(MiniEncoder.Size.SMALL, true);
        assertThat(without[0]).as("peak RSS").isPositive();
        assertThat(without[1]).as("no monitor, no read").isZero();
        assertThat(with[1]).as("a read every %d steps", PauseMemoryBench.INTERVAL).isEqualTo(8 / PauseMemoryBench.INTERVAL);
        assertThat(with[2]).as("live NDArrays left").isZero();
        assertThat(with[0]).as("this process's RSS is not theirs").isNotEqualTo(RssRun.peakRss());
    }
}
