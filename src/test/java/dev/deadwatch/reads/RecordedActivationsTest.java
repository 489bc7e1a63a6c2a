package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.monitor.ReadSuite;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The probe recorded in passes over groups of samples gives the rows one pass gives, in order. */
class RecordedActivationsTest {

    /** Tolerance between a pass over some samples and one over all of them, float64. */
    private static final double SPLIT_TOLERANCE = 1e-12;

    private static final int SAMPLES = 6;
    private static final Shape INPUT = new Shape(SAMPLES, 5, 3); // samples × positions × features

    private static Block net() {
        return new SequentialBlock().add(Linear.builder().setUnits(8).build()).add(LayerNorm.builder().build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(4).build());
    }

    private static int liveArrays() {
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    private static double[] joined(List<NDArray> calls) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDList flat = new NDList();
            for (NDArray a : calls) {
                NDArray f = a.reshape(-1, a.getShape().tail()).duplicate();
                f.attach(m);
                flat.add(f);
            }
            NDArray all = flat.size() == 1 ? flat.head() : NDArrays.concat(flat, 0);
            return all.toType(DataType.FLOAT64, false).toDoubleArray();
        }
    }

    @Test
    void passesOverGroupsOfSamplesGiveTheWholeProbesRowsInOrderAndKeepProducerAndConsumerOneArray() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block b = net();
            b.initialize(m, DataType.FLOAT32, INPUT);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(INPUT)), new NDList());
                    Replica replica = Replica.float64(RecordedActivationsTest::net, b, m, INPUT);
                    ModelProbe mp = new ModelProbe(replica.block(), probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                Set<String> all = new LinkedHashSet<>(ReadSuite.tappedLayers(mp.paths()));
                int before = liveArrays();
                try (RecordedActivations whole = RecordedActivations.record(mp, all, all, Long.MAX_VALUE);
                        RecordedActivations split = RecordedActivations.record(mp, all, all, 1)) {
                    assertThat(whole.passes()).isEqualTo(1);
                    assertThat(split.passes()).as("one sample a pass").isEqualTo(SAMPLES);
                    assertThat(split.outputs().keySet()).isEqualTo(whole.outputs().keySet()).hasSize(4);
                    for (String layer : all) {
                        assertThat(split.outputs().get(layer)).hasSize(SAMPLES);
                        double[] w = joined(whole.outputs().get(layer));
                        double[] s = joined(split.outputs().get(layer));
                        assertThat(s).hasSameSizeAs(w);
                        for (int i = 0; i < w.length; i++) {
                            assertThat(Math.abs(s[i] - w[i])).as("%s entry %d", layer, i)
                                    .isLessThanOrEqualTo(SPLIT_TOLERANCE * Math.max(1, Math.abs(w[i])));
                        }
                    }
                    List<String> layers = List.copyOf(all);
                    for (int l = 1; l < layers.size(); l++) {
                        List<NDArray> produced = split.outputs().get(layers.get(l - 1));
                        List<NDArray> consumed = split.inputs().get(layers.get(l));
                        for (int k = 0; k < SAMPLES; k++) {
                            assertThat(consumed.get(k)).as("input of %s, pass %d", layers.get(l), k)
                                    .isSameAs(produced.get(k));
                        }
                    }
                }
                assertThat(liveArrays()).as("every recorded array freed on close").isEqualTo(before);
                assertThatThrownBy(() -> RecordedActivations.record(mp, all, all, 0))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 0");
            }
        }
    }

    @Test
    void aBlockCalledTwiceListsItsFirstCallsPassesBeforeItsSecond() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a1 = m.create(1f), a2 = m.create(2f), b1 = m.create(3f), b2 = m.create(4f);
            // pass 1 saw calls (a1, b1), pass 2 (a2, b2): call a is the first call of the block
            Map<String, List<NDArray>> out = RecordedActivations.callMajor(
                    Map.of("layer", List.of(List.of(a1, b1), List.of(a2, b2))));
            assertThat(out.get("layer")).containsExactly(a1, a2, b1, b2);
            Map<String, List<NDArray>> uneven = RecordedActivations.callMajor(
                    Map.of("layer", List.of(List.of(a1, b1), List.of(a2))));
            assertThat(uneven.get("layer")).as("passes in order when they differ").containsExactly(a1, b1, a2);
        }
    }
}
