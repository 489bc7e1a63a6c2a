package dev.deadwatch.blocks;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.XavierInitializer;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The cause of the non-finite transformer (docs/findings.md), reduced to a few lines.
 *
 * <p>DJL 0.36's {@code NDArray.div(Number)} on the PyTorch engine makes the number a 0-d tensor
 * with {@code torch::from_blob} over a Java direct {@code ByteBuffer} and closes that tensor's
 * Java wrapper as soon as the division returns; the buffer is then unreachable. Autograd saved the
 * divisor for the backward pass ({@code DivBackward0} keeps {@code other}), and its storage still
 * points into the buffer. Once a garbage collection has run and the buffer's cleaner has freed it,
 * the backward pass reads freed memory: with glibc, freeing the chunk itself writes the allocator's
 * list pointer over the value, so the gradient becomes garbage, most often infinite or NaN. In a
 * training loop this happens at the steps where a collection falls between forward and backward,
 * which is why the transformer went non-finite at random steps and why unrelated allocations (extra
 * forward passes, a monitor) moved those steps. The same holds for {@code mul}, {@code pow},
 * {@code maximum} and {@code minimum} with a {@code Number} on an array that needs a gradient, and
 * for DJL's {@code L2Loss} ({@code mul(weight)}).
 *
 * <p>The first test documents DJL's behaviour and fails once a DJL upgrade fixes it (then the
 * workaround in {@link dev.deadwatch.capture.EngineScalar} can go); the others prove the workaround.
 */
class ScalarOperandUseAfterFreeTest {

    /** Collections and a pause for the JDK's cleaner thread, which frees unreachable direct buffers. */
    private static void collectGarbage() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }

    /** d/dx of sum(f(x)) at x = 1 (4 elements), with a collection between forward and backward. */
    private static float[] gradientAfterCollection(Function<NDArray, NDArray> f) throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.ones(new Shape(4), DataType.FLOAT32);
            x.setRequiresGradient(true);
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray y = f.apply(x).sum();
                collectGarbage();
                gc.backward(y);
            }
            try (NDArray g = x.getGradient()) {
                return g.toFloatArray();
            }
        }
    }

    @Test
    void djlDivisionByANumberReadsTheFreedNumberInTheBackwardPass() throws Exception {
        float[] g = gradientAfterCollection(x -> x.div(4.0));
        // the exact gradient is 1/4 everywhere; DJL 0.36 gives what the freed memory holds
        assertThat(g[0]).as("d/dx sum(x / 4) after a GC between forward and backward: DJL 0.36 reads the"
                + " freed divisor; if this is 0.25 a DJL upgrade fixed it and EngineScalar can go")
                .isNotEqualTo(0.25f);
    }

    @Test
    void anEngineOwnedDivisorSurvivesTheCollection() throws Exception {
        float[] g = gradientAfterCollection(x -> {
            try (NDArray four = dev.deadwatch.capture.EngineScalar.of(x.getManager(), 4.0, ai.djl.ndarray.types.DataType.FLOAT64)) {
                return x.div(four);
            }
        });
        assertThat(g).containsOnly(0.25f);
    }

    @Test
    void selfAttentionInputGradientIsTheSameWithACollectionBetweenForwardAndBackward() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(3);
            SelfAttention attention = new SelfAttention(8, 2, false);
            attention.setInitializer(new XavierInitializer(), Parameter.Type.WEIGHT);
            attention.initialize(m, DataType.FLOAT32, new Shape(2, 3, 8));
            NDArray input = m.randomNormal(0, 1, new Shape(2, 3, 8), DataType.FLOAT32);
            float[] quiet = inputGradient(attention, input, false);
            float[] collected = inputGradient(attention, input, true);
            for (float v : quiet) {
                assertThat(Float.isFinite(v)).as("input gradient finite").isTrue();
            }
            // bit for bit: the collection must not reach the arithmetic
            assertThat(collected).containsExactly(quiet);
        }
    }

    private static float[] inputGradient(SelfAttention attention, NDArray input, boolean collect) throws Exception {
        try (NDManager m = input.getManager().newSubManager()) {
            NDArray x = input.duplicate();
            x.attach(m);
            x.setRequiresGradient(true);
            try (GradientCollector gc = m.getEngine().newGradientCollector()) {
                NDArray out = attention.forward(new ParameterStore(m, false), new NDList(x), true).head();
                NDArray loss = out.mul(out).sum();
                if (collect) {
                    collectGarbage();
                }
                gc.backward(loss);
            }
            try (NDArray g = x.getGradient()) {
                return g.toFloatArray();
            }
        }
    }
}
