package dev.deadwatch.reads;

/** Which matrix a DDS read is on: the label {@code side} of the exported metrics. */
public enum Side {
    /** Activation covariance of the layer's output. */
    ACTIVATION("activation"),
    /** Per-sample-gradient (Fisher) Gram of a Linear layer's weight. */
    FISHER("fisher");

    private final String label;

    Side(String label) {
        this.label = label;
    }

    /** @return the metric label value */
    public String label() {
        return label;
    }
}
