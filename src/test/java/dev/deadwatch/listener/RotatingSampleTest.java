package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import dev.deadwatch.census.Census;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.export.BuildInfo;
import dev.deadwatch.export.DeadwatchMetrics;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.Side;
import dev.deadwatch.reads.Structure;
import dev.deadwatch.regime.RegimeChange;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The order read's total cap reads whole layers in turn: a layer left for another time keeps
 * what its last read found, in the exported census, the headline and the regime signature. Were
 * it taken as "no dead direction now", every rotation would confirm {@code order_lost} and
 * {@code dead_down} changes (and their alerts) on layers where nothing changed.
 */
class RotatingSampleTest {

    private static final List<String> LAYERS = List.of("01Linear", "03Linear");

    private static DdsResult noSpectralDeath(String layer) {
        return new DdsResult(layer, Side.ACTIVATION, 256, 64, -3.5, 1e-3, 60,
                new double[Spectrum.PROFILE_EPS.length], 0, 0, new Structure(0, 0, 0), 0);
    }

    /** A node death of order 3 the spectrum cannot see (its activation predicted it in its own layer). */
    private static OrderResult cubicDeath(String layer) {
        return new OrderResult("node-death[7]", layer, Prediction.order(3), Classification.SINGULAR, 3.002, 3, 0, 9,
                false, -2, new double[0], new double[0], new double[0]);
    }

    /** An order read that read the layers in {@code read} and left the others for another time. */
    private static ReadReport orderRead(long step, Set<String> read) {
        List<Object> results = new ArrayList<>();
        LAYERS.forEach(l -> results.add(noSpectralDeath(l)));
        for (String l : LAYERS) {
            results.add(new OrderSample(l, 1, read.contains(l) ? 1 : 0));
        }
        for (String l : LAYERS) {
            if (read.contains(l)) {
                OrderResult o = cubicDeath(l);
                results.add(o);
                results.add(Census.of(l, List.of(o), OptionalInt.empty()));
            }
        }
        return new ReadReport(step, results, Set.of(), Map.of("dds", 0.1, CensusRead.NAME, 0.5));
    }

    @Test
    void aLayerLeftForAnotherTimeKeepsItsCensusAndConfirmsNoChange() {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        DeadwatchMetrics metrics = new DeadwatchMetrics("r", "m", new BuildInfo("v", "e", "float32"),
                List.of("dds", CensusRead.NAME));
        metrics.bindTo(reg);
        List<RegimeChange> changes = new ArrayList<>();
        MonitorSettings settings = DeadwatchListener.builder().optOnRegimeChange(changes::add).settings();
        ReportPublisher publisher = new ReportPublisher(metrics, settings, new OnceLog());
        double[] scores = {Double.NaN, Double.NaN, Double.NaN, Double.NaN};

        publisher.publish(orderRead(100, Set.of("01Linear", "03Linear")), scores);
        for (long step = 200; step <= 500; step += 100) { // 03Linear left out of four order reads in a row
            publisher.publish(orderRead(step, Set.of("01Linear")), scores);
        }

        assertThat(changes).isEmpty();
        assertThat(publisher.regime("03Linear")).isZero();
        assertThat(reg.get("deadwatch.order.candidates").tag("layer", "03Linear").tag("set", "read").gauge().value())
                .as("this read read none of its candidates").isZero();
        assertThat(reg.get("deadwatch.directions").tag("layer", "03Linear").tag("order", "3").gauge().value())
                .as("its last census").isEqualTo(1);
        assertThat(reg.get("deadwatch.learning.coefficient.dead").tag("layer", "03Linear").gauge().value())
                .isEqualTo(1.0 / 6);
        assertThat(reg.get("deadwatch.dead.directions").tag("layer", "03Linear").tag("side", "activation").gauge()
                .value()).as("the death the census confirmed still counts").isEqualTo(1);
        List<TimelineRow> timeline = publisher.timeline();
        assertThat(timeline.get(timeline.size() - 1).dead()).containsEntry("03Linear", 1);

        // read again and no longer dead: now it is a change
        for (long step = 600; step <= 700; step += 100) {
            List<Object> results = new ArrayList<>(orderRead(step, Set.of("01Linear")).results());
            results.removeIf(r -> r instanceof OrderSample s && s.layer().equals("03Linear"));
            results.add(new OrderSample("03Linear", 1, 1));
            results.add(new OrderResult("node-death[7]", "03Linear", Prediction.order(3), Classification.REGULAR,
                    1.0, 1, 0, 9, false, -2, new double[0], new double[0], new double[0]));
            publisher.publish(new ReadReport(step, results, Set.of(), Map.of("dds", 0.1, CensusRead.NAME, 0.5)), scores);
        }
        assertThat(changes).singleElement().satisfies(c -> assertThat(c.layer()).isEqualTo("03Linear"));
    }
}
