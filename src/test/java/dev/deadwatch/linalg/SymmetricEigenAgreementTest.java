package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Native LAPACK against EJML on the same matrices: the tolerance the two solvers are held to
 * (docs/library.md, "The eigensolver").
 */
class SymmetricEigenAgreementTest {

    /**
     * Largest eigenvalue difference, relative to the largest {@code |λ|} (measured: at most 8e-15
     * up to order 384, 2.2e-14 at 1536).
     */
    public static final double VALUES = 1e-13;
    /**
     * Eigenvector difference (after the sign convention), times the eigenvalue's gap to its
     * neighbours over the largest {@code |λ|}: the perturbation bound {@code sin θ ≲ ε‖A‖/gap}
     * with room for the two solvers' different rounding (measured: at most 6e-16 up to order 1536).
     */
    public static final double VECTORS_TIMES_GAP = 1e-14;
    /** Relative gap above which an eigenvalue counts as well separated. */
    static final double SEPARATED = 1e-6;
    /** Largest {@code k − ‖V₁ᵀV₂‖²_F} for the {@code k} vectors of an eigenvalue cluster (subspaces agree). */
    static final double SUBSPACE = 1e-12;

    @BeforeEach
    void needsNativeLapack() {
        NativeLapack.assumeAvailable();
    }

    /** A symmetric matrix with Gaussian entries (GOE), or its square (positive semidefinite). */
    private static double[] random(int n, long seed, boolean psd) {
        Random rnd = new Random(seed);
        double[] g = new double[n * n];
        for (int i = 0; i < g.length; i++) {
            g[i] = rnd.nextGaussian();
        }
        if (psd) {
            return Matrices.multiply(Matrices.transpose(g, n, n), g, n, n, n);
        }
        double[] s = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                s[i * n + j] = g[i * n + j] + g[j * n + i];
            }
        }
        return s;
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {1, 2, 3, 10, 64, 257, 384})
    void valuesAgreeWithinTheToleranceOfTheLargest(int n) {
        for (boolean psd : new boolean[] {false, true}) {
            double[] a = random(n, 11L * n + (psd ? 1 : 0), psd);
            double[] ejml = SymmetricEigen.of(a, n, false, Eigensolver.EJML).values();
            double[] lapack = SymmetricEigen.of(a, n, false, Eigensolver.LAPACK).values();
            double[] lapackWithVectors = SymmetricEigen.of(a, n, true, Eigensolver.LAPACK).values();
            double scale = Math.max(Math.abs(ejml[0]), Math.abs(ejml[n - 1]));
            for (int i = 0; i < n; i++) {
                assertThat(Math.abs(lapack[i] - ejml[i])).as("λ_%d, n=%d psd=%s", i, n, psd)
                        .isLessThanOrEqualTo(VALUES * scale);
                assertThat(Math.abs(lapackWithVectors[i] - ejml[i])).as("λ_%d with vectors", i)
                        .isLessThanOrEqualTo(VALUES * scale);
            }
        }
    }

    @ParameterizedTest(name = "n = {0}")
    @ValueSource(ints = {2, 3, 10, 64, 257})
    void vectorsOfSeparatedEigenvaluesAgreeWithTheSameSign(int n) {
        double[] a = random(n, 5L * n, false);
        SymmetricEigen ejml = SymmetricEigen.of(a, n, true, Eigensolver.EJML);
        SymmetricEigen lapack = SymmetricEigen.of(a, n, true, Eigensolver.LAPACK);
        double[] values = ejml.values();
        double scale = Math.max(Math.abs(values[0]), Math.abs(values[n - 1]));
        int compared = 0;
        for (int i = 0; i < n; i++) {
            double gap = Double.POSITIVE_INFINITY;
            if (i > 0) {
                gap = Math.min(gap, values[i - 1] - values[i]);
            }
            if (i < n - 1) {
                gap = Math.min(gap, values[i] - values[i + 1]);
            }
            if (gap < SEPARATED * scale) {
                continue;
            }
            double[] d = ejml.vector(i);
            double[] l = lapack.vector(i);
            double diff = 0;
            for (int k = 0; k < n; k++) {
                diff = Math.max(diff, Math.abs(d[k] - l[k]));
            }
            assertThat(diff).as("v_%d, n=%d, relative gap %.2e", i, n, gap / scale)
                    .isLessThanOrEqualTo(VECTORS_TIMES_GAP * scale / Math.min(gap, scale));
            compared++;
        }
        assertThat(compared).as("separated eigenvalues compared").isGreaterThanOrEqualTo(n * 9 / 10);
    }

    @Test
    void clustersAgreeAsSubspaces() {
        int n = 60;
        double[] q = Matrices.randomOrthogonal(n, new Random(21));
        double[] lambda = new double[n];
        // a triple at 5 split by 1e-13, a pair at 2, a dead block of ten at 1e-14, the rest spread
        int[][] clusters = {{0, 3}, {3, 5}, {50, 60}};
        for (int i = 0; i < n; i++) {
            lambda[i] = i < 3 ? 5 + 1e-13 * i : i < 5 ? 2 : i < 50 ? 1.5 - 0.03 * (i - 5) : 1e-14;
        }
        double[] a = LapackEigenTest.conjugate(q, lambda, n);
        SymmetricEigen ejml = SymmetricEigen.of(a, n, true, Eigensolver.EJML);
        SymmetricEigen lapack = SymmetricEigen.of(a, n, true, Eigensolver.LAPACK);
        for (int[] c : clusters) {
            int k = c[1] - c[0];
            double overlap = 0; // ‖V₁ᵀV₂‖²_F: k when the spans agree, less by the squared sines of their angles
            for (int i = c[0]; i < c[1]; i++) {
                for (int j = c[0]; j < c[1]; j++) {
                    double dot = Matrices.dot(ejml.vector(i), lapack.vector(j));
                    overlap += dot * dot;
                }
            }
            assertThat(k - overlap).as("cluster %d..%d", c[0], c[1] - 1).isLessThanOrEqualTo(SUBSPACE * k);
        }
    }
}
