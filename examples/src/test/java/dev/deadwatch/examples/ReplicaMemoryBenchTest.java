package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The memory runs of {@code bench --only pauses} each run in a JVM of their own ({@link RssRun}),
 * so the peak RSS without the monitor is that of a training alone, not of the bench's process
 * after the sections before (which made the small model's "without" 3.7 GB).
 */
class ReplicaMemoryBenchTest {

    @Test
    void eachMemoryRunIsAProcessOfItsOwn() throws Exception {
        ReplicaMemoryBench bench = new ReplicaMemoryBench(8);
        ReplicaMemoryBench.Child without = bench.child(MiniEncoder.Size.SMALL, ReplicaMemoryBench.Arm.NONE);
        ReplicaMemoryBench.Child with = bench.child(MiniEncoder.Size.SMALL, ReplicaMemoryBench.Arm.REPLICA);
        ReplicaMemoryBench.Child onCopies = bench.child(MiniEncoder.Size.SMALL, ReplicaMemoryBench.Arm.COPIES);
        ReplicaMemoryBench.Child onModel = bench.child(MiniEncoder.Size.SMALL, ReplicaMemoryBench.Arm.MODEL);
        assertThat(without.peakRss()).as("peak RSS").isPositive();
        assertThat(without.reads()).as("no monitor, no read").isZero();
        assertThat(with.reads()).as("a read every %d steps", PauseMemoryBench.INTERVAL).isEqualTo(8 / PauseMemoryBench.INTERVAL);
        assertThat(with.liveArrays()).as("live NDArrays left").isZero();
        assertThat(with.peakRss()).as("this process's RSS is not theirs").isNotEqualTo(RssRun.peakRss());
        assertThat(with.secondsPerStep()).as("seconds per step").isPositive();
        assertThat(with.allocator()).isEqualTo(Allocator.GLIBC);
        assertThat(onModel.reads()).as("on the model, a read every %d steps too", PauseMemoryBench.INTERVAL)
                .isEqualTo(8 / PauseMemoryBench.INTERVAL);
        assertThat(onModel.liveArrays()).as("live NDArrays left, no replica").isZero();
        assertThat(onCopies.reads()).as("on copies, every snapshot read (waited for)")
                .isEqualTo(8 / PauseMemoryBench.INTERVAL);
        assertThat(onCopies.liveArrays()).as("live NDArrays left, copies freed").isZero();
    }

    /**
     * The allocator rows run with what they name: glibc with a fixed mmap threshold, and jemalloc
     * preloaded (scripts/setup.sh installs Debian's libjemalloc2), each seen from inside the run.
     */
    @Test
    void eachAllocatorRowRunsWithItsAllocator() throws Exception {
        ReplicaMemoryBench bench = new ReplicaMemoryBench(4);
        assertThat(Allocator.JEMALLOC.available()).as(Allocator.JEMALLOC_LIBRARY).isTrue();
        for (Allocator a : List.of(Allocator.GLIBC_FIXED_MMAP, Allocator.JEMALLOC)) {
            assertThat(bench.child(MiniEncoder.Size.SMALL, ReplicaMemoryBench.Arm.NONE, a).allocator()).isEqualTo(a);
        }
    }
}
