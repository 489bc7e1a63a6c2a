package dev.deadwatch.capture;

/**
 * The output metric {@code M_i} of docs/method.md §0: the Fisher of the model's output distribution
 * in output space.
 */
public enum OutputMetric {
    /** Unit-noise Gaussian regression: {@code M = I}. */
    IDENTITY,
    /** Softmax classification over the last axis: {@code M = diag(p) - p pᵀ} in logit space. */
    SOFTMAX;

    /**
     * {@code Σ_rows vᵀ M v} over the rows of a row-major {@code rows × width} matrix.
     *
     * @param v the tangent {@code J v}, row-major
     * @param logits the outputs at which {@code M} is taken (only read for {@link #SOFTMAX})
     * @param width size of the last axis
     * @return the summed quadratic form
     */
    public double quadratic(double[] v, double[] logits, int width) {
        if (v.length % width != 0) {
            throw new IllegalArgumentException(
                    "length " + v.length + " is not a multiple of width " + width);
        }
        double total = 0;
        if (this == IDENTITY) {
            for (double x : v) {
                total += x * x;
            }
            return total;
        }
        int rows = v.length / width;
        double[] p = new double[width];
        for (int r = 0; r < rows; r++) {
            int o = r * width;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < width; j++) {
                max = Math.max(max, logits[o + j]);
            }
            double z = 0;
            for (int j = 0; j < width; j++) {
                p[j] = Math.exp(logits[o + j] - max);
                z += p[j];
            }
            double mean = 0;
            double sq = 0;
            for (int j = 0; j < width; j++) {
                p[j] /= z;
                mean += p[j] * v[o + j];
                sq += p[j] * v[o + j] * v[o + j];
            }
            total += sq - mean * mean;
        }
        return total;
    }
}
