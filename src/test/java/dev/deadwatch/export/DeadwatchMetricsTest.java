package dev.deadwatch.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.deadwatch.census.Census;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.Classification;
import dev.deadwatch.reads.BatchNormResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerFailure;
import dev.deadwatch.reads.Structure;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.Side;
import dev.deadwatch.regime.ChangeKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;
import dev.deadwatch.regime.RegimeChange;
import dev.deadwatch.regime.Signature;
import org.junit.jupiter.api.Test;

class DeadwatchMetricsTest {

    private static final List<String> READS = List.of("fisher", "layernorm", "dds", "order");

    @Test
    void everyMeterCarriesRunAndModelAndReadsNaNUntilKnown() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        DeadwatchMetrics m = new DeadwatchMetrics("r1", "mlp", new BuildInfo("0.1.0", "PyTorch 2.7.1", "float64"), READS);
        m.bindTo(reg);
        assertThat(reg.get("deadwatch.info").tag("version", "0.1.0").tag("engine", "PyTorch 2.7.1")
                .tag("precision", "float64").tag("run", "r1").tag("model", "mlp").gauge().value()).isEqualTo(1.0);
        // the three-argument BuildInfo names the JVM's eigensolver; the info series carries it
        assertThat(reg.get("deadwatch.info").gauge().getId().getTag("eigensolver"))
                .isEqualTo(dev.deadwatch.linalg.Eigensolver.selected().label()).isIn("lapack", "ejml");
        DeadwatchMetrics e = new DeadwatchMetrics("r2", "mlp", new BuildInfo("0.1.0", "PyTorch 2.7.1", "float64", "ejml"), READS);
        e.bindTo(reg);
        e.precision("mixed"); // re-labelled: the eigensolver stays
        assertThat(reg.get("deadwatch.info").tag("run", "r2").tag("precision", "mixed").tag("eigensolver", "ejml")
                .gauge().value()).isEqualTo(1.0);
        assertThat(reg.get("deadwatch.step").gauge().value()).isNaN();
        assertThat(reg.get("deadwatch.train.loss").gauge().value()).isNaN();
        // counters for every reason exist at zero from the start
        for (String reason : DeadwatchMetrics.SKIP_REASONS) {
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", reason).counter().count()).isZero();
        }
        m.skipped("busy");
        assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "busy").counter().count()).isEqualTo(1);
        assertThatThrownBy(() -> m.skipped("tired")).hasMessageContaining("'tired'");
    }

    @Test
    void regimeCountersAreRegisteredAtZeroPerLayerAndKind() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        DeadwatchMetrics m = new DeadwatchMetrics("r", "m", new BuildInfo("v", "e", "float32"), READS);
        m.bindTo(reg);
        m.registerLayers(List.of("01Linear", "03Linear"));
        for (ChangeKind k : ChangeKind.values()) {
            assertThat(reg.get("deadwatch.regime.changes").tag("layer", "03Linear").tag("kind", k.label())
                    .counter().count()).isZero();
        }
        m.regimeChange(new RegimeChange("01Linear", 100, 1, new Signature(0, new TreeSet<>(), false),
                new Signature(0, new TreeSet<>(List.of(2)), false), Set.of(ChangeKind.NEW_ORDER)));
        assertThat(reg.get("deadwatch.regime.changes").tag("layer", "01Linear").tag("kind", "new_order")
                .counter().count()).isEqualTo(1);
        assertThat(reg.get("deadwatch.regime").tag("layer", "01Linear").gauge().value()).isEqualTo(1);
    }

    @Test
    void publishSetsEveryPerLayerSeriesFromTheReads() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        DeadwatchMetrics m = new DeadwatchMetrics("r", "m", new BuildInfo("v", "e", "float32"), READS);
        m.bindTo(reg);
        // 7 non-active directions: 1 unresolved, 4 structural (3 from the input's rank, 1 inherited), 2 dead
        DdsResult dds = new DdsResult("01Linear", Side.ACTIVATION, 64, 8, -3.5, 1e-3, 5.5,
                new double[] {4.2, 2.1, 2.01, 2.0}, 7, 1, new Structure(0, 3, 1), 2);
        BatchNormResult bn = new BatchNormResult("02BatchNorm", 16, 1e-5, 2);
        LayerNormResult ln = new LayerNormResult("00LayerNorm", 8, 0.25, 4.0, 0, 1e-15, 0.99999, 1, true);
        OrderResult o3 = new OrderResult("node-death[2]", "01Linear", Prediction.order(3),
                Classification.SINGULAR, 3.001, 3, 0, 9, false, -2, new double[0], new double[0], new double[0]);
        OrderResult gauge = new OrderResult("qk", "01Linear", Prediction.gauge(), Classification.GAUGE,
                Double.NaN, 0, -1, -1, false, -20, new double[0], new double[0], new double[0]);
        Census census = Census.of("01Linear", List.of(o3, gauge), OptionalInt.empty());
        m.publish(new ReadReport(700, List.of(ln, dds, bn, o3, gauge, census,
                new LayerFailure("03Odd", "layernorm", "not a norm")), Set.of(), Map.of("dds", 0.01, "order", 0.5)),
                Map.of("01Linear|activation", -12.5), Map.of());
        var t = reg.get("deadwatch.dead.directions").tag("layer", "01Linear").tag("side", "activation");
        assertThat(t.gauge().value()).isEqualTo(2);
        assertThat(reg.get("deadwatch.directions.unresolved").tag("layer", "01Linear").gauge().value()).isEqualTo(1);
        assertThat(reg.get("deadwatch.directions.structural").tag("cause", "input_rank").gauge().value()).isEqualTo(3);
        assertThat(reg.get("deadwatch.directions.structural").tag("cause", "inherited").gauge().value()).isEqualTo(1);
        assertThat(reg.get("deadwatch.directions.structural").tag("cause", "norm_kernel").gauge().value()).isZero();
        assertThat(reg.get("deadwatch.batchnorm.gamma.min.abs").tag("layer", "02BatchNorm").gauge().value()).isEqualTo(1e-5);
        assertThat(reg.get("deadwatch.batchnorm.dead.channels").tag("layer", "02BatchNorm").gauge().value()).isEqualTo(2);
        assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "layer").counter().count()).isEqualTo(1);
        assertThat(reg.get("deadwatch.dead.directions.profile").tag("eps", "1e-4").gauge().value()).isEqualTo(2.01);
        assertThat(reg.get("deadwatch.dead.directions.profile").tag("eps", "1e-6").gauge().value()).isEqualTo(2.0);
        assertThat(reg.get("deadwatch.dds.logdet.active").gauge().value()).isEqualTo(-3.5);
        assertThat(reg.get("deadwatch.dds.lambda.min").gauge().value()).isEqualTo(1e-3);
        assertThat(reg.get("deadwatch.dds.effective.rank").gauge().value()).isEqualTo(5.5);
        assertThat(reg.get("deadwatch.dds.logdet.slope").gauge().value()).isEqualTo(-12.5);
        assertThat(reg.get("deadwatch.layernorm.kernel.rayleigh").tag("layer", "00LayerNorm").gauge().value()).isEqualTo(1e-15);
        assertThat(reg.get("deadwatch.layernorm.kernel.alignment").gauge().value()).isEqualTo(0.99999);
        assertThat(reg.get("deadwatch.layernorm.gamma.min.abs").gauge().value()).isEqualTo(0.25);
        assertThat(reg.get("deadwatch.layernorm.extra.dead").gauge().value()).isEqualTo(1);
        assertThat(reg.get("deadwatch.directions").tag("order", "3").gauge().value()).isEqualTo(1);
        assertThat(reg.get("deadwatch.directions").tag("order", "gauge").gauge().value()).isEqualTo(1);
        assertThat(reg.get("deadwatch.directions").tag("order", "2").gauge().value()).isZero();
        assertThat(reg.get("deadwatch.learning.coefficient.dead").gauge().value()).isEqualTo(1.0 / 6);
        assertThat(reg.get("deadwatch.step").gauge().value()).isEqualTo(700);
        // a census that found more deaths than the spectrum: the headline says so
        m.publish(new ReadReport(710, List.of(dds), Set.of(), Map.of("dds", 0.01)), Map.of(),
                Map.of("01Linear|activation", 5));
        assertThat(t.gauge().value()).isEqualTo(5);
        m.precision("float32");
        m.precision("float64");
        assertThat(reg.find("deadwatch.info").gauges()).singleElement()
                .satisfies(g -> assertThat(g.getId().getTag("precision")).isEqualTo("float64"));
        m.close();
        assertThat(reg.getMeters()).isEmpty();
    }

    /**
     * A scrape never finds a run without its {@code deadwatch_info}: when the precision changes,
     * the new series is registered before the old one is removed (the agent's test once scraped
     * between the two and found the run gone).
     */
    @Test
    void aPrecisionChangeNeverLeavesTheRunWithoutItsInfoSeries() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        DeadwatchMetrics m = new DeadwatchMetrics("r1", "mlp", new BuildInfo("0.1.0", "PyTorch 2.7.1", "float64"), READS);
        m.bindTo(reg);
        List<Integer> seenAtRemoval = new java.util.ArrayList<>();
        reg.config().onMeterRemoved(removed -> {
            if (removed.getId().getName().equals("deadwatch.info")) {
                seenAtRemoval.add(reg.find("deadwatch.info").tag("run", "r1").gauges().size());
            }
        });
        m.precision("float32");
        assertThat(seenAtRemoval).as("info series of the run left when the old one was removed").containsExactly(1);
        assertThat(reg.find("deadwatch.info").gauges()).singleElement()
                .satisfies(g -> assertThat(g.getId().getTag("precision")).isEqualTo("float32"));
        m.close();
    }

    @Test
    void epsLabels() {
        assertThat(DeadwatchMetrics.epsLabel(1e-2)).isEqualTo("1e-2");
        assertThat(DeadwatchMetrics.epsLabel(1e-6)).isEqualTo("1e-6");
    }

    @Test
    void theExportedNamesAreExactlyTheContractOfDocsMetricsMd() {
        PrometheusMeterRegistry reg = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        DeadwatchMetrics m = new DeadwatchMetrics("r", "m", new BuildInfo("v", "e", "float32"), READS);
        m.bindTo(reg);
        m.registerAccuracy();
        m.registerLayers(List.of("01Linear"));
        DdsResult act = new DdsResult("01Linear", Side.ACTIVATION, 64, 8, -3.5, 1e-3, 5.5,
                new double[] {4.2, 2.1, 2.01, 2.0}, 2, 0, Structure.NONE, 2);
        DdsResult fisher = new DdsResult("01Linear", Side.FISHER, 64, 64, -1.5, 1e-2, 9.5,
                new double[] {4.2, 2.1, 2.01, 2.0}, 2, 0, Structure.NONE, 2);
        LayerNormResult ln = new LayerNormResult("00LayerNorm", 8, 0.25, 4.0, 0, 1e-15, 0.99999, 1, true);
        OrderResult o2 = new OrderResult("node-death[2]", "01Linear", Prediction.order(2),
                Classification.SINGULAR, 2.001, 2, 0, 9, false, -2, new double[0], new double[0], new double[0]);
        m.publish(new ReadReport(5, List.of(ln, act, fisher, new BatchNormResult("02BatchNorm", 4, 0.5, 0), o2,
                Census.of("01Linear", List.of(o2), OptionalInt.empty())), Set.of(), Map.of("dds", 0.01, "order", 0.2)),
                Map.of(), Map.of());
        m.layerPrecisions(Map.of("01Linear", 64));
        m.pause(1000);
        Set<String> exported = new java.util.TreeSet<>();
        for (String line : reg.scrape().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                exported.add(line.replaceAll("[{ ].*", ""));
            }
        }
        assertThat(exported).containsExactlyInAnyOrderElementsOf(MetricsContract.names());
    }
}
