package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Activations#covariance(NDArray, boolean)}: values now, eigenvectors when first asked. */
class CovarianceTest {

    /** Relative agreement of the eager and the lazy decomposition's eigenvalues (the same solver, the same matrix). */
    private static final double SAME = 1e-12;

    @Test
    void theLazyCovarianceHasTheEagerSpectrumAndItsVectorsWhenAsked() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(3);
            // 200 rows of 12 features, the last one a copy of the first: one dead direction
            NDArray x = m.randomNormal(0, 1, new Shape(200, 11), DataType.FLOAT64);
            NDArray a = Activations.centred(List.of(x.concat(x.get(":, 0:1"), 1)), 4096, m);
            Activations.Covariance eager = Activations.covariance(a);
            Activations.Covariance lazy = Activations.covariance(a, false);
            double[] e = eager.spectrum().values();
            double[] l = lazy.spectrum().values();
            assertThat(l).hasSize(12);
            for (int i = 0; i < 12; i++) {
                assertThat(l[i]).isCloseTo(e[i], within(SAME * e[0]));
            }
            assertThat(l[11]).isLessThan(1e-12 * l[0]);
            SymmetricEigen vectors = lazy.eigen();
            assertThat(lazy.eigen()).isSameAs(vectors);
            double[] bottom = vectors.bottomVector();
            // the dead direction is (e₀ − e₁₁)/√2, signed so that its first entry is positive
            assertThat(bottom[0]).isCloseTo(Math.sqrt(0.5), within(1e-9));
            assertThat(bottom[11]).isCloseTo(-Math.sqrt(0.5), within(1e-9));
            assertThat(Matrices.norm(bottom)).isCloseTo(1.0, within(1e-12));
            assertThat(lazy.rayleigh(bottom)).isCloseTo(0.0, within(1e-12 * l[0]));
        }
    }
}
