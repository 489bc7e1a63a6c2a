package dev.deadwatch.export;

import dev.deadwatch.regime.ChangeKind;
import dev.deadwatch.regime.RegimeChange;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.Collection;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The per-layer regime series of the contract: {@code deadwatch_regime} and
 * {@code deadwatch_regime_changes_total} for every kind, registered at zero when a layer becomes
 * known. Part of {@link DeadwatchMetrics}, which owns the registry and the removal of the meters.
 */
final class RegimeMeters {

    private final Map<String, EnumMap<ChangeKind, Counter>> changes = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> regimes = new ConcurrentHashMap<>();

    /**
     * @param layers layer paths
     * @param reg the registry
     * @param base the run's tags
     * @param track told of every meter registered
     */
    void register(Collection<String> layers, MeterRegistry reg, Tags base, Consumer<Meter> track) {
        for (String layer : layers) {
            changes.computeIfAbsent(layer, l -> {
                EnumMap<ChangeKind, Counter> byKind = new EnumMap<>(ChangeKind.class);
                for (ChangeKind k : ChangeKind.values()) {
                    Counter c = Counter.builder("deadwatch.regime.changes").description("Confirmed regime changes.")
                            .tags(base).tag("layer", l).tag("kind", k.label()).register(reg);
                    track.accept(c);
                    byKind.put(k, c);
                }
                return byKind;
            });
            regimes.computeIfAbsent(layer, l -> {
                AtomicInteger n = new AtomicInteger();
                track.accept(Gauge.builder("deadwatch.regime", n, AtomicInteger::get)
                        .description("Regime number, +1 at each confirmed change.").tags(base).tag("layer", l)
                        .strongReference(true).register(reg));
                return n;
            });
        }
    }

    /** @param change a confirmed change of a registered layer */
    void change(RegimeChange change) {
        regimes.get(change.layer()).set(change.regime());
        EnumMap<ChangeKind, Counter> byKind = changes.get(change.layer());
        for (ChangeKind k : change.kinds()) {
            byKind.get(k).increment();
        }
    }
}
