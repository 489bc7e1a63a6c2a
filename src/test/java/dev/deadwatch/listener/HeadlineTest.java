package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.Side;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The headline counts deaths (docs/method.md §2): structure forced by the architecture and
 * directions the probe cannot resolve are their own parts, and each death counts once, in the
 * layer where it arises.
 */
class HeadlineTest {

    private static Block layerNormMlp() {
        return new SequentialBlock().add(LayerNorm.builder().build()).add(Linear.builder().setUnits(256).build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(4).build());
    }

    private static Block mlp(int hidden) {
        return new SequentialBlock().add(Linear.builder().setUnits(hidden).build()).add(Activation.reluBlock())
                .add(Linear.builder().setUnits(4).build());
    }

    /** A monitored run and what it reported. */
    private record Run(List<ReadReport> reports, List<TimelineRow> timeline, java.util.Map<String, Double> gauges) {
        DdsResult last(String layer) {
            return reports.get(reports.size() - 1).dds().stream()
                    .filter(r -> r.layer().equals(layer) && r.side() == Side.ACTIVATION).findFirst().orElseThrow();
        }
    }

    private static Run run(java.util.function.Supplier<Block> factory, Shape batch, int samples, int steps, float lr,
            Consumer<Block> edit, Consumer<DeadwatchListenerBuilder> options) {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<ReadReport> reports = new CopyOnWriteArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optBudget(1.0).optRegistry(reg).optOnReport(reports::add);
        options.accept(b);
        try (DeadwatchListener monitor = b.build()) {
            Training.run(factory, batch, 4, samples, steps, lr, edit, monitor);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            java.util.Map<String, Double> gauges = new java.util.HashMap<>(); // name|layer|side, before close()
            reg.forEachMeter(m -> {
                if (m instanceof io.micrometer.core.instrument.Gauge g && g.getId().getTag("layer") != null) {
                    gauges.put(g.getId().getName() + "|" + g.getId().getTag("layer") + "|" + g.getId().getTag("side"),
                            g.value());
                }
            });
            return new Run(reports, monitor.timeline(), gauges);
        }
    }

    @Test
    void aWideningLinearAfterALayerNormIsStructureNotDeath() {
        Run r = run(HeadlineTest::layerNormMlp, new Shape(512, 64), 512, 8, 1e-2f, b -> { },
                b -> b.optInterval(4).optBlockFactory(HeadlineTest::layerNormMlp));
        DdsResult norm = r.last("01LayerNorm");
        assertThat(norm.structure().normKernel()).as("%s", norm).isEqualTo(1);
        assertThat(norm.deadCount()).isZero();
        // 256 outputs of a map from the LayerNorm's 63 active directions: 193 structural, 0 dead
        DdsResult wide = r.last("02Linear");
        assertThat(wide.total()).as("%s", wide).isEqualTo(193);
        assertThat(wide.structure().inputRank()).isEqualTo(193);
        assertThat(wide.unresolved()).isZero();
        assertThat(wide.deadCount()).isZero();
        assertThat(r.timeline().get(r.timeline().size() - 1).dead()).allSatisfy((layer, dead) -> assertThat(dead)
                .as("headline of %s", layer).isLessThanOrEqualTo(1));
    }

    @Test
    void aUnitKilledInAWideningLayerCountsOnceThroughTheCensus() {
        int unit = 5;
        Run r = run(() -> mlp(16), new Shape(64, 6), 256, 8, 0f, block -> {
            // zero incoming row, bias and outgoing column: a dead unit (learning rate 0 keeps it)
            BlockPaths paths = BlockPaths.of(block);
            zero(paths.blockAt("01Linear"), "weight", w -> new int[] {unit * 6, unit * 6 + 6});
            zero(paths.blockAt("01Linear"), "bias", w -> new int[] {unit, unit + 1});
            Parameter out = ParameterState.parameter(paths.blockAt("03Linear"), "weight");
            double[] v = ParameterState.values(out);
            for (int row = 0; row < 4; row++) {
                v[row * 16 + unit] = 0;
            }
            ParameterState.write(out.getArray(), v);
        }, b -> b.optInterval(4).optOrderEvery(1));
        // 16 outputs of a map from 6 inputs: the dead unit hides among 10 structural directions...
        DdsResult first = r.last("01Linear");
        assertThat(first.structure().inputRank()).as("%s", first).isEqualTo(10);
        assertThat(first.deadCount()).isZero();
        // ...so the census' node death brings it to the headline, once: not again after the ReLU
        TimelineRow last = r.timeline().get(r.timeline().size() - 1);
        // the layer consuming it reads the same direction (bottom subspace) without counting it again
        assertThat(last.dead()).containsEntry("01Linear", 1).containsEntry("02LambdaBlock", 0).containsEntry("03Linear", 0);
        assertThat(last.orders()).containsEntry("01Linear", "2");
        assertThat(r.last("02LambdaBlock").structure().inherited()).isGreaterThanOrEqualTo(1);
        assertThat(r.gauges()).containsEntry("deadwatch.dead.directions|01Linear|activation", 1.0);
    }

    @Test
    void aHealthyWideLayerIsResolvedByTheDefaultProbe() {
        Run r = run(() -> mlp(1024), new Shape(256, 32), 2048, 12, 1e-2f, b -> { },
                b -> b.optInterval(12).optOrderEvery(1000).optFisher(false));
        for (String layer : List.of("01Linear", "02LambdaBlock", "03Linear")) {
            DdsResult d = r.last(layer);
            assertThat(d.rows()).as("%s: probe collected over the first batches", layer).isEqualTo(2048);
            assertThat(d.unresolved()).as("%s", d).isZero();
            assertThat(d.deadCount()).as("%s", d).isLessThanOrEqualTo(8);
        }
        assertThat(r.last("01Linear").structure().inputRank()).isEqualTo(1024 - 32);
        assertThat(r.gauges()).containsEntry("deadwatch.directions.unresolved|02LambdaBlock|activation", 0.0);
    }

    @Test
    void withTheAgentsBatchOfThirtyTwoAWidth64LayerIsResolved() {
        // the agent has no probe of its own: it is collected over the first four batches
        Run r = run(() -> mlp(64), new Shape(32, 16), 512, 16, 1e-2f, b -> { },
                b -> b.optInterval(8).optOrderEvery(1000));
        for (String layer : List.of("01Linear", "02LambdaBlock", "03Linear")) {
            DdsResult d = r.last(layer);
            assertThat(d.rows()).isEqualTo(128);
            assertThat(d.unresolved()).as("%s", d).isZero();
            assertThat(d.deadCount()).as("%s", d).isLessThanOrEqualTo(8);
        }
    }

    private static void zero(Block b, String name, java.util.function.Function<double[], int[]> range) {
        Parameter p = ParameterState.parameter(b, name);
        double[] v = ParameterState.values(p);
        int[] r = range.apply(v);
        java.util.Arrays.fill(v, r[0], r[1], 0);
        ParameterState.write(p.getArray(), v);
    }
}
