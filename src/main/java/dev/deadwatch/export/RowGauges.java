package dev.deadwatch.export;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One metric's per-layer series (rows of tags → value), replaced as a whole at each read. A row
 * that stays keeps its gauge and has its value updated in place; a new row gets a gauge; a row
 * that goes has its gauge removed. Micrometer's {@code MultiGauge} with {@code overwrite} instead
 * removes and re-registers every row, and a Prometheus scrape running meanwhile can see a row
 * twice and fail with {@code DuplicateLabelsException} (micrometer-metrics/micrometer#6851; seen
 * here in the agent's multi-trainer test, one scrape in a few runs).
 */
final class RowGauges {

    private record Live(DeadwatchMetrics.Value value, Gauge gauge) {}

    private final MeterRegistry registry;
    private final String name;
    private final String description;
    private final Tags base;
    private final Map<Tags, Live> rows = new LinkedHashMap<>();

    /**
     * @param registry where the gauges go
     * @param name the metric's name
     * @param description its description
     * @param base tags every row carries
     */
    RowGauges(MeterRegistry registry, String name, String description, Tags base) {
        this.registry = registry;
        this.name = name;
        this.description = description;
        this.base = base;
    }

    /**
     * Makes the series exactly these rows.
     *
     * @param values row tags → value (NaN allowed)
     */
    synchronized void set(Map<Tags, ? extends Number> values) {
        for (Map.Entry<Tags, ? extends Number> e : values.entrySet()) {
            Live live = rows.get(e.getKey());
            if (live == null) {
                DeadwatchMetrics.Value v = new DeadwatchMetrics.Value();
                v.value = e.getValue().doubleValue(); // before the gauge exists: no scrape sees NaN
                Gauge g = Gauge.builder(name, v, DeadwatchMetrics.Value::get).description(description).tags(base)
                        .tags(e.getKey()).strongReference(true).register(registry);
                rows.put(e.getKey(), new Live(v, g));
            } else {
                live.value().value = e.getValue().doubleValue();
            }
        }
        rows.entrySet().removeIf(e -> {
            if (values.containsKey(e.getKey())) {
                return false;
            }
            registry.remove(e.getValue().gauge());
            return true;
        });
    }

    /** Removes every row. */
    synchronized void clear() {
        set(Map.of());
    }
}
