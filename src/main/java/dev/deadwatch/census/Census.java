package dev.deadwatch.census;

import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import java.util.Collection;
import java.util.Collections;
import java.util.OptionalInt;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The census of one layer or model (docs/method.md §4): counts per order,
 * {@code λ_dead = Σ_dead 1/(2k_i)} (gauge directions contribute 0), and, when the regular
 * directions are counted (numerical rank of the Fisher block),
 * {@code λ̂ = regular/2 + λ_dead}.
 *
 * @param scope layer path or model name
 * @param byOrder integer order → count of directions read with it (1 = regular)
 * @param gauge flat gauge directions
 * @param preasymptotic directions with no window or a non-integer {@code k̂}
 * @param lambdaDead {@code Σ 1/(2k)} over dead directions (order ≥ 2)
 * @param regularCount the counted regular directions, empty if not counted
 * @param lambdaHat {@code regular/2 + λ_dead}, {@code NaN} if the regular directions are not
 *     counted
 */
public record Census(
        String scope,
        SortedMap<Integer, Integer> byOrder,
        int gauge,
        int preasymptotic,
        double lambdaDead,
        OptionalInt regularCount,
        double lambdaHat) {

    /** Copies. */
    public Census {
        byOrder = Collections.unmodifiableSortedMap(new TreeMap<>(byOrder));
    }

    /**
     * @param scope layer path or model name
     * @param reads order reads of the scope's candidates
     * @param regularCount numerical rank of the Fisher block, if counted
     * @return the census
     */
    public static Census of(String scope, Collection<OrderResult> reads, OptionalInt regularCount) {
        SortedMap<Integer, Integer> byOrder = new TreeMap<>();
        int gauge = 0;
        int pre = 0;
        double lambda = 0;
        for (OrderResult r : reads) {
            if (r.classification() == Classification.GAUGE) {
                gauge++;
            } else if (r.order() == 0) {
                pre++;
            } else {
                byOrder.merge(r.order(), 1, Integer::sum);
                if (r.isDead()) {
                    lambda += 1.0 / (2.0 * r.order());
                }
            }
        }
        if (regularCount.isPresent() && regularCount.getAsInt() < 0) {
            throw new IllegalArgumentException("regular count must be >= 0, got " + regularCount);
        }
        double hat = regularCount.isPresent() ? regularCount.getAsInt() / 2.0 + lambda : Double.NaN;
        return new Census(scope, byOrder, gauge, pre, lambda, regularCount, hat);
    }

    /** @return the number of dead directions (integer order ≥ 2) */
    public int dead() {
        return byOrder.entrySet().stream().filter(e -> e.getKey() >= 2)
                .mapToInt(java.util.Map.Entry::getValue).sum();
    }

    /**
     * The directions with an order label of {@code deadwatch_directions}: {@code "1"}…{@code "8"}
     * (orders above 8 count as {@code "8"}), {@code "gauge"} or {@code "preasymptotic"}; the same
     * classes as {@link OrderResult#orderLabel()}.
     *
     * @param label the label
     * @return how many of the census' directions carry it
     * @throws IllegalArgumentException for any other label
     */
    public int count(String label) {
        switch (label) {
            case "gauge":
                return gauge;
            case "preasymptotic":
                return preasymptotic;
            default:
                int k;
                try {
                    k = Integer.parseInt(label);
                } catch (NumberFormatException e) {
                    k = 0;
                }
                if (k < 1 || k > 8) {
                    throw new IllegalArgumentException("order label must be 1..8, gauge or preasymptotic, got '"
                            + label + "'");
                }
                return k < 8 ? byOrder.getOrDefault(k, 0)
                        : byOrder.tailMap(8).values().stream().mapToInt(Integer::intValue).sum();
        }
    }
}
