package dev.deadwatch.export;

import dev.deadwatch.census.Census;
import dev.deadwatch.order.OrderSample;
import io.micrometer.core.instrument.Tags;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rows of the order read's per-layer series ({@code deadwatch_order_candidates},
 * {@code deadwatch_directions}, {@code deadwatch_learning_coefficient_dead}) over the order reads
 * so far. A layer that has had candidates keeps its rows (0 when a newer read finds none); a layer
 * the order read's sample left for another time ({@code read} 0) keeps its last census.
 */
final class CensusRows {

    /** Layers that have had an order read with candidates, in order of first appearance. */
    private final Set<String> layers = new LinkedHashSet<>();
    /** Layer → its newest census. */
    private final Map<String, Census> kept = new HashMap<>();
    private final Map<String, OrderSample> sampled = new HashMap<>();

    /**
     * Takes one order read.
     *
     * @param census the read's census per layer
     * @param samples how many of each layer's candidates it read
     */
    void update(Map<String, Census> census, List<OrderSample> samples) {
        sampled.clear();
        samples.forEach(o -> sampled.put(o.layer(), o));
        layers.addAll(census.keySet());
        layers.addAll(sampled.keySet());
        for (String l : layers) {
            OrderSample o = sampled.get(l);
            if (o == null || o.read() > 0) { // read this time, or no longer a candidate: its census is new
                kept.remove(l);
                if (census.containsKey(l)) {
                    kept.put(l, census.get(l));
                }
            }
        }
    }

    /** @return {@code layer, set=found|read} rows of the newest order read */
    Map<Tags, Number> sizes() {
        Map<Tags, Number> rows = new LinkedHashMap<>();
        for (String l : layers) {
            OrderSample o = sampled.get(l);
            rows.put(Tags.of("layer", l, "set", "found"), o == null ? 0 : o.found());
            rows.put(Tags.of("layer", l, "set", "read"), o == null ? 0 : o.read());
        }
        return rows;
    }

    /** @return {@code layer, order} rows: candidates in each class */
    Map<Tags, Number> classes() {
        Map<Tags, Number> rows = new LinkedHashMap<>();
        for (String l : layers) {
            Census c = kept.get(l);
            for (String label : DeadwatchMetrics.ORDER_LABELS) {
                rows.put(Tags.of("layer", l, "order", label), c == null ? 0 : c.count(label));
            }
        }
        return rows;
    }

    /** @return {@code layer} rows: Σ 1/(2k) over the dead directions */
    Map<Tags, Number> lambdaDead() {
        Map<Tags, Number> rows = new LinkedHashMap<>();
        for (String l : layers) {
            Census c = kept.get(l);
            rows.put(Tags.of("layer", l), c == null ? 0 : c.lambdaDead());
        }
        return rows;
    }
}
