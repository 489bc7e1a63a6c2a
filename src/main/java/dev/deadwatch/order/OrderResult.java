package dev.deadwatch.order;

import dev.deadwatch.order.Prediction;

/**
 * The order read of one candidate (docs/method.md §3).
 *
 * @param candidate candidate name
 * @param layer block path
 * @param predicted what the detector predicted
 * @param classification the verdict
 * @param kHat {@code k̂ = 1 + β/2}, {@code NaN} without a window
 * @param order the integer order when {@code |k̂ - round(k̂)| ≤ 0.15}, else 0
 * @param windowFrom first grid index of the asymptotic window, -1 without one
 * @param windowTo last grid index (inclusive), -1 without one
 * @param extended whether the grid was extended upward to find clearing points
 * @param magnitudeLog10 {@code log10(max_t F_v(t) / F_ref)} against the live reference
 * @param t the grid
 * @param fisher {@code F_v(t)} on the grid
 * @param floor the noise floor at each grid point
 */
public record OrderResult(
        String candidate,
        String layer,
        Prediction predicted,
        Classification classification,
        double kHat,
        int order,
        int windowFrom,
        int windowTo,
        boolean extended,
        double magnitudeLog10,
        double[] t,
        double[] fisher,
        double[] floor) {

    /** Copies the arrays. */
    public OrderResult {
        t = t.clone();
        fisher = fisher.clone();
        floor = floor.clone();
    }

    @Override
    public double[] t() {
        return t.clone();
    }

    @Override
    public double[] fisher() {
        return fisher.clone();
    }

    @Override
    public double[] floor() {
        return floor.clone();
    }

    /** @return whether this is a dead direction with an integer order ≥ 2 */
    public boolean isDead() {
        return classification == Classification.SINGULAR && order >= 2;
    }

    /**
     * @return the {@code order} metric label: {@code "1"}…{@code "8"}, {@code "gauge"}, or
     *     {@code "preasymptotic"} (no window, or a non-integer {@code k̂}); orders above 8 read as
     *     {@code "8"}
     */
    public String orderLabel() {
        if (classification == Classification.GAUGE) {
            return "gauge";
        }
        if (classification == Classification.PREASYMPTOTIC || order == 0) {
            return "preasymptotic";
        }
        return Integer.toString(Math.min(order, 8));
    }

    /** @return a one-line summary, e.g. {@code singular k̂=2.003 (k=2)} */
    public String summary() {
        return switch (classification) {
            case GAUGE -> magnitudeLog10 == Double.NEGATIVE_INFINITY ? "gauge (F = 0 exactly)"
                    : String.format(java.util.Locale.ROOT, "gauge (log10 F/Fref=%.1f)", magnitudeLog10);
            case PREASYMPTOTIC -> "pre-asymptotic";
            default -> String.format(java.util.Locale.ROOT, "%s k̂=%.3f%s",
                    classification.name().toLowerCase(java.util.Locale.ROOT), kHat,
                    order > 0 ? " (k=" + order + ")" : " (non-integer)");
        };
    }
}
