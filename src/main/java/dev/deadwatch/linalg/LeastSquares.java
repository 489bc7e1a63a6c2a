package dev.deadwatch.linalg;

/** Ordinary least-squares line fits, the only regression the reads need. */
public final class LeastSquares {

    private LeastSquares() {}

    /**
     * Slope of the least-squares line through {@code (x_i, y_i)}.
     *
     * @return the slope, or {@code NaN} with fewer than two points or no spread in {@code x}
     */
    public static double slope(double[] x, double[] y) {
        return slope(x, y, 0, x.length);
    }

    /** Slope over the index range {@code [from, to)}; see {@link #slope(double[], double[])}. */
    public static double slope(double[] x, double[] y, int from, int to) {
        if (x.length != y.length) {
            throw new IllegalArgumentException(
                    "x and y lengths differ: " + x.length + " vs " + y.length);
        }
        int n = to - from;
        if (n < 2) {
            return Double.NaN;
        }
        double mx = 0;
        double my = 0;
        for (int i = from; i < to; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxx = 0;
        double sxy = 0;
        for (int i = from; i < to; i++) {
            sxx += (x[i] - mx) * (x[i] - mx);
            sxy += (x[i] - mx) * (y[i] - my);
        }
        return sxx > 0 ? sxy / sxx : Double.NaN;
    }
}
