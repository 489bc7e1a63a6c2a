package dev.deadwatch.census;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import dev.deadwatch.reads.ReadContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Issue 14 item 4: the order read stops at its time limit between layers. Layers are read whole,
 * the ones left say 0 read, and what was read is what the read without a limit gives. The clock
 * is a counter (one second a call), so the test does not depend on the machine's speed.
 */
class OrderTimeLimitTest {

    private static final long SECOND = 1_000_000_000L;

    /** Two candidates per Linear layer: straight lines in its weight along seeded directions. */
    private static final class Lines implements Detector {
        @Override
        public String name() {
            return "lines";
        }

        @Override
        public List<Candidate> detect(DetectorContext ctx) {
            List<Candidate> out = new ArrayList<>();
            Random rnd = new Random(9);
            for (String layer : ctx.paths().pathsOf(Linear.class)) {
                Parameter w = ParameterState.parameter(ctx.paths().blockAt(layer), "weight");
                double[] base = ParameterState.values(w);
                for (int k = 0; k < 2; k++) {
                    double[] dir = new double[base.length];
                    for (int i = 0; i < dir.length; i++) {
                        dir[i] = rnd.nextGaussian();
                    }
                    out.add(new Candidate(layer + "[" + k + "]", layer, new StraightPath(List.of(w), List.of(base),
                            List.of(dir)), Prediction.none()));
                }
            }
            return out;
        }
    }

    private static List<Object> read(CensusRead census, ModelProbe mp) {
        try (ReadContext ctx = new ReadContext(mp, 7, null, ReadSuite.tappedLayers(mp.paths()), r -> true, n -> true)) {
            census.read(ctx);
            assertThat(ctx.abandoned()).isEmpty();
            return List.copyOf(ctx.results());
        }
    }

    @Test
    void stopsBetweenWholeLayersAndReadsTheRestAsWithoutALimit() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(4);
            SequentialBlock net = new SequentialBlock().add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock()).add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock()).add(Linear.builder().setUnits(3).build());
            net.initialize(m, DataType.FLOAT64, new Shape(12, 4));
            NDArray x = m.randomNormal(0, 1, new Shape(12, 4), DataType.FLOAT64);
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<Detector> lines = List.of(new Lines());
                List<Object> full = read(new CensusRead(lines, 3, 2, 100, Double.POSITIVE_INFINITY), mp);
                AtomicLong now = new AtomicLong();
                // a second per clock reading: the first layer starts at 1 s, each candidate takes 1 s,
                // so the second layer is checked at 6 s (+2 s) and the third at 11 s (+2 s)
                List<Object> limited = read(new CensusRead(lines, 3, 2, 100, 9, () -> now.getAndAdd(SECOND)), mp);

                List<OrderSample> all = ReadContext.ofType(full, OrderSample.class);
                List<OrderSample> samples = ReadContext.ofType(limited, OrderSample.class);
                assertThat(all).hasSize(3).allSatisfy(s -> assertThat(s.read()).isEqualTo(2));
                assertThat(samples).extracting(OrderSample::layer).containsExactlyElementsOf(
                        all.stream().map(OrderSample::layer).toList());
                assertThat(samples).extracting(OrderSample::found).containsOnly(2);
                assertThat(samples.stream().filter(s -> s.read() == 2).count()).as("whole layers read").isEqualTo(2);
                assertThat(samples.stream().filter(s -> s.read() == 0).count()).as("left for later").isEqualTo(1);

                Map<String, OrderResult> want = ReadContext.ofType(full, OrderResult.class).stream()
                        .collect(Collectors.toMap(OrderResult::candidate, Function.identity()));
                List<OrderResult> got = ReadContext.ofType(limited, OrderResult.class);
                assertThat(got).hasSize(4);
                for (OrderResult r : got) {
                    OrderResult w = want.get(r.candidate());
                    assertThat(r.classification()).as(r.candidate()).isEqualTo(w.classification());
                    assertThat(r.fisher()).as(r.candidate()).containsExactly(w.fisher());
                }
                List<String> readLayers = samples.stream().filter(s -> s.read() > 0).map(OrderSample::layer).toList();
                assertThat(ReadContext.ofType(limited, Census.class)).extracting(Census::scope)
                        .containsExactlyInAnyOrderElementsOf(readLayers);
            }
        }
    }

    @Test
    void theListenerPassesItsLimitToTheOrderRead() {
        double seconds = dev.deadwatch.listener.DeadwatchListener.builder().optOrderSeconds(12.5).settings().reads()
                .stream().filter(r -> r instanceof CensusRead).map(r -> ((CensusRead) r).seconds()).findFirst().orElseThrow();
        assertThat(seconds).isEqualTo(12.5);
        assertThat(dev.deadwatch.listener.DeadwatchListener.builder().settings().reads().stream()
                .filter(r -> r instanceof CensusRead).map(r -> ((CensusRead) r).seconds()))
                .containsExactly(CensusRead.DEFAULT_SECONDS);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> dev.deadwatch.listener.DeadwatchListener.builder().optOrderSeconds(0))
                .hasMessageContaining("orderSeconds");
    }
}
