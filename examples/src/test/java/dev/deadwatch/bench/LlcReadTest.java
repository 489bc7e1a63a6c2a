package dev.deadwatch.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import dev.deadwatch.capture.ParameterState;
import org.junit.jupiter.api.Test;

/** Known answer for the SGLD learning-coefficient estimator: a regular model has λ = d/2. */
class LlcReadTest {

    /** Relative tolerance of λ̂ against d/2 (SGLD's discretisation and sampling error). */
    private static final double TOLERANCE = 0.15;

    @Test
    void aRegularLinearModelHasLambdaHalfItsDimensionAndIsRestoredBitExactly() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(3);
            int in = 3;
            int out = 2; // d = 6 weights + 2 biases = 8 parameters, all identifiable: λ = 4
            Block block = Linear.builder().setUnits(out).build();
            block.initialize(m, DataType.FLOAT32, new Shape(1, in));
            NDArray x = m.randomNormal(0, 1, new Shape(500, in), DataType.FLOAT32);
            NDArray w = m.randomNormal(0, 1, new Shape(in, out), DataType.FLOAT32);
            NDArray y = x.matMul(w).add(m.randomNormal(0, 1, new Shape(500, out), DataType.FLOAT32));
            fitLeastSquares(block, x, y, m);
            String before = ParameterState.checksum(block);

            LlcRead.Config c = new LlcRead.Config(4, 300, 600, 1e-3, 1.0, 0, 11);
            LlcRead.Result r = new LlcRead().read(block, x, y, c);

            assertThat(r.lambdaHat()).as("λ̂ of a regular 8-parameter model (chains %s)",
                    java.util.Arrays.toString(r.chainLambdas())).isCloseTo(4.0, org.assertj.core.data.Offset.offset(4.0 * TOLERANCE));
            assertThat(r.forwardPasses()).as("one full-batch L_n(w*) plus one per SGLD step").isEqualTo(1 + 4 * 900);
            assertThat(r.backwardPasses()).isEqualTo(4 * 900);
            assertThat(ParameterState.checksum(block)).as("parameters restored").isEqualTo(before);
        }
    }

    @Test
    void badSettingsAreRejectedNamingTheValue() {
        assertThatThrownBy(() -> new LlcRead.Config(0, 1, 1, 1e-3, 1, 0, 0)).hasMessageContaining("chains >= 1");
        assertThatThrownBy(() -> new LlcRead.Config(1, 1, 1, -1, 1, 0, 0)).hasMessageContaining("-1.0");
        assertThatThrownBy(() -> new LlcRead.Config(1, 1, 1, 1e-3, Double.NaN, 0, 0)).hasMessageContaining("NaN");
    }

    /** Sets the Linear layer to the least-squares fit (the checkpoint w*). */
    private static void fitLeastSquares(Block block, NDArray x, NDArray y, NDManager m) {
        NDArray ones = m.ones(new Shape(x.getShape().get(0), 1));
        NDArray xa = x.concat(ones, 1).toType(DataType.FLOAT64, false);
        NDArray ya = y.toType(DataType.FLOAT64, false);
        NDArray beta = xa.transpose().matMul(xa).inverse().matMul(xa.transpose()).matMul(ya); // (in+1) × out
        int in = (int) x.getShape().get(1);
        NDArray weight = beta.get("0:" + in).transpose(); // out × in
        NDArray bias = beta.get(in + ":").reshape(-1);
        var params = block.getParameters();
        ParameterState.write(params.get("weight").getArray(), weight.toDoubleArray());
        ParameterState.write(params.get("bias").getArray(), bias.toDoubleArray());
        // sanity: the block now reproduces the fit
        NDArray pred = block.forward(new ParameterStore(m, false), new ai.djl.ndarray.NDList(x), false).singletonOrThrow();
        assertThat(pred.getShape()).isEqualTo(y.getShape());
    }
}
