package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SpectrumTest {

    private static final double TOL = 1e-12;

    @ParameterizedTest(name = "r = {0} dead directions sit on the D(eps) plateau")
    @ValueSource(ints = {0, 1, 2, 3, 4, 7})
    void deadProfilePlateauEqualsDeadCount(int r) {
        double[] live = {4.0, 2.0, 1.0, 0.5, 0.1};
        double[] values = new double[live.length + r];
        System.arraycopy(live, 0, values, 0, live.length);
        for (int i = 0; i < r; i++) {
            values[live.length + i] = 4.0 * 1e-10 * (i + 1); // relative 1e-10..
        }
        Spectrum s = Spectrum.of(values, values.length);
        // eps between dead (<= 1e-9 relative) and live (>= 0.025 relative): plateau at r
        for (double eps : new double[] {1e-4, 1e-5, 1e-6}) {
            double expectedLive = 0;
            for (double v : live) {
                expectedLive += eps / (v / 4.0 + eps);
            }
            double expectedDead = 0;
            for (int i = 0; i < r; i++) {
                expectedDead += eps / (1e-10 * (i + 1) + eps);
            }
            assertThat(s.deadProfile(eps)).isCloseTo(expectedLive + expectedDead, within(TOL));
            assertThat(Math.round(s.deadProfile(eps))).isEqualTo(r);
        }
    }

    @Test
    void paddedZerosCountAsDead() {
        // a covariance of width 6 seen through a 3x3 Gram: 3 exact zeros are padded
        Spectrum s = Spectrum.of(new double[] {1.0, 0.5, 0.25}, 6);
        assertThat(s.dimension()).isEqualTo(6);
        assertThat(s.deadProfile(1e-4)).isCloseTo(3 + 1e-4 / 1.0001 + 1e-4 / 0.5001 + 1e-4 / 0.2501,
                within(TOL));
    }

    @Test
    void activeVolumeLambdaMinAndEffectiveRank() {
        Spectrum s = Spectrum.of(new double[] {0.1, 2.0, 1e-14, 0.5}, 4);
        assertThat(s.values()).containsExactly(2.0, 0.5, 0.1, 1e-14);
        assertThat(s.logDetActive(1e-12)).isCloseTo(Math.log(2.0) + Math.log(0.5) + Math.log(0.1),
                within(TOL));
        assertThat(s.lambdaMinPositive(1e-12)).isCloseTo(0.05, within(TOL));
        assertThat(s.activeRank(1e-12)).isEqualTo(3);
        Spectrum flat = Spectrum.of(new double[] {3, 3, 3, 3, 3}, 5);
        assertThat(flat.effectiveRank()).isCloseTo(5.0, within(TOL));
        Spectrum one = Spectrum.of(new double[] {3, 0, 0}, 3);
        assertThat(one.effectiveRank()).isCloseTo(1.0, within(TOL));
    }

    @Test
    void zeroMatrixIsNotANumberNotAMagicValue() {
        Spectrum z = Spectrum.of(new double[] {0, 0}, 2);
        assertThat(z.logDetActive(1e-12)).isNaN();
        assertThat(z.deadProfile(1e-4)).isNaN();
        assertThat(z.lambdaMinPositive(1e-12)).isNaN();
        assertThat(z.effectiveRank()).isNaN();
    }

    @Test
    void badInputIsRejectedNamingTheValue() {
        assertThatThrownBy(() -> Spectrum.of(new double[] {1, Double.NaN}, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> Spectrum.of(new double[] {1, -0.5}, 2))
                .hasMessageContaining("-0.5");
        assertThatThrownBy(() -> Spectrum.of(new double[] {1, 2}, 1))
                .hasMessageContaining("dimension 1");
        assertThatThrownBy(() -> Spectrum.of(new double[] {1}, 1).deadProfile(0))
                .hasMessageContaining("0.0");
    }
}
