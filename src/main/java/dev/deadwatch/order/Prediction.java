package dev.deadwatch.order;

/**
 * What a detector predicts for a candidate: an integer order {@code k ≥ 1}, a flat gauge, or
 * nothing (the read decides).
 *
 * @param order predicted order, 0 when none
 * @param flat whether a flat gauge is predicted
 */
public record Prediction(int order, boolean flat) {

    /** Validates. */
    public Prediction {
        if (order < 0 || (flat && order != 0)) {
            throw new IllegalArgumentException("invalid prediction order=" + order + " flat=" + flat);
        }
    }

    /** @param k order ≥ 1 @return a predicted order */
    public static Prediction order(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("predicted order must be >= 1, got " + k);
        }
        return new Prediction(k, false);
    }

    /** @return a predicted flat gauge */
    public static Prediction gauge() {
        return new Prediction(0, true);
    }

    /** @return no prediction: read, not predicted */
    public static Prediction none() {
        return new Prediction(0, false);
    }

    /** @return {@code "gauge"}, {@code "k=2"}, or {@code "read"} */
    public String label() {
        return flat ? "gauge" : order > 0 ? "k=" + order : "read";
    }
}
