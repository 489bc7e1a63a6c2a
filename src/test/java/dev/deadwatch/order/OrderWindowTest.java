package dev.deadwatch.order;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class OrderWindowTest {

    private static double[] grid(int n) {
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1e-3 * Math.pow(300, i / (n - 1.0));
        }
        return t;
    }

    @Test
    void pureLawGivesTheWholeGrid() {
        double[] t = grid(10);
        double[] f = new double[10];
        double[] floor = new double[10];
        for (int i = 0; i < 10; i++) {
            f[i] = Math.pow(t[i], 4); // k = 3
            floor[i] = 1e-40;
        }
        assertThat(OrderRead.window(t, f, floor)).containsExactly(0, 9);
    }

    @Test
    void pointsUnderTheFloorAreNeverUsedAndABendEndsTheWindow() {
        double[] t = grid(10);
        double[] f = new double[10];
        double[] floor = new double[10];
        for (int i = 0; i < 10; i++) {
            f[i] = t[i] * t[i]; // k = 2
            floor[i] = i < 2 ? 1.0 : 1e-30; // first two points drown in noise
            if (i >= 8) {
                f[i] = f[7] * 1.01; // saturates: slope 0, not 2
            }
        }
        int[] w = OrderRead.window(t, f, floor);
        assertThat(w[0]).isEqualTo(2);
        assertThat(w[1]).isLessThanOrEqualTo(7);
        assertThat(w[1] - w[0] + 1).isGreaterThanOrEqualTo(OrderRead.MIN_WINDOW);
    }

    @Test
    void fewerThanFourClearingPointsIsPreAsymptotic() {
        double[] t = grid(10);
        double[] f = new double[10];
        double[] floor = new double[10];
        for (int i = 0; i < 10; i++) {
            f[i] = t[i];
            floor[i] = i < 7 ? 1.0 : 1e-30;
        }
        assertThat(OrderRead.window(t, f, floor)).isNull();
    }
}
