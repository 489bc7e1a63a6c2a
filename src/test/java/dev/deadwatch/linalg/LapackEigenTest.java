package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Known answers of the native LAPACK path ({@link Eigensolver#LAPACK}). */
class LapackEigenTest {

    /** Eigenvalue error allowed, relative to the largest {@code |λ|}: a few hundred ulps at these orders. */
    private static final double VALUE = 1e-13;
    /** Eigenvector entry error allowed (unit vectors, well-separated eigenvalues). */
    private static final double VECTOR = 1e-12;

    @BeforeEach
    void needsNativeLapack() {
        NativeLapack.assumeAvailable();
    }

    private static SymmetricEigen lapack(double[] a, int n, boolean vectors) {
        SymmetricEigen e = SymmetricEigen.of(a, n, vectors, Eigensolver.LAPACK);
        assertThat(e.solver()).isEqualTo(Eigensolver.LAPACK);
        return e;
    }

    @Test
    void leavesTheLibraryAndItsBlasOutOfTheProcessGlobalScope() {
        lapack(new double[] {2, 1, 1, 2}, 2, false); // opened and called
        // a LAPACK or BLAS symbol in the global scope takes over PyTorch's lazily bound BLAS calls
        // (NativeLapackEigen, docs/findings.md); dlsym on the process handle searches that scope
        com.sun.jna.NativeLibrary process = com.sun.jna.NativeLibrary.getProcess();
        for (String symbol : java.util.List.of("dsyevd_", "dgemm_", "sgemm_")) {
            assertThatThrownBy(() -> process.getFunction(symbol)).as(symbol + " in the global scope")
                    .isInstanceOf(UnsatisfiedLinkError.class);
        }
    }

    @Test
    void aLibraryThatDoesNotOpenAndAMatrixTooShortAreNamed() {
        assertThatThrownBy(() -> NativeLapackEigen.open("/nonexistent/liblapack.so.3"))
                .isInstanceOf(UnsatisfiedLinkError.class).hasMessageContaining("/nonexistent/liblapack.so.3");
        assertThatThrownBy(() -> NativeLapackEigen.decompose(new double[8], 3, false, new double[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("order 3").hasMessageContaining("got 8");
    }

    @Test
    void diagonalGivesItsEntriesDescendingAndTheUnitVectors() {
        double[] a = new double[16];
        double[] d = {3, -1, 7, 0};
        for (int i = 0; i < 4; i++) {
            a[i * 4 + i] = d[i];
        }
        SymmetricEigen e = lapack(a, 4, true);
        assertThat(e.values()).containsExactly(new double[] {7, 3, 0, -1}, within(VALUE * 7));
        int[] axis = {2, 0, 3, 1};
        for (int i = 0; i < 4; i++) {
            double[] unit = new double[4];
            unit[axis[i]] = 1; // the sign convention: the largest entry positive
            assertThat(e.vector(i)).containsExactly(unit, within(VECTOR));
        }
        assertThat(lapack(a, 4, false).values()).containsExactly(new double[] {7, 3, 0, -1}, within(VALUE * 7));
    }

    @Test
    void rotatedDiagonalGivesTheKnownSpectrumAndTheRotationsColumns() {
        int n = 40;
        double[] q = Matrices.randomOrthogonal(n, new Random(7));
        double[] lambda = new double[n];
        for (int i = 0; i < n; i++) {
            lambda[i] = 10 - 0.5 * i; // 10, 9.5, … , -9.5: separated by 0.5, signs mixed
        }
        double[] a = conjugate(q, lambda, n);
        SymmetricEigen e = lapack(a, n, true);
        assertThat(e.values()).containsExactly(lambda, within(VALUE * 10 * n));
        for (int i = 0; i < n; i++) {
            double[] column = new double[n];
            for (int k = 0; k < n; k++) {
                column[k] = q[k * n + i];
            }
            assertThat(e.vector(i)).containsExactly(SymmetricEigen.canonical(column), within(VECTOR * n));
        }
        assertThat(lapack(a, n, false).values()).containsExactly(lambda, within(VALUE * 10 * n));
    }

    @Test
    void repeatedEigenvaluesGiveTheirEigenspace() {
        int n = 5;
        double[] q = Matrices.randomOrthogonal(n, new Random(3));
        double[] lambda = {2, 2, 2, -1, -1};
        SymmetricEigen e = lapack(conjugate(q, lambda, n), n, true);
        assertThat(e.values()).containsExactly(lambda, within(VALUE * 2 * n));
        // the projector onto the eigenspace of 2 is Q₃Q₃ᵀ, whatever basis of it the solver chose
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < n; c++) {
                double expected = 0;
                double got = 0;
                for (int i = 0; i < 3; i++) {
                    expected += q[r * n + i] * q[c * n + i];
                    got += e.vector(i)[r] * e.vector(i)[c];
                }
                assertThat(got).as("projector (%d,%d)", r, c).isCloseTo(expected, within(VECTOR * n));
            }
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                assertThat(Matrices.dot(e.vector(i), e.vector(j))).isCloseTo(i == j ? 1 : 0, within(VECTOR * n));
            }
        }
    }

    @Test
    void orderOneIsItsEntry() {
        SymmetricEigen e = lapack(new double[] {-4.5}, 1, true);
        assertThat(e.values()).containsExactly(-4.5);
        assertThat(e.vector(0)).containsExactly(1.0);
        assertThat(e.bottomVector()).containsExactly(1.0);
    }

    @Test
    void asymmetricInputIsSymmetrisedFirst() {
        // (S + Sᵀ)/2 = [[1, 1], [1, 1]]: eigenvalues 2 and 0, not S's 1 and 1
        SymmetricEigen e = lapack(new double[] {1, 2, 0, 1}, 2, true);
        assertThat(e.values()).containsExactly(new double[] {2, 0}, within(VALUE * 2));
        assertThat(e.vector(0)).containsExactly(new double[] {Math.sqrt(0.5), Math.sqrt(0.5)}, within(VECTOR));
    }

    @Test
    void badInputIsRejectedByName() {
        assertThatThrownBy(() -> lapack(new double[] {1, 0, 0, Double.NaN}, 2, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(1,1)").hasMessageContaining("NaN");
        assertThatThrownBy(() -> lapack(new double[] {1, Double.NEGATIVE_INFINITY, 0, 1}, 2, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(0,1)").hasMessageContaining("-Infinity");
        assertThatThrownBy(() -> lapack(new double[5], 2, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length 5");
        assertThatThrownBy(() -> lapack(new double[0], 0, false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n=0");
        assertThatThrownBy(() -> lapack(new double[] {1}, 1, false).vector(0))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("without eigenvectors");
    }

    /** @return {@code Q diag(λ) Qᵀ}, row-major */
    static double[] conjugate(double[] q, double[] lambda, int n) {
        double[] a = new double[n * n];
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < n; c++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += q[r * n + i] * lambda[i] * q[c * n + i];
                }
                a[r * n + c] = s;
            }
        }
        return a;
    }
}
