package dev.deadwatch.examples;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.Activations;
import java.util.ArrayList;
import java.util.List;

/**
 * For {@link PauseMemoryBench}: the full read without the order read on a float64 replica of the
 * trained encoder, as the live monitor's worker runs it (its activations recorded in groups of
 * layers, {@link ReadSuite#LIVE_ACTIVATION_GROUP_BYTES}) and with one recording of every layer.
 */
final class ReplicaReadTimes {

    private ReplicaReadTimes() {}

    /**
     * @param s the encoder's size
     * @param block the trained encoder
     * @param probe its probe batch
     * @param m manager for the replica
     * @param repeats timed reads of each kind, after a warm-up of each
     * @return median seconds: {one recording, in groups}
     */
    static double[] of(MiniEncoder.Size s, Block block, ProbeBatch probe, NDManager m, int repeats) {
        ReadSuite whole = new ReadSuite(ReadSuite.defaults(Activations.DEFAULT_MAX_ROWS, List.of(), 0, true),
                ReadSuite.ReadObserver.NONE);
        ReadSuite grouped = whole.withActivationGroups(ReadSuite.LIVE_ACTIVATION_GROUP_BYTES);
        Loss loss = Loss.softmaxCrossEntropyLoss();
        List<Double> w = new ArrayList<>();
        List<Double> g = new ArrayList<>();
        try (Replica replica = Replica.float64(() -> MiniEncoder.build(s), block, m, s.inputShape(PauseMemoryBench.BATCH));
                ModelProbe rp = new ModelProbe(replica.block(), probe, Precision.FLOAT64, OutputMetric.SOFTMAX)) {
            for (int i = -1; i < repeats; i++) {
                for (ReadSuite suite : List.of(whole, grouped)) {
                    long t0 = System.nanoTime();
                    ReadReport r = suite.read(rp, i, loss);
                    double secs = (System.nanoTime() - t0) / 1e9;
                    if (!r.failures().isEmpty()) {
                        throw new IllegalStateException("a layer's read failed on the replica: " + r.failures().get(0));
                    }
                    if (i >= 0) {
                        (suite == whole ? w : g).add(secs);
                    }
                }
            }
        }
        return new double[] {BenchCommand.median(w), BenchCommand.median(g)};
    }
}
