package dev.deadwatch.reads;

import dev.deadwatch.linalg.LeastSquares;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Temporal slope of {@code log det⁺} (docs/method.md §2): least-squares slope against training step over
 * the last {@code W} reads, per 1000 steps. Negative means dead directions are deepening. Not
 * thread-safe: one instance per layer and side, fed in step order.
 */
public final class LogDetTrend {

    /** Default window {@code W}. */
    public static final int DEFAULT_WINDOW = 5;

    private final int window;
    private final Deque<double[]> points = new ArrayDeque<>();

    /** @param window number of reads in the fit, at least 2 */
    public LogDetTrend(int window) {
        if (window < 2) {
            throw new IllegalArgumentException("window must be >= 2, got " + window);
        }
        this.window = window;
    }

    /**
     * Adds a read and returns the slope over the window.
     *
     * @param step training step of the read
     * @param logDet its {@code log det⁺}; a non-finite value resets the window
     * @return slope per 1000 steps, {@code NaN} until two finite reads at distinct steps exist
     */
    public double add(long step, double logDet) {
        if (!Double.isFinite(logDet)) {
            points.clear();
            return Double.NaN;
        }
        if (!points.isEmpty() && step <= (long) points.peekLast()[0]) {
            throw new IllegalArgumentException("step " + step + " is not after the previous step "
                    + (long) points.peekLast()[0]);
        }
        points.addLast(new double[] {step, logDet});
        while (points.size() > window) {
            points.removeFirst();
        }
        double[] x = new double[points.size()];
        double[] y = new double[points.size()];
        int i = 0;
        for (double[] p : points) {
            x[i] = p[0];
            y[i++] = p[1];
        }
        return LeastSquares.slope(x, y) * 1000.0;
    }
}
