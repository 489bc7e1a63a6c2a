package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** How the JVM's eigensolver is chosen, and the per-thread choice of {@link Eigensolver#use}. */
class EigensolverTest {

    @Test
    void autoTakesLapackWhenItRunsAndEjmlOtherwise() {
        assertThat(Eigensolver.choose(null, null)).isEqualTo(Eigensolver.LAPACK);
        assertThat(Eigensolver.choose("auto", null)).isEqualTo(Eigensolver.LAPACK);
        assertThat(Eigensolver.choose(" AUTO ", null)).isEqualTo(Eigensolver.LAPACK);
        assertThat(Eigensolver.choose(null, "no liblapack.so.3")).isEqualTo(Eigensolver.EJML);
        assertThat(Eigensolver.choose("", "no liblapack.so.3")).isEqualTo(Eigensolver.EJML);
    }

    @Test
    void anExplicitChoiceIsKeptOrFailsNamingWhy() {
        assertThat(Eigensolver.choose("ejml", null)).isEqualTo(Eigensolver.EJML);
        assertThat(Eigensolver.choose("Lapack", null)).isEqualTo(Eigensolver.LAPACK);
        assertThatThrownBy(() -> Eigensolver.choose("lapack", "no liblapack.so.3"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no liblapack.so.3")
                .hasMessageContaining(Eigensolver.PROPERTY);
        assertThatThrownBy(() -> Eigensolver.choose("mkl", null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'mkl'")
                .hasMessageContaining(Eigensolver.PROPERTY);
    }

    @Test
    void useChoosesTheSolverOfTheCallingThreadAndRestoresIt() {
        Eigensolver outside = Eigensolver.current();
        double[] a = {2, 1, 1, 2};
        Eigensolver inner = Eigensolver.EJML.use(() -> {
            assertThat(SymmetricEigen.of(a, 2, false).solver()).isEqualTo(Eigensolver.EJML);
            return Eigensolver.current();
        });
        assertThat(inner).isEqualTo(Eigensolver.EJML);
        assertThat(Eigensolver.current()).isEqualTo(outside);
        assertThatThrownBy(() -> Eigensolver.EJML.use(() -> {
            throw new ArithmeticException("inside");
        })).hasMessage("inside");
        assertThat(Eigensolver.current()).isEqualTo(outside);
    }

    @Test
    void theJvmsChoiceFollowsAvailability() {
        // in this module's tests the binding is on the class path (an optional dependency of core)
        assertThat(Eigensolver.EJML.available()).isTrue();
        assertThat(Eigensolver.selected()).isEqualTo(
                System.getProperty(Eigensolver.PROPERTY) != null ? Eigensolver.choose(System.getProperty(Eigensolver.PROPERTY),
                        Eigensolver.lapackProblem().orElse(null))
                        : Eigensolver.LAPACK.available() ? Eigensolver.LAPACK : Eigensolver.EJML);
        assertThat(Eigensolver.LAPACK.describe()).startsWith("LAPACK dsyevd (");
        if (Eigensolver.LAPACK.available()) {
            assertThat(Eigensolver.LAPACK.describe()).contains("liblapack").doesNotContain("unavailable");
        }
    }

    @Test
    void aMultithreadedOpenBlasNotHeldToOneThreadIsFlagged() {
        String pthread = "/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3";
        String openmp = "/usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3";
        assertThat(NativeLapackEigen.threadingAdvice(pthread, null, null)).contains("OPENBLAS_NUM_THREADS=1")
                .contains("libopenblas0-serial").contains(pthread);
        assertThat(NativeLapackEigen.threadingAdvice(pthread, "2", "1")).isNotNull(); // OpenBLAS reads its own first
        assertThat(NativeLapackEigen.threadingAdvice(openmp, null, "4")).isNotNull();
        assertThat(NativeLapackEigen.threadingAdvice(pthread, " 1 ", null)).isNull();
        assertThat(NativeLapackEigen.threadingAdvice(openmp, null, "1")).isNull();
        assertThat(NativeLapackEigen.threadingAdvice("/usr/lib/x86_64-linux-gnu/openblas-serial/liblapack.so.3", null, null)).isNull();
        assertThat(NativeLapackEigen.threadingAdvice("/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3", "8", null)).isNull();
    }
}
