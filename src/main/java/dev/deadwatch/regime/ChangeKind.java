package dev.deadwatch.regime;

import java.util.Locale;

/** The {@code kind} label of {@code deadwatch_regime_changes_total}. */
public enum ChangeKind {
    /** The headline dead count rose. */
    DEAD_UP,
    /** The headline dead count fell. */
    DEAD_DOWN,
    /** An order not read before appeared. */
    NEW_ORDER,
    /** An order read before is gone. */
    ORDER_LOST,
    /** The LayerNorm kernel disappeared. */
    KERNEL_LOST;

    /** @return the metric label, e.g. {@code dead_up} */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
