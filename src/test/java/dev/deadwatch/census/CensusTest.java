package dev.deadwatch.census;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class CensusTest {

    private static OrderResult read(Classification c, double kHat, int order) {
        return new OrderResult("c", "l", Prediction.none(), c, kHat, order, 0, 3, false, 0,
                new double[0], new double[0], new double[0]);
    }

    @Test
    void sumsOneOverTwoKOverDeadDirectionsOnly() {
        List<OrderResult> reads = List.of(
                read(Classification.SINGULAR, 2.01, 2),
                read(Classification.SINGULAR, 3.0, 3),
                read(Classification.SINGULAR, 2.0, 2),
                read(Classification.REGULAR, 1.0, 1),
                read(Classification.GAUGE, Double.NaN, 0),
                read(Classification.PREASYMPTOTIC, Double.NaN, 0),
                read(Classification.SINGULAR, 2.5, 0)); // non-integer: not counted
        Census c = Census.of("layer", reads, OptionalInt.of(4));
        assertThat(c.lambdaDead()).isCloseTo(1 / 4.0 + 1 / 6.0 + 1 / 4.0, within(1e-15));
        assertThat(c.lambdaHat()).isCloseTo(2.0 + 2 / 3.0, within(1e-15));
        assertThat(c.byOrder()).containsEntry(1, 1).containsEntry(2, 2).containsEntry(3, 1);
        assertThat(c.gauge()).isEqualTo(1);
        assertThat(c.preasymptotic()).isEqualTo(2);
        assertThat(c.dead()).isEqualTo(3);
        assertThat(Census.of("x", reads, OptionalInt.empty()).lambdaHat()).isNaN();
    }

    @Test
    void countsPerOrderLabelAreTheOrderReadsOwnLabels() {
        List<OrderResult> reads = List.of(
                read(Classification.SINGULAR, 2.0, 2), read(Classification.SINGULAR, 2.0, 2),
                read(Classification.SINGULAR, 9.0, 9), read(Classification.SINGULAR, 8.0, 8),
                read(Classification.SINGULAR, 12.0, 12), read(Classification.REGULAR, 1.0, 1),
                read(Classification.GAUGE, Double.NaN, 0), read(Classification.PREASYMPTOTIC, Double.NaN, 0),
                read(Classification.SINGULAR, 2.5, 0));
        Census c = Census.of("layer", reads, OptionalInt.empty());
        for (String label : List.of("1", "2", "3", "4", "5", "6", "7", "8", "gauge", "preasymptotic")) {
            long expected = reads.stream().filter(r -> r.orderLabel().equals(label)).count();
            assertThat(c.count(label)).as("label %s", label).isEqualTo(expected);
        }
        assertThat(c.count("8")).isEqualTo(3); // 8, 9 and 12 share the top label
        assertThatThrownBy(() -> c.count("9")).hasMessageContaining("'9'");
        assertThatThrownBy(() -> c.count("regular")).hasMessageContaining("'regular'");
    }
}
