package dev.deadwatch.regime;

import java.util.Collections;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What identifies a layer's singular regime.
 *
 * @param dead headline dead count ({@code round(D(ε_dead))} beyond structural kernels)
 * @param orders the integer orders ≥ 2 read among the layer's candidates
 * @param kernel whether the LayerNorm inverse-scale kernel is present
 */
public record Signature(int dead, SortedSet<Integer> orders, boolean kernel) {
    /** Copies. */
    public Signature {
        if (dead < 0) {
            throw new IllegalArgumentException("dead count must be >= 0, got " + dead);
        }
        orders = Collections.unmodifiableSortedSet(new TreeSet<>(orders));
    }
}
