package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.listener.TimelineRow;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue acceptance: the grokking demo groks (validation accuracy from below 20% to above 95%,
 * long after training accuracy saturates) and a layer's headline dead count rises within the
 * grokking window.
 */
class GrokkingExampleTest {

    @Test
    void groksAndDeadDirectionsRiseThroughTheJump() throws Exception {
        Grokking.Result r = Grokking.run(Settings.quiet());
        try (var monitor = r.monitor()) {
            List<TimelineRow> rows = monitor.timeline();
            assertThat(rows.size()).isGreaterThanOrEqualTo(20);
            TimelineRow first = rows.stream().filter(x -> !Double.isNaN(x.validationAccuracy())).findFirst().orElseThrow();
            assertThat(first.validationAccuracy()).isLessThan(0.2);
            // memorised first: training accuracy saturates while validation is still low
            TimelineRow memorised = rows.stream().filter(x -> x.trainAccuracy() > 0.99).findFirst().orElseThrow();
            assertThat(memorised.validationAccuracy()).isLessThan(0.2);
            // the grokking window: last read below 20% validation to first read above 95%
            TimelineRow start = rows.stream().filter(x -> x.validationAccuracy() < 0.2).reduce((a, b) -> b).orElseThrow();
            TimelineRow end = rows.stream().filter(x -> x.validationAccuracy() > 0.95).findFirst().orElseThrow();
            assertThat(end.step()).isGreaterThan(start.step());
            assertThat(start.step()).isGreaterThan(memorised.step());
            int maxRise = 0;
            String layer = null;
            for (String l : end.dead().keySet()) {
                int rise = end.dead().get(l) - start.dead().getOrDefault(l, 0);
                if (rise > maxRise) {
                    maxRise = rise;
                    layer = l;
                }
            }
            assertThat(maxRise).as("largest rise of a headline dead count, layer %s", layer).isGreaterThanOrEqualTo(20);
            assertThat(r.changes()).anySatisfy(c -> assertThat(c.step()).isBetween(start.step(), end.step()));
        }
    }
}
