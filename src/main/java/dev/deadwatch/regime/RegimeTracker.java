package dev.deadwatch.regime;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Confirms regime changes per layer (docs/metrics.md): a change is confirmed when the layer's
 * signature differs from the current regime's for {@code persist} consecutive reads; the new
 * regime takes the newest signature. A read equal to the current regime's resets the count, so
 * a one-read blip never fires. The first signature of a layer opens regime 0.
 */
public final class RegimeTracker {

    /** Default number of consecutive reads that confirm a change. */
    public static final int DEFAULT_PERSIST = 2;

    private final int persist;
    private final Map<String, State> layers = new HashMap<>();

    private static final class State {
        Signature current;
        int regime;
        Signature pending;
        int count;
    }

    /** @param persist consecutive reads that confirm a change, at least 1 */
    public RegimeTracker(int persist) {
        if (persist < 1) {
            throw new IllegalArgumentException("persist must be >= 1, got " + persist);
        }
        this.persist = persist;
    }

    /**
     * Feeds one read of a layer.
     *
     * @param layer block path
     * @param step training step
     * @param signature the read's signature
     * @return the confirmed change, if this read confirms one
     */
    public Optional<RegimeChange> observe(String layer, long step, Signature signature) {
        State s = layers.get(layer);
        if (s == null) {
            s = new State();
            s.current = signature;
            layers.put(layer, s);
            return Optional.empty();
        }
        if (signature.equals(s.current)) {
            s.pending = null;
            s.count = 0;
            return Optional.empty();
        }
        s.pending = signature; // the newest differing signature is the one a change confirms
        s.count++;
        if (s.count < persist) {
            return Optional.empty();
        }
        Signature from = s.current;
        s.current = signature;
        s.regime++;
        s.pending = null;
        s.count = 0;
        return Optional.of(new RegimeChange(layer, step, s.regime, from, signature, kinds(from, signature)));
    }

    /** @return the layer's current regime number, 0 if never seen */
    public int regime(String layer) {
        State s = layers.get(layer);
        return s == null ? 0 : s.regime;
    }

    static Set<ChangeKind> kinds(Signature from, Signature to) {
        Set<ChangeKind> k = EnumSet.noneOf(ChangeKind.class);
        if (to.dead() > from.dead()) {
            k.add(ChangeKind.DEAD_UP);
        } else if (to.dead() < from.dead()) {
            k.add(ChangeKind.DEAD_DOWN);
        }
        if (!from.orders().containsAll(to.orders())) {
            k.add(ChangeKind.NEW_ORDER);
        }
        if (!to.orders().containsAll(from.orders())) {
            k.add(ChangeKind.ORDER_LOST);
        }
        if (from.kernel() && !to.kernel()) {
            k.add(ChangeKind.KERNEL_LOST);
        }
        return k;
    }
}
