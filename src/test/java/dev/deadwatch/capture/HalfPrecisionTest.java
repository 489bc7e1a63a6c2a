package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.loss.Loss;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.FisherGramRead;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 15: a model stored in float16 is read in float32 on copies of its parameters
 * (never written), or on a float64 replica. bfloat16 goes through the same code (it is a narrow
 * float to {@link ParameterState#isNarrowFloat}) but is not tested: DJL 0.36's PyTorch engine
 * aborts the JVM on creating or casting to a bfloat16 array, so no DJL model can hold one.
 */
class HalfPrecisionTest {

    private static final Supplier<Block> NET = () -> new SequentialBlock()
            .add(LayerNorm.builder().build())
            .add(Linear.builder().setUnits(6).build())
            .add(Activation.reluBlock())
            .add(Linear.builder().setUnits(3).build());
    private static final Shape INPUT = new Shape(16, 5);

    @Test
    void float16ValuesAreWrittenBackBitForBitAndNothingIsLeftInTheArraysManager() {
        try (NDManager m = NDManager.newBaseManager(); NDManager owner = m.newSubManager()) {
            NDArray half = m.randomNormal(new Shape(4, 3)).toType(DataType.FLOAT16, false);
            half.attach(owner);
            NDArray scalar = owner.create(0.5f).toType(DataType.FLOAT16, false);
            scalar.attach(owner);
            int arrays = owner.getManagedArrays().size();
            byte[] before = ParameterState.bytesOf(half);
            double[] v = ParameterState.toDoubles(half);
            ParameterState.write(half, new double[12]);
            assertThat(ParameterState.toDoubles(half)).containsOnly(0.0);
            ParameterState.write(half, v);
            assertThat(ParameterState.bytesOf(half)).isEqualTo(before);
            ParameterState.write(scalar, new double[] {-2.25});
            assertThat(ParameterState.toDoubles(scalar)).containsExactly(-2.25);
            assertThat(owner.getManagedArrays().size()).as("arrays in the owner's manager").isEqualTo(arrays);
        }
    }

    @Test
    void aNonFloatingArrayIsRefusedNamingItsType() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray ints = m.zeros(new Shape(2), DataType.INT32);
            assertThatThrownBy(() -> ParameterState.write(ints, new double[2]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("int32 array");
        }
    }

    /**
     * A float16 model read through a float32 probe gives exactly what a float32 twin holding the
     * same (widened) values gives: outputs, Fisher Grams and order reads, bit for bit; the float16
     * model's bytes are untouched.
     */
    @Test
    void aFloat16ModelReadsExactlyLikeItsFloat32TwinAndIsNeverWritten() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(9);
            Block half = NET.get();
            half.initialize(m, DataType.FLOAT16, INPUT);
            Block twin = NET.get();
            twin.initialize(m, DataType.FLOAT32, INPUT);
            var hp = half.getParameters();
            var tp = twin.getParameters();
            for (int i = 0; i < hp.size(); i++) {
                ParameterState.write(tp.get(i).getValue().getArray(), ParameterState.values(hp.get(i).getValue()));
            }
            NDArray x = m.randomNormal(INPUT);
            NDArray y = m.randomInteger(0, 3, new Shape(16), DataType.INT32).toType(DataType.FLOAT32, false);
            String halfSum = ParameterState.checksum(half);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe onHalf = new ModelProbe(half, probe, Precision.FLOAT32, OutputMetric.SOFTMAX);
                    ModelProbe onTwin = new ModelProbe(twin, probe, Precision.FLOAT32, OutputMetric.SOFTMAX)) {
                assertThat(onHalf.promotedFrom()).contains(DataType.FLOAT16);
                assertThat(onTwin.promotedFrom()).isEmpty();
                assertThat(onHalf.evaluate().values()).containsExactly(onTwin.evaluate().values());

                List<String> linears = onHalf.paths().pathsOf(Linear.class);
                Loss loss = Loss.softmaxCrossEntropyLoss();
                Map<String, double[]> gh = FisherGramRead.grams(onHalf, linears, loss);
                Map<String, double[]> gt = FisherGramRead.grams(onTwin, linears, loss);
                assertThat(gh.keySet()).containsExactlyElementsOf(gt.keySet()).hasSize(2);
                gh.forEach((path, g) -> assertThat(g).as(path).containsExactly(gt.get(path)));

                List<OrderResult> rh = orderReads(onHalf);
                List<OrderResult> rt = orderReads(onTwin);
                assertThat(rh).isNotEmpty().hasSameSizeAs(rt);
                for (int i = 0; i < rh.size(); i++) {
                    assertThat(rh.get(i).summary()).isEqualTo(rt.get(i).summary());
                    assertThat(rh.get(i).fisher()).containsExactly(rt.get(i).fisher());
                }
            }
            assertThat(ParameterState.checksum(half)).as("the float16 model's bytes").isEqualTo(halfSum);
        }
    }

    private static List<OrderResult> orderReads(ModelProbe probe) {
        List<OrderResult> out = new ArrayList<>();
        OrderRead order = new OrderRead();
        DetectorContext ctx = new DetectorContext(probe);
        for (Detector d : Detector.defaults()) {
            for (Candidate c : d.detect(ctx)) {
                out.add(order.read(probe, c));
            }
        }
        return out;
    }

    /** Training moves the model between snapshots: a refresh brings the copies along. */
    @Test
    void refreshTakesTheModelsNewValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block half = NET.get();
            half.initialize(m, DataType.FLOAT16, INPUT);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(INPUT)), new NDList());
                    ModelProbe mp = new ModelProbe(half, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                var bias = half.getParameters().get(half.getParameters().size() - 1).getValue();
                double[] b = ParameterState.values(bias);
                double[] before = mp.evaluate().values();
                b[0] += 1.0;
                ParameterState.write(bias.getArray(), b); // a training step, on the model itself
                assertThat(mp.evaluate().values()).as("stale copies until refreshed").containsExactly(before);
                mp.refresh();
                double[] after = mp.evaluate().values();
                assertThat(after[0] - before[0]).isEqualTo(1.0, org.assertj.core.api.Assertions.within(1e-3));
                assertThat(ParameterState.toDoubles(mp.parameterArray(bias))).containsExactly(b);
            }
        }
    }

    @Test
    void aFloat64ReplicaOfAFloat16ModelHoldsItsValuesWidenedAndLeavesNothingInTheModelsManager() {
        try (NDManager m = NDManager.newBaseManager(); NDManager model = m.newSubManager()) {
            Block half = NET.get();
            half.initialize(model, DataType.FLOAT16, INPUT);
            int arrays = model.getManagedArrays().size();
            try (Replica replica = Replica.float64(NET, half, m, INPUT)) {
                replica.copyFrom(half);
                var hp = half.getParameters();
                var rp = replica.block().getParameters();
                for (int i = 0; i < hp.size(); i++) {
                    assertThat(rp.get(i).getValue().getArray().getDataType()).isEqualTo(DataType.FLOAT64);
                    assertThat(ParameterState.values(rp.get(i).getValue()))
                            .containsExactly(ParameterState.values(hp.get(i).getValue()));
                }
            }
            assertThat(model.getManagedArrays().size()).as("arrays in the model's manager").isEqualTo(arrays);
        }
    }
}
