package dev.deadwatch.examples;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.listener.TimelineRow;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.LayerNormResult;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 acceptance: the one-layer transformer groks with the monitor on, every step finite;
 * the order read finds ReLU units of the MLP dead at the order the node-death detector predicts
 * ({@code k = 2}); every LayerNorm reads its kernel and the query–key rotation reads as a gauge,
 * and the report's extra columns carry both.
 */
class TransformerGrokkingExampleTest {

    /** Validation accuracy at the first read after memorisation must be below this. */
    private static final double BEFORE_JUMP = 0.2;
    /** Validation accuracy at the end must be above this. */
    private static final double AFTER_JUMP = 0.95;
    /** The LayerNorm classifier's kernel threshold on {@code |q|} (docs/method.md §1). */
    private static final double KERNEL_Q = 1e-6;
    /** ReLU units of the MLP read dead at k = 2 at the last order read (4 measured at step 1500). */
    private static final int MIN_NODE_DEATHS = 3;
    private static final String MLP = "04Residual/01branch/02Linear";
    private static final String ATTENTION = "03Residual/01branch/02SelfAttention";
    private static final Set<String> NORMS = Set.of("03Residual/01branch/01LayerNorm",
            "04Residual/01branch/01LayerNorm", "06LayerNorm");

    @Test
    void groksAndReadsNodeDeathsLayerNormKernelsAndTheQueryKeyGauge() throws Exception {
        TransformerGrokking.Result r = TransformerGrokking.run(Settings.quiet());
        try (var monitor = r.monitor()) {
            // every step finite
            assertThat(r.steps()).isEqualTo(TransformerGrokking.DEFAULT_STEPS);
            assertThat(r.nonFiniteSteps()).isZero();
            assertThat(r.finiteAtEnd()).isTrue();
            List<TimelineRow> rows = monitor.timeline();
            assertThat(rows).hasSize(TransformerGrokking.DEFAULT_STEPS / TransformerGrokking.INTERVAL);
            assertThat(rows).allSatisfy(x -> assertThat(x.trainLoss()).isFinite());

            // memorised with validation still low, generalised at the end
            TimelineRow memorised = rows.stream().filter(x -> x.trainAccuracy() >= TransformerGrokking.MEMORISED)
                    .findFirst().orElseThrow();
            assertThat(memorised.validationAccuracy()).isLessThan(BEFORE_JUMP);
            TimelineRow last = rows.get(rows.size() - 1);
            assertThat(last.step()).isEqualTo(TransformerGrokking.DEFAULT_STEPS);
            assertThat(last.validationAccuracy()).isGreaterThan(AFTER_JUMP);

            // ReLU units of the MLP die, each at the order the detector predicts for ReLU
            List<ReadReport> orderReads = r.reports().stream().filter(ReadReport::orderRead).toList();
            assertThat(orderReads).isNotEmpty();
            ReadReport lastOrder = orderReads.get(orderReads.size() - 1);
            assertThat(lastOrder.step()).isEqualTo(TransformerGrokking.DEFAULT_STEPS);
            List<OrderResult> units = nodeDeaths(lastOrder);
            assertThat(units).allSatisfy(o -> assertThat(o.predicted().order())
                    .isEqualTo(TransformerGrokking.ACTIVATION.deadOrder()).isEqualTo(2));
            assertThat(units.stream().filter(o -> o.isDead() && o.order() == o.predicted().order()).count())
                    .isGreaterThanOrEqualTo(MIN_NODE_DEATHS);
            // no unit of any order read reads a singular order other than the predicted one
            assertThat(orderReads.stream().flatMap(x -> nodeDeaths(x).stream()).filter(OrderResult::isDead))
                    .isNotEmpty()
                    .allSatisfy(o -> assertThat(o.order()).isEqualTo(o.predicted().order()));
            // none dead at memorisation: the deaths come later
            assertThat(orderReads.stream().filter(x -> x.step() <= memorised.step())
                    .flatMap(x -> nodeDeaths(x).stream()).filter(OrderResult::isDead)).isEmpty();
            // and the timeline carries them
            assertThat(rows.stream().filter(x -> x.step() == lastOrder.step()).findFirst().orElseThrow()
                    .orders().get(MLP)).matches("2(,2){" + (MIN_NODE_DEATHS - 1) + ",}");

            // every norm reads its LayerNorm kernel at every read
            for (ReadReport x : r.reports()) {
                Map<String, LayerNormResult> norms = x.layerNorms().stream()
                        .collect(Collectors.toMap(LayerNormResult::layer, n -> n));
                assertThat(norms.keySet()).isEqualTo(NORMS);
                assertThat(norms.values()).allSatisfy(n -> {
                    assertThat(n.kernel()).isTrue();
                    assertThat(Math.abs(n.rayleigh())).isLessThan(KERNEL_Q);
                });
            }
            // the query–key rotation reads as a gauge at every order read
            for (ReadReport x : orderReads) {
                assertThat(x.orders().stream().filter(o -> o.candidate().equals("qk-rotation")).toList())
                        .singleElement().satisfies(o -> {
                            assertThat(o.layer()).isEqualTo(ATTENTION);
                            assertThat(o.predicted().flat()).isTrue();
                            assertThat(o.classification()).isEqualTo(Classification.GAUGE);
                        });
            }
            // the report's extra columns carry the kernels and the gauge
            Map<String, String> cells = r.extraColumns().get(lastOrder.step());
            NORMS.forEach(n -> assertThat(cells).containsEntry("kernel:" + n, "yes"));
            assertThat(cells).containsEntry("qk:" + ATTENTION, "gauge");
            assertThat(cells.get("node_death_reads:" + MLP)).contains("× k=2");
        }
    }

    private static List<OrderResult> nodeDeaths(ReadReport r) {
        return r.orders().stream().filter(o -> o.candidate().startsWith("node-death") && o.layer().equals(MLP))
                .toList();
    }
}
