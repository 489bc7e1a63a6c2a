package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.ParameterStore;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.DetectorContext;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LayerNormReadTest {

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void kernelOnRandomGammaBetaAndInputs(long seed) {
        Random rnd = new Random(seed);
        int d = 4 + rnd.nextInt(28);
        try (NDManager m = NDManager.newBaseManager()) {
            LayerNorm ln = LayerNorm.builder().build();
            ln.initialize(m, DataType.FLOAT64, new Shape(1, d));
            double[] gamma = new double[d];
            double[] beta = new double[d];
            for (int i = 0; i < d; i++) {
                gamma[i] = (0.1 + 3 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
                beta[i] = 2 * rnd.nextGaussian();
            }
            ParameterState.write(ParameterState.parameter(ln, "gamma").getArray(), gamma);
            ParameterState.write(ParameterState.parameter(ln, "beta").getArray(), beta);
            // inputs: a non-isotropic, shifted distribution
            int rows = 4 * d + 50;
            double[] x = new double[rows * d];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < d; i++) {
                    x[r * d + i] = rnd.nextGaussian() * (1 + i) + 5 * Math.sin(i + r);
                }
            }
            NDArray in = m.create(x, new Shape(rows, d));
            NDArray h = ln.forward(new ParameterStore(m, false), new NDList(in), false).head();
            LayerNormResult r = new LayerNormRead().read("ln", gamma, List.of(h), m);
            assertThat(r.rayleigh()).isLessThan(1e-6);
            assertThat(r.alignment()).isGreaterThanOrEqualTo(0.9999);
            assertThat(r.kernel()).isTrue();
            assertThat(r.extraDead()).isZero();
            double min = Double.MAX_VALUE;
            double max = 0;
            for (double g : gamma) {
                min = Math.min(min, Math.abs(g));
                max = Math.max(max, Math.abs(g));
            }
            assertThat(r.gammaMinAbs()).isEqualTo(min);
            assertThat(r.gammaRatio()).isEqualTo(max / min);
        }
    }

    /** Agreement of the Gram path (rows < width) with the width × width covariance path. */
    private static final double PATH_AGREEMENT = 1e-9;

    @ParameterizedTest(name = "layernorm outputs {0}")
    @ValueSource(booleans = {true, false})
    void theGramPathAgreesWithTheCovariancePathWhenRowsAreFewerThanTheWidth(boolean layerNormOutputs) {
        Random rnd = new Random(17);
        int d = 96;
        int rows = 40;
        try (NDManager m = NDManager.newBaseManager()) {
            double[] gamma = new double[d];
            for (int i = 0; i < d; i++) {
                gamma[i] = (0.2 + 2 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
            }
            double[] x = new double[rows * d];
            for (int i = 0; i < x.length; i++) {
                x[i] = rnd.nextGaussian() * (1 + i % 7);
            }
            NDArray h = m.create(x, new Shape(rows, d));
            if (layerNormOutputs) {
                LayerNorm ln = LayerNorm.builder().build();
                ln.initialize(m, DataType.FLOAT64, new Shape(1, d));
                ParameterState.write(ParameterState.parameter(ln, "gamma").getArray(), gamma);
                h = ln.forward(new ParameterStore(m, false), new NDList(h), false).head();
            }
            LayerNormRead read = new LayerNormRead();
            LayerNormResult gram = read.read("ln", gamma, List.of(h), m, false);
            LayerNormResult full = read.read("ln", gamma, List.of(h), m, true);
            assertThat(gram.kernel()).isEqualTo(full.kernel()).isEqualTo(layerNormOutputs);
            assertThat(gram.extraDead()).isEqualTo(full.extraDead());
            assertThat(gram.rayleigh()).isCloseTo(full.rayleigh(), org.assertj.core.data.Offset.offset(PATH_AGREEMENT));
            assertThat(gram.alignment()).isCloseTo(full.alignment(), org.assertj.core.data.Offset.offset(PATH_AGREEMENT));
            if (layerNormOutputs) {
                assertThat(gram.rayleigh()).isLessThan(1e-6);
                assertThat(gram.alignment()).isGreaterThanOrEqualTo(0.9999);
            }
        }
    }

    @Test
    void alignmentUsesTheWholeBottomEigenspaceWhenOtherDirectionsAreDead() {
        // rows confined to a 3-dim subspace of a width-8 LayerNorm input: beyond u, four more
        // directions are dead, so e_min is an arbitrary vector of a 5-dim null space
        int d = 8;
        Random rnd = new Random(11);
        try (NDManager m = NDManager.newBaseManager()) {
            LayerNorm ln = LayerNorm.builder().build();
            ln.initialize(m, DataType.FLOAT64, new Shape(1, d));
            double[] gamma = new double[d];
            for (int i = 0; i < d; i++) {
                gamma[i] = 0.5 + rnd.nextDouble();
            }
            ParameterState.write(ParameterState.parameter(ln, "gamma").getArray(), gamma);
            double[][] basis = new double[3][d];
            for (double[] b : basis) {
                for (int i = 0; i < d; i++) {
                    b[i] = rnd.nextGaussian();
                }
            }
            int rows = 200;
            double[] x = new double[rows * d];
            for (int r = 0; r < rows; r++) {
                double a = rnd.nextGaussian();
                double b = rnd.nextGaussian();
                double c = rnd.nextGaussian();
                for (int i = 0; i < d; i++) {
                    x[r * d + i] = a * basis[0][i] + b * basis[1][i] + c * basis[2][i];
                }
            }
            NDArray h = ln.forward(new ParameterStore(m, false), new NDList(m.create(x, new Shape(rows, d))), false).head();
            LayerNormResult r = new LayerNormRead().read("ln", gamma, List.of(h), m);
            assertThat(r.rayleigh()).isLessThan(1e-6);
            assertThat(r.alignment()).isGreaterThanOrEqualTo(0.9999);
            assertThat(r.extraDead()).isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void zeroGammaCoordinateIsItselfDeadAndUIsUndefined() {
        assertThat(LayerNormRead.inverseScale(new double[] {1, 0, 2})).isNull();
        LayerNormResult p = new LayerNormRead().parametersOnly("ln", new double[] {1, 0, -2});
        assertThat(p.deadCoordinates()).isEqualTo(1);
        assertThat(p.gammaMinAbs()).isZero();
        assertThat(p.gammaRatio()).isInfinite();
        assertThat(p.rayleigh()).isNaN();
        assertThatThrownBy(() -> new LayerNormRead().parametersOnly("ln", new double[] {1, Double.NaN}))
                .hasMessageContaining("gamma[1]").hasMessageContaining("NaN");
    }
}
