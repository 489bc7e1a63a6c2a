package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.regime.ChangeKind;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Issue acceptance: the node-death demo reads order 3 and confirms a regime change. */
class NodeDeathExampleTest {

    @Test
    void surplusSquaredReluUnitsDieAtOrderThreeAndARegimeChangeIsConfirmed() throws Exception {
        NodeDeath.Result r = NodeDeath.run(Settings.quiet());
        try (var monitor = r.monitor()) {
            List<OrderResult> deaths = r.orders().stream()
                    .filter(o -> o.candidate().startsWith("node-death")).toList();
            assertThat(deaths).isNotEmpty();
            // the last order read sees every surplus unit (student 8, teacher 3) dead at order 3
            long lastStepUnits = deaths.stream().map(OrderResult::candidate).distinct().count();
            assertThat(lastStepUnits).isGreaterThanOrEqualTo(NodeDeath.STUDENT - NodeDeath.TEACHER);
            assertThat(deaths).allSatisfy(o -> {
                assertThat(o.predicted().order()).isEqualTo(3);
                assertThat(o.classification()).isEqualTo(Classification.SINGULAR);
                assertThat(o.order()).isEqualTo(3);
                assertThat(Math.abs(o.kHat() - 3)).isLessThan(0.05);
            });
            assertThat(r.changes()).anySatisfy(c -> assertThat(c.kinds())
                    .containsAnyOf(ChangeKind.DEAD_UP, ChangeKind.NEW_ORDER));
            assertThat(r.changes()).anySatisfy(c -> assertThat(c.to().orders()).contains(3));
            assertThat(r.finalLoss()).isLessThan(0.05);
        }
    }
}
