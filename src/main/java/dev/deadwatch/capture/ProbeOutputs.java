package dev.deadwatch.capture;

/**
 * Model outputs on the probe batch.
 *
 * @param values row-major float64 values
 * @param width last-axis width
 */
public record ProbeOutputs(double[] values, int width) {
    /** Defensive copy. */
    public ProbeOutputs {
        values = values.clone();
    }

    @Override
    public double[] values() {
        return values.clone();
    }

    /** @return root-mean-square of the values */
    public double rms() {
        double s = 0;
        for (double v : values) {
            s += v * v;
        }
        return Math.sqrt(s / Math.max(1, values.length));
    }
}
