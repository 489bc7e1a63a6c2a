package dev.deadwatch.regime;

import java.util.Set;

/**
 * A confirmed regime change of one layer.
 *
 * @param layer block path
 * @param step training step of the confirming read
 * @param regime the new regime number
 * @param from the previous regime's signature
 * @param to the new signature
 * @param kinds what changed (empty when only a kernel appeared)
 */
public record RegimeChange(String layer, long step, int regime, Signature from, Signature to,
        Set<ChangeKind> kinds) {
    /** Copies. */
    public RegimeChange {
        kinds = Set.copyOf(kinds);
    }

    /** @return a one-line description for the log */
    public String describe() {
        return String.format(java.util.Locale.ROOT,
                "deadwatch: layer %s entered regime %d at step %d (%s): dead %d -> %d, orders %s -> %s, kernel %s -> %s",
                layer, regime, step, kinds, from.dead(), to.dead(), from.orders(), to.orders(),
                from.kernel(), to.kernel());
    }
}
