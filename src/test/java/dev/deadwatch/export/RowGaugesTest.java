package dev.deadwatch.export;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A read replaces a metric's rows without removing and re-registering the rows that stay: a scrape
 * running meanwhile then never sees a row twice (Micrometer's {@code MultiGauge} with overwrite
 * removes and re-adds every row, and a concurrent Prometheus scrape failed with
 * {@code DuplicateLabelsException}).
 */
class RowGaugesTest {

    @Test
    void rowsThatStayKeepTheirGaugeAndOnlyRowsThatGoAreRemoved() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<Meter.Id> added = new ArrayList<>();
        List<Meter.Id> removed = new ArrayList<>();
        reg.config().onMeterAdded(m -> added.add(m.getId()));
        reg.config().onMeterRemoved(m -> removed.add(m.getId()));
        RowGauges g = new RowGauges(reg, "deadwatch.test", "a test", Tags.of("run", "r"));
        Map<Tags, Double> rows = new LinkedHashMap<>();
        rows.put(Tags.of("layer", "a"), 1.0);
        rows.put(Tags.of("layer", "b"), 2.0);
        g.set(rows);
        Gauge a = reg.get("deadwatch.test").tag("layer", "a").tag("run", "r").gauge();
        assertThat(a.value()).isEqualTo(1.0);
        assertThat(added).hasSize(2);

        rows.put(Tags.of("layer", "a"), 5.0);
        rows.put(Tags.of("layer", "b"), Double.NaN);
        g.set(rows);
        assertThat(removed).as("an update removes nothing").isEmpty();
        assertThat(added).as("and adds nothing").hasSize(2);
        assertThat(reg.get("deadwatch.test").tag("layer", "a").gauge()).isSameAs(a);
        assertThat(a.value()).isEqualTo(5.0);
        assertThat(reg.get("deadwatch.test").tag("layer", "b").gauge().value()).isNaN();

        g.set(Map.of(Tags.of("layer", "b"), 3, Tags.of("layer", "c"), 4));
        assertThat(removed).extracting(id -> id.getTag("layer")).containsExactly("a");
        assertThat(reg.find("deadwatch.test").gauges()).extracting(x -> x.getId().getTag("layer"))
                .containsExactlyInAnyOrder("b", "c");
        assertThat(reg.get("deadwatch.test").tag("layer", "b").gauge().value()).isEqualTo(3.0);

        g.clear();
        assertThat(reg.find("deadwatch.test").gauges()).isEmpty();
    }
}
