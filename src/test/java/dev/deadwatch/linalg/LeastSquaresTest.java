package dev.deadwatch.linalg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.deadwatch.reads.LogDetTrend;
import org.junit.jupiter.api.Test;

class LeastSquaresTest {

    @Test
    void slopeOfAnExactLineAndOfNoisyPoints() {
        assertThat(LeastSquares.slope(new double[] {0, 1, 2, 3}, new double[] {1, 3, 5, 7}))
                .isCloseTo(2.0, within(1e-14));
        // y = 1, 2, 2, 4 at x = 0..3: slope = Sxy/Sxx = (…)/5 = 0.9
        assertThat(LeastSquares.slope(new double[] {0, 1, 2, 3}, new double[] {1, 2, 2, 4}))
                .isCloseTo(0.9, within(1e-14));
        assertThat(LeastSquares.slope(new double[] {1}, new double[] {1})).isNaN();
        assertThat(LeastSquares.slope(new double[] {2, 2}, new double[] {1, 5})).isNaN();
    }

    @Test
    void temporalSlopeIsPerThousandStepsOverTheWindow() {
        LogDetTrend trend = new LogDetTrend(3);
        assertThat(trend.add(100, 10.0)).isNaN();
        assertThat(trend.add(200, 9.0)).isCloseTo(-10.0, within(1e-12)); // -1 per 100 steps
        assertThat(trend.add(300, 8.0)).isCloseTo(-10.0, within(1e-12));
        // window of 3: the first point drops out, slope of (300,8),(400,8),(500,8) is 0
        trend.add(400, 8.0);
        assertThat(trend.add(500, 8.0)).isCloseTo(0.0, within(1e-12));
        // a non-finite read resets rather than poisoning the fit
        assertThat(trend.add(600, Double.NaN)).isNaN();
        assertThat(trend.add(700, 1.0)).isNaN();
    }
}
