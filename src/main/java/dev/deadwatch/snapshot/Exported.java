package dev.deadwatch.snapshot;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The activation-side numbers the live monitor exports for one read, per layer, as
 * {@code deadwatch_dead_directions}, {@code deadwatch_directions_structural} (summed over causes)
 * and {@code deadwatch_directions_unresolved}; with the order read they rest on, which may be an
 * earlier snapshot's: the monitor keeps the newest complete order read's census between order reads.
 *
 * @param step the read's step
 * @param dead layer → headline dead count (the larger of the spectrum's dead part and the deaths the
 *     census confirmed in the layer)
 * @param structural layer → structural directions, every cause
 * @param unresolved layer → directions the probe cannot resolve
 * @param orderStep step of the newest complete order read at this read, -1 when there was none
 * @param orders layer → dead orders of that order read, e.g. {@code "3,3"} (layers with none left out)
 * @param censusDead layer → deaths that order read confirmed in the layer (its detector predicted them there)
 * @param lambdaDead layer → its census' {@code Σ 1/(2k)} ({@code deadwatch_learning_coefficient_dead})
 */
public record Exported(long step, Map<String, Integer> dead, Map<String, Integer> structural,
        Map<String, Integer> unresolved, long orderStep, Map<String, String> orders, Map<String, Integer> censusDead,
        Map<String, Double> lambdaDead) {

    /** Copies, keeping the layer order; a missing map is empty. */
    public Exported {
        dead = copy(dead);
        structural = copy(structural);
        unresolved = copy(unresolved);
        orders = copy(orders);
        censusDead = copy(censusDead);
        lambdaDead = copy(lambdaDead);
    }

    private static <V> Map<String, V> copy(Map<String, V> m) {
        return m == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(m));
    }
}
