package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ParameterState;
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
        for (ReplicaMemoryBench.Child c : List.of(without, with, onCopies, onModel)) {
            assertThat(c.heapRss()).as("the Java heap's resident pages, found and a part of the peak").isPositive()
                    .isLessThan(c.peakRss());
            assertThat(c.nativePeak()).isEqualTo(c.peakRss() - c.heapRss());
            assertThat(c.nonFinite()).as("the small encoder's parameters end finite").isZero();
        }
    }

    @Test
    void nonFiniteCountsTheParametersHoldingANanOrAnInfinity() {
        try (NDManager m = NDManager.newBaseManager()) {
            SequentialBlock b = new SequentialBlock().add(Linear.builder().setUnits(3).build())
                    .add(Linear.builder().setUnits(2).build());
            b.initialize(m, DataType.FLOAT32, new Shape(1, 4));
            assertThat(NonFinite.of(b, false)).as("freshly initialised").isEmpty();
            var params = b.getParameters();
            double[] w = ParameterState.toDoubles(params.get(0).getValue().getArray()); // 3 × 4 weight
            w[5] = Double.NaN;
            w[7] = Double.NaN; // two in one parameter count once
            ParameterState.write(params.get(0).getValue().getArray(), w);
            double[] bias = ParameterState.toDoubles(params.get(3).getValue().getArray()); // the second bias
            bias[1] = Double.NEGATIVE_INFINITY;
            ParameterState.write(params.get(3).getValue().getArray(), bias);
            assertThat(NonFinite.of(b, false)).as("two in one parameter count once")
                    .containsExactly(params.get(0).getKey(), params.get(3).getKey());
        }
    }

    @Test
    void theJavaHeapsPagesAreTheMappingsInsideTheRangeTheJvmPrintsAtExit() {
        String out = String.join("\n",
                RssRun.MAP + " 55c1c3e69000 55c1de119000 55296", // the C heap: outside
                RssRun.MAP + " 687400000 69f000000 262144", // inside
                RssRun.MAP + " 7a0000000 7a4000000 1024", // inside, near the end
                RssRun.MAP + " 7fabbc000000 7fabbff01000 23552", // an arena: outside
                "[0.102s][info][gc,heap,exit]  garbage-first heap   total 397312K, used 5003K"
                        + " [0x0000000687400000, 0x0000000800000000)");
        assertThat(ReplicaMemoryBench.heapRss(out)).isEqualTo((262144L + 1024) << 10);
        assertThat(ReplicaMemoryBench.heapRss(RssRun.MAP + " 687400000 69f000000 1")).as("no range printed").isEqualTo(-1);
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
