package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Known answers for the benchmark's statistics. */
class BenchMathTest {

    @Test
    void spearmanIsOneForAnyIncreasingMapMinusOneForDecreasingAndHandlesTies() {
        double[] x = {1, 2, 3, 4, 5};
        assertThat(BenchCommand.spearman(x, new double[] {1, 4, 9, 16, 25})).isEqualTo(1.0, within(1e-12));
        assertThat(BenchCommand.spearman(x, new double[] {5, 4, 3, 2, 1})).isEqualTo(-1.0, within(1e-12));
        assertThat(BenchCommand.ranks(new double[] {10, 20, 20, 30})).containsExactly(1, 2.5, 2.5, 4);
        // ranks (1,2,3,4) vs (1,2.5,2.5,4): ρ = 4.5 / sqrt(5 · 4.5)
        assertThat(BenchCommand.spearman(new double[] {1, 2, 3, 4}, new double[] {10, 20, 20, 30}))
                .isEqualTo(4.5 / Math.sqrt(5 * 4.5), within(1e-12));
    }

    @Test
    void growthExponentOfAPowerLawIsItsPower() {
        int[] w = {64, 128, 256, 512, 1024};
        double[] t = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            t[i] = 3e-6 * Math.pow(w[i], 1.7);
        }
        assertThat(BenchCommand.slope(w, t)).isEqualTo(1.7, within(1e-12));
        // a size without a measurement is left out of the fit, not read as log(NaN)
        t[0] = Double.NaN;
        assertThat(BenchCommand.slope(w, t)).isEqualTo(1.7, within(1e-12));
        assertThat(BenchCommand.slope(w, new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN, 1})).isNaN();
        assertThat(BenchCommand.measured(w, t)).isEqualTo("128, 256, 512, 1024");
    }

    @Test
    void medianOfOddAndEvenSamples() {
        assertThat(BenchCommand.median(List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
        assertThat(BenchCommand.median(List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
    }
    @Test
    void theMonitorsShareOfAStepIsItsTimeOverThatStepAndTheWorstLeavesOutTheStepAsked() {
        MonitorClock c = new MonitorClock();
        long ms = 1_000_000;
        c.step(0, 2 * ms); // step 1: 2 ms of a 100 ms step
        c.step(100 * ms, 30 * ms); // step 2: 30 of 200 (the first snapshot, say)
        c.step(300 * ms, 5 * ms); // step 3: 5 of 50
        c.step(350 * ms, 40 * ms); // step 4: the last, no end known
        assertThat(c.shareOf(1)).isEqualTo(0.02, within(1e-12));
        assertThat(c.shareOf(2)).isEqualTo(0.15, within(1e-12));
        assertThat(c.shareOf(3)).isEqualTo(0.10, within(1e-12));
        assertThat(c.shareOf(4)).isNaN();
        assertThat(c.worstShareExcept(2)).isEqualTo(0.10, within(1e-12));
        assertThat(c.worstShareExcept(3)).isEqualTo(0.15, within(1e-12));
        assertThat(c.secondsAt(2)).isEqualTo(0.030, within(1e-12));
        assertThat(c.secondsAt(5)).isNaN();
        assertThat(c.secondsExcept(2)).isEqualTo(0.047, within(1e-12));
        assertThat(c.medianStepSeconds()).isEqualTo(0.1, within(1e-12));
    }
}
