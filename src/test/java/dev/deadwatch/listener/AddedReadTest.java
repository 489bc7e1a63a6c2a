package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.Read;
import dev.deadwatch.reads.ReadContext;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A read a user adds: one class implementing {@link Read} plus {@code optRead}. Its results reach
 * the report and its time the {@code deadwatch_read_seconds} timer, on both listener paths.
 */
class AddedReadTest {

    /** The Frobenius norm of a Linear layer's weight, from the parameters alone. */
    record WeightNorm(String layer, double norm) {}

    /** Reads {@link WeightNorm} of every Linear layer. */
    static class WeightNormRead implements Read {
        @Override
        public String name() {
            return "weightnorm";
        }

        @Override
        public void read(ReadContext ctx) {
            for (String layer : ctx.probe().paths().pathsOf(Linear.class)) {
                Parameter w = ParameterState.parameter(ctx.probe().paths().blockAt(layer), "weight");
                double sum = 0;
                for (double v : ParameterState.values(w)) {
                    sum += v * v;
                }
                ctx.add(new WeightNorm(layer, Math.sqrt(sum)));
            }
        }
    }

    @Test
    void anAddedReadRunsOnEverySnapshotOnTheModelAndOnTheReplica() throws Exception {
        for (boolean replica : new boolean[] {false, true}) {
            SimpleMeterRegistry reg = new SimpleMeterRegistry();
            List<ReadReport> reports = new CopyOnWriteArrayList<>();
            DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(10).optBudget(1.0).optWaitForReads(true)
                    .optRegistry(reg).optRead(new WeightNormRead()).optOnReport(reports::add);
            if (replica) {
                b.optBlockFactory(TinyRun::block);
            }
            try (DeadwatchListener monitor = b.build()) {
                TinyRun.train(30, monitor);
                assertThat(reports).as("replica %s", replica).hasSize(3);
                for (ReadReport r : reports) {
                    List<WeightNorm> norms = r.results(WeightNorm.class);
                    assertThat(norms).extracting(WeightNorm::layer).containsExactly("02Linear", "04Linear");
                    // a 16x6 and a 4x16 weight, initialised at random: clearly non-zero
                    assertThat(norms).allSatisfy(n -> assertThat(n.norm()).isGreaterThan(0.1));
                    assertThat(r.ran("weightnorm")).isTrue();
                }
                assertThat(reports.get(2).results(WeightNorm.class).get(0).norm())
                        .as("training moves the weights").isNotEqualTo(reports.get(0).results(WeightNorm.class).get(0).norm());
                assertThat(reg.get("deadwatch.read").tag("read", "weightnorm").timer().count()).isEqualTo(3);
            }
        }
    }

    @Test
    void anAddedReadMayNotTakeABuiltInName() {
        Read clash = new WeightNormRead() {
            @Override
            public String name() {
                return "dds";
            }
        };
        assertThatThrownBy(() -> DeadwatchListener.builder().optRead(clash).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'dds'");
    }
}
