package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tests' gate on native LAPACK: a test that needs it is skipped where the native library is
 * absent, except under CI ({@code CI=true}), whose setup installs it ({@code scripts/setup.sh}),
 * where its absence fails the test instead of hiding it.
 */
final class NativeLapack {

    private NativeLapack() {}

    /** Skips the calling test without native LAPACK; fails it under CI. */
    static void assumeAvailable() {
        String problem = Eigensolver.lapackProblem().orElse(null);
        if ("true".equals(System.getenv("CI"))) {
            assertThat(problem).as("native LAPACK under CI (scripts/setup.sh installs libopenblas0)").isNull();
        }
        assumeTrue(problem == null, () -> "native LAPACK cannot run here: " + problem);
    }
}
