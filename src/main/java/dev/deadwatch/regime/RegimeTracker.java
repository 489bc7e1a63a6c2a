package dev.deadwatch.regime;

import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Confirms regime changes per layer (docs/metrics.md): a change is confirmed when the layer's
 * signature differs from the current regime's for {@code persist} consecutive reads; the new
 * regime takes the newest signature. A read like the current regime's resets the count, so a
 * one-read blip never fires. The first signature of a layer opens regime 0.
 *
 * <p>Hysteresis: a dead count differs only when it leaves the band
 * {@code ±max(1, floor(}{@link #DEAD_BAND}{@code × current))} around the current regime's count (no
 * band around 0), so a layer does not change regime on one direction flickering at the
 * threshold, nor a layer with many dead directions on the noise of a few; the first death of a
 * layer and any move by two or more in a small layer still count. The orders read and the kernel
 * must match exactly.
 */
public final class RegimeTracker {

    /** Default number of consecutive reads that confirm a change. */
    public static final int DEFAULT_PERSIST = 2;

    /** Relative half-width of the band a dead count must leave to differ from the current regime's. */
    public static final double DEAD_BAND = 0.1;

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
        if (alike(signature, s.current)) {
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

    /** @return the half-width of the band around a regime's dead count */
    static int band(int dead) {
        return dead == 0 ? 0 : Math.max(1, (int) Math.floor(DEAD_BAND * dead));
    }

    /** @return whether a read's signature is the regime's, up to the dead-count band */
    static boolean alike(Signature read, Signature regime) {
        return Math.abs(read.dead() - regime.dead()) <= band(regime.dead()) && read.orders().equals(regime.orders())
                && read.kernel() == regime.kernel();
    }

    static Set<ChangeKind> kinds(Signature from, Signature to) {
        Set<ChangeKind> k = EnumSet.noneOf(ChangeKind.class);
        if (to.dead() > from.dead() + band(from.dead())) {
            k.add(ChangeKind.DEAD_UP);
        } else if (to.dead() < from.dead() - band(from.dead())) {
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
