package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SymmetricEigenTest {

    /** Residual tolerance of {@code A v = λ v}, relative to the top eigenvalue. */
    private static final double RESIDUAL = 1e-10;

    @ParameterizedTest(name = "{1}, n = {0}")
    @CsvSource({"1, EJML", "2, EJML", "5, EJML", "17, EJML", "64, EJML",
            "1, LAPACK", "2, LAPACK", "5, LAPACK", "17, LAPACK", "64, LAPACK"})
    void eigenpairsSatisfyAvEqualsLambdaVAndAreOrthonormal(int n, Eigensolver solver) {
        if (solver == Eigensolver.LAPACK) {
            NativeLapack.assumeAvailable();
        }
        Random rnd = new Random(n);
        double[] g = new double[n * n];
        for (int i = 0; i < g.length; i++) {
            g[i] = rnd.nextGaussian();
        }
        double[] a = Matrices.multiply(Matrices.transpose(g, n, n), g, n, n, n); // PSD
        SymmetricEigen e = SymmetricEigen.of(a, n, true, solver);
        double[] values = e.values();
        for (int i = 1; i < n; i++) {
            assertThat(values[i]).isLessThanOrEqualTo(values[i - 1]);
        }
        for (int i = 0; i < n; i++) {
            double[] v = e.vector(i);
            double[] av = Matrices.multiply(a, v, n, n, 1);
            for (int k = 0; k < n; k++) {
                assertThat(av[k]).isCloseTo(values[i] * v[k], within(RESIDUAL * values[0]));
            }
            for (int j = 0; j < n; j++) {
                assertThat(Matrices.dot(v, e.vector(j))).isCloseTo(i == j ? 1 : 0, within(1e-10));
            }
        }
        // reconstruction: trace equals the eigenvalue sum
        double trace = 0;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            trace += a[i * n + i];
            sum += values[i];
        }
        assertThat(sum).isCloseTo(trace, within(1e-9 * Math.abs(trace)));
    }

    @Test
    void knownAnswer2x2() {
        SymmetricEigen e = SymmetricEigen.of(new double[] {2, 1, 1, 2}, 2, true);
        assertThat(e.values()).containsExactly(new double[] {3, 1}, within(1e-14));
        assertThat(Math.abs(e.vector(0)[0])).isCloseTo(Math.sqrt(0.5), within(1e-14));
    }

    @Test
    void theSignConventionMakesTheLargestEntryPositive() {
        assertThat(SymmetricEigen.canonical(new double[] {0.6, -0.8})).containsExactly(-0.6, 0.8);
        assertThat(SymmetricEigen.canonical(new double[] {-3, 0, 4})).containsExactly(new double[] {-0.6, 0, 0.8}, within(1e-15));
        // a tie within SIGN_TIE goes to the first entry, whichever is larger by rounding
        double big = 1 / Math.sqrt(2);
        assertThat(SymmetricEigen.canonical(new double[] {-big, Math.nextUp(big)})[0]).isPositive();
        assertThat(SymmetricEigen.canonical(new double[] {-Math.nextUp(big), big})[0]).isPositive();
        SymmetricEigen ejml = SymmetricEigen.of(new double[] {2, 1, 1, 2}, 2, true, Eigensolver.EJML);
        assertThat(ejml.vector(1)[0]).isPositive(); // (1, −1)/√2, not (−1, 1)/√2
        assertThat(ejml.vector(1)[1]).isNegative();
    }

    @Test
    void rejectsWrongSizeAndNonFinite() {
        assertThatThrownBy(() -> SymmetricEigen.of(new double[3], 2, false))
                .hasMessageContaining("length 3");
        assertThatThrownBy(() -> SymmetricEigen.of(new double[] {1, Double.POSITIVE_INFINITY, 0, 1}, 2, false))
                .hasMessageContaining("Infinity");
    }

    @Test
    void randomOrthogonalIsOrthogonalAndExpmOfSkewIsARotation() {
        int n = 6;
        double[] q = Matrices.randomOrthogonal(n, new Random(1));
        double[] qtq = Matrices.multiply(Matrices.transpose(q, n, n), q, n, n, n);
        double[] id = Matrices.identity(n);
        for (int i = 0; i < n * n; i++) {
            assertThat(qtq[i]).isCloseTo(id[i], within(1e-12));
        }
        double[] s = new double[n * n];
        s[1] = 0.7;
        s[n] = -0.7; // rotation by 0.7 rad in the (0,1) plane
        double[] r = Matrices.expm(s, n);
        assertThat(r[0]).isCloseTo(Math.cos(0.7), within(1e-14));
        assertThat(r[1]).isCloseTo(Math.sin(0.7), within(1e-14));
        assertThat(r[n]).isCloseTo(-Math.sin(0.7), within(1e-14));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"EJML", "LAPACK"})
    void theLeadingBlockOfALongerBufferIsDecomposedAndItsTailIgnored(Eigensolver solver) {
        if (solver == Eigensolver.LAPACK) {
            NativeLapack.assumeAvailable();
        }
        // a larger decomposition first leaves the thread's scratch buffers full of its values
        double[] big = {5, 0, 0, 0, 4, 0, 0, 0, 3};
        assertThat(solver.use(() -> SymmetricEigen.of(big, 3, true)).values())
                .containsExactly(new double[] {5, 4, 3}, within(1e-12));
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1; a tail of junk that would change them if read
        double[] buffer = {2, 1, 1, 2, 99, -7, Double.NaN};
        SymmetricEigen e = solver.use(() -> SymmetricEigen.ofLeading(buffer, 2, true));
        assertThat(e.solver()).isEqualTo(solver);
        assertThat(e.values()).containsExactly(new double[] {3, 1}, within(1e-12));
        assertThat(e.vector(0)).containsExactly(new double[] {Math.sqrt(0.5), Math.sqrt(0.5)}, within(1e-12));
        assertThat(buffer).as("the input is not written").startsWith(2, 1, 1, 2, 99, -7);
        assertThatThrownBy(() -> SymmetricEigen.ofLeading(new double[3], 2, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length 3");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"EJML", "LAPACK"})
    void aVectorsCoordinatesInTheEigenbasisAreItsDotsWithTheCanonicalVectors(Eigensolver solver) {
        if (solver == Eigensolver.LAPACK) {
            NativeLapack.assumeAvailable();
        }
        // diag(4, 3) ⊕ [[2, 1], [1, 2]]: eigenvalues 4, 3, 3, 1 with vectors e1, e2, (1, 1)/√2 and
        // (1, -1)/√2 on the last two (each's first largest entry positive); a tail to ignore
        double[] m = {4, 0, 0, 0, 0, 3, 0, 0, 0, 0, 2, 1, 0, 0, 1, 2, 77};
        double[] u = {0.5, -2, 3, 1};
        SymmetricEigen e = solver.use(() -> SymmetricEigen.ofLeadingCoordinates(m, 4, u));
        double h = Math.sqrt(0.5);
        assertThat(e.values()).containsExactly(new double[] {4, 3, 3, 1}, within(1e-12));
        assertThat(e.coordinates()[0]).isCloseTo(0.5, within(1e-12));
        assertThat(e.coordinates()[3]).as("(3 - 1)/√2").isCloseTo(2 * h, within(1e-12));
        // the degenerate pair's vectors are any basis of their plane: the length of u's part in it is not
        double[] c = e.coordinates();
        assertThat(c[1] * c[1] + c[2] * c[2]).as("(-2)² + ((3 + 1)/√2)²").isCloseTo(4 + 8, within(1e-12));
        SymmetricEigen full = solver.use(() -> SymmetricEigen.of(java.util.Arrays.copyOf(m, 16), 4, true));
        for (int i = 0; i < 4; i++) {
            double dot = 0;
            for (int k = 0; k < 4; k++) {
                dot += full.vector(i)[k] * u[k];
            }
            assertThat(c[i]).as("coordinate %d against the full decomposition's vector", i).isCloseTo(dot, within(1e-12));
        }
        assertThatThrownBy(() -> e.vector(0)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("without eigenvectors");
        assertThatThrownBy(full::coordinates).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("without a vector's coordinates");
        assertThatThrownBy(() -> SymmetricEigen.ofLeadingCoordinates(m, 4, new double[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("u length 3");
    }
}
