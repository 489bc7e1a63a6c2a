package dev.deadwatch.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One block that cannot run in float64 is read in float32 inside an otherwise float64 replica. */
class ReplicaPrecisionTest {

    /** Agreement of a float64 computation with its double-precision reference. */
    static final double FLOAT64_TOLERANCE = 1e-12;
    /** Agreement of a float32 computation with its reference (a few float32 roundings). */
    static final double FLOAT32_TOLERANCE = 1e-4;

    /** Computes in float32 whatever its parameter is: in float64 its matMul mixes types. */
    static final class Float32Only extends AbstractBlock {
        private final Parameter weight;

        Float32Only(Initializer init) {
            weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT)
                    .optInitializer(init).optShape(new Shape(4, 4)).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            NDArray w = ps.getValue(weight, in.head().getDevice(), training);
            return new NDList(in.head().toType(DataType.FLOAT32, false).matMul(w));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return inputShapes;
        }
    }

    /** Always makes its array float32, whatever type the initialization asks for. */
    private static final Initializer ALWAYS_FLOAT32 = (m, shape, type) -> m.randomNormal(0f, 0.5f, shape, DataType.FLOAT32);

    private static Block model(Initializer init) {
        return new SequentialBlock().add(Linear.builder().setUnits(4).build()).add(new Float32Only(init))
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(2).build());
    }

    /**
     * The replica's parameters are the model's, widened exactly: the engine's float32 → float64
     * conversion, array to array, gives each value bit for bit (and keeps the replica's own type).
     */
    @Test
    void aFloat64ReplicaHoldsTheModelsValuesWidenedExactly() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(11);
            java.util.function.Supplier<Block> net = () -> new SequentialBlock().add(Linear.builder().setUnits(7).build())
                    .add(Activation.reluBlock()).add(Linear.builder().setUnits(3).build());
            Block source = net.get();
            source.initialize(m, DataType.FLOAT32, new Shape(2, 5));
            try (Replica r = Replica.float64(net, source, m, new Shape(2, 5))) {
                var src = source.getParameters();
                var dst = r.block().getParameters();
                assertThat(dst.size()).isEqualTo(4);
                for (int i = 0; i < src.size(); i++) {
                    NDArray d = dst.get(i).getValue().getArray();
                    assertThat(d.getDataType()).isEqualTo(DataType.FLOAT64);
                    float[] want = src.get(i).getValue().getArray().toFloatArray();
                    double[] got = d.toDoubleArray();
                    assertThat(got).hasSize(want.length);
                    for (int j = 0; j < want.length; j++) {
                        assertThat(got[j]).as("%s[%d]", dst.get(i).getKey(), j).isEqualTo((double) want[j]);
                    }
                }
            }
        }
    }

    @Test
    void aBlockThatFailsInFloat64RunsInFloat32AndTheOthersStayFloat64() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block source = model(Initializer.ONES);
            source.initialize(m, DataType.FLOAT32, new Shape(3, 4));
            try (Replica r = Replica.float64(() -> model(Initializer.ONES), source, m, new Shape(3, 4))) {
                NDArray x = m.randomNormal(new Shape(3, 4)).toType(DataType.FLOAT64, false);
                Block f32 = r.block().getChildren().get("02Float32Only");
                // the forward fails in float64 and names the block it failed in
                ForwardTaps.install();
                ForwardTaps.Failure failure = ForwardTaps.traced(() -> forward(r.block(), x));
                assertThat(failure).isNotNull();
                assertThat(failure.block()).isSameAs(f32);

                r.runInFloat32(f32, source);
                assertThat(ForwardTaps.traced(() -> forward(r.block(), x))).isNull();
                assertThat(r.layerPrecisions()).containsEntry("01Linear", Precision.FLOAT64)
                        .containsEntry("02Float32Only", Precision.FLOAT32).containsEntry("04Linear", Precision.FLOAT64);
                assertThat(f32.getParameters().get(0).getValue().getArray().getDataType()).isEqualTo(DataType.FLOAT32);
                NDArray out = forward(r.block(), x);
                assertThat(out.getDataType()).isEqualTo(DataType.FLOAT64);

                // the Linear before it computes in float64: exact to float64 rounding, which a
                // float32 replica (error ~1e-7) would miss
                Block first = r.block().getChildren().get("01Linear");
                NDArray h = first.forward(new ParameterStore(m, false), new NDList(x), false).head();
                double[] got = ParameterState.toDoubles(h);
                double[] want = linear(first, x);
                for (int i = 0; i < want.length; i++) {
                    assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(FLOAT64_TOLERANCE));
                }
                // and the whole replica agrees with the float32 model to float32 precision
                double[] model = ParameterState.toDoubles(forward(source, x.toType(DataType.FLOAT32, false)));
                double[] replica = ParameterState.toDoubles(out);
                for (int i = 0; i < model.length; i++) {
                    assertThat(replica[i]).isCloseTo(model[i],
                            org.assertj.core.data.Offset.offset(FLOAT32_TOLERANCE * (1 + Math.abs(model[i]))));
                }
            }
        }
    }

    @Test
    void gradientsFlowThroughAFloat32BlockAsThroughTheFloat32Model() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block source = model(ALWAYS_FLOAT32);
            source.initialize(m, DataType.FLOAT32, new Shape(3, 4));
            try (Replica r = Replica.float64(() -> model(ALWAYS_FLOAT32), source, m, new Shape(3, 4))) {
                NDArray x32 = m.randomNormal(new Shape(3, 4));
                double[] want = inputGradient(source, x32);
                double[] got = inputGradient(r.block(), x32.toType(DataType.FLOAT64, false));
                double scale = 0;
                for (double w : want) {
                    scale = Math.max(scale, Math.abs(w));
                }
                assertThat(scale).as("a gradient to compare").isGreaterThan(0);
                for (int i = 0; i < want.length; i++) {
                    assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(FLOAT32_TOLERANCE * scale));
                }
            }
        }
    }

    /** {@code d/dx Σ f(x)²}: through every block, the float32 one included. */
    private static double[] inputGradient(Block b, NDArray x) {
        NDArray in = x.duplicate();
        in.setRequiresGradient(true);
        try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
            NDArray out = b.forward(new ParameterStore(x.getManager(), false), new NDList(in), true).head();
            gc.backward(out.mul(out).sum());
        }
        return ParameterState.toDoubles(in.getGradient());
    }

    @Test
    void theEnginesTypeConversionIsCutOffFromAutogradWhichIsWhyTheReplicaDoesNotUseIt() {
        // DJL 0.36 / PyTorch 2.7.1: NDArray.toType returns an array without a gradient function
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new double[] {1, 2, 3});
            x.setRequiresGradient(true);
            try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                NDArray cut = x.toType(DataType.FLOAT32, false);
                assertThatThrownBy(() -> gc.backward(cut.sum())).hasMessageContaining("does not require grad");
                NDArray kept = ForwardTaps.convert(new NDList(x), DataType.FLOAT32).head();
                assertThat(kept.getDataType()).isEqualTo(DataType.FLOAT32);
                gc.backward(kept.mul(kept).sum());
            }
            assertThat(x.getGradient().toDoubleArray()).containsExactly(2, 4, 6);
        }
    }

    @Test
    void aBlockThatKeepsFloat32ParametersRunsInFloat32WithoutAFailedForward() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block source = model(ALWAYS_FLOAT32);
            source.initialize(m, DataType.FLOAT32, new Shape(3, 4));
            try (Replica r = Replica.float64(() -> model(ALWAYS_FLOAT32), source, m, new Shape(3, 4))) {
                Map<String, Precision> p = r.layerPrecisions();
                assertThat(p).containsEntry("02Float32Only", Precision.FLOAT32).containsEntry("01Linear", Precision.FLOAT64);
                NDArray x = m.randomNormal(new Shape(3, 4)).toType(DataType.FLOAT64, false);
                assertThat(forward(r.block(), x).getDataType()).isEqualTo(DataType.FLOAT64);
                // its values are the model's, not the initializer's
                assertThat(ParameterState.toDoubles(r.block().getChildren().get("02Float32Only").getParameters()
                        .get(0).getValue().getArray()))
                        .containsExactly(ParameterState.toDoubles(source.getChildren().get("02Float32Only")
                                .getParameters().get(0).getValue().getArray()));
            }
        }
    }

    @Test
    void onlyABlockInsideTheReplicaCanRunInFloat32() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block source = model(Initializer.ONES);
            source.initialize(m, DataType.FLOAT32, new Shape(3, 4));
            try (Replica r = Replica.float64(() -> model(Initializer.ONES), source, m, new Shape(3, 4))) {
                assertThatThrownBy(() -> r.runInFloat32(r.block(), source))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a block inside the replica");
                assertThatThrownBy(() -> r.runInFloat32(source.getChildren().get("01Linear"), source))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a block inside the replica");
            }
        }
    }

    private static NDArray forward(Block b, NDArray x) {
        return b.forward(new ParameterStore(x.getManager(), false), new NDList(x), false).head();
    }

    /** {@code x Wᵀ + b} in double from the Linear's parameters. */
    private static double[] linear(Block lin, NDArray x) {
        double[] w = ParameterState.toDoubles(lin.getParameters().get("weight").getArray());
        double[] bias = ParameterState.toDoubles(lin.getParameters().get("bias").getArray());
        double[] xs = ParameterState.toDoubles(x);
        int n = (int) x.getShape().get(0);
        int in = (int) x.getShape().get(1);
        int out = bias.length;
        double[] y = new double[n * out];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int k = 0; k < in; k++) {
                    s += xs[i * in + k] * w[o * in + k];
                }
                y[i * out + o] = s;
            }
        }
        return y;
    }
}
