package dev.deadwatch.reads;

import dev.deadwatch.order.OrderRead;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.order.ParameterPath;
import dev.deadwatch.order.Prediction;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class LeakAndRestoreTest {

    private static final Supplier<Block> NET = () -> new SequentialBlock()
            .add(LayerNorm.builder().build())
            .add(Linear.builder().setUnits(8).build())
            .add(Activation.reluBlock())
            .add(Linear.builder().setUnits(3).build());

    private static int liveArrays() {
        // the engine's system manager is the root of every manager: count everything alive
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Precision.class)
    void hundredReadsLeaveNativeArraysAtBaselineAndParametersBitExact(Precision precision) {
        try (NDManager m = NDManager.newBaseManager()) {
            Block model = NET.get();
            model.initialize(m, DataType.FLOAT32, new Shape(32, 6));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(new Shape(32, 6))), new NDList());
                    Replica replica = precision == Precision.FLOAT64
                            ? Replica.float64(NET, model, m, new Shape(32, 6)) : null;
                    ModelProbe mp = new ModelProbe(replica == null ? model : replica.block(), probe,
                            precision, OutputMetric.IDENTITY)) {
                String modelSum = ParameterState.checksum(model);
                String readSum = ParameterState.checksum(mp.block());
                DdsRead dds = new DdsRead();
                OrderRead order = new OrderRead();
                List<String> paths = new ArrayList<>(mp.paths().byPath().keySet());
                paths.remove("");
                // warm-up read, then the baseline
                readAll(mp, dds, order, paths);
                int baseline = liveArrays();
                // the counter sees an array left alive under the caller's manager
                NDArray leak = m.zeros(new Shape(3));
                assertThat(liveArrays()).isEqualTo(baseline + 1);
                leak.close();
                assertThat(liveArrays()).isEqualTo(baseline);
                for (int i = 0; i < 100; i++) {
                    readAll(mp, dds, order, paths);
                }
                assertThat(liveArrays()).as("native arrays after 100 reads").isEqualTo(baseline);
                assertThat(ParameterState.checksum(model)).isEqualTo(modelSum);
                assertThat(ParameterState.checksum(mp.block())).isEqualTo(readSum);
            }
        }
    }

    private static void readAll(ModelProbe mp, DdsRead dds, OrderRead order, List<String> paths) {
        try (ModelProbe.Capture cap = mp.capture(Set.copyOf(paths), Set.of(), Set.of(), false)) {
            for (String p : paths) {
                dds.activation(p, cap.session().outputs().get(p), 0, cap.manager());
            }
            String ln = mp.paths().pathsOf(LayerNorm.class).get(0);
            double[] gamma = ParameterState.values(ParameterState.parameter(mp.paths().blockAt(ln), "gamma"));
            new LayerNormRead().read(ln, gamma, cap.session().outputs().get(ln), cap.manager());
        }
        DetectorContext ctx = new DetectorContext(mp);
        for (Detector d : Detector.defaults()) {
            for (Candidate c : d.detect(ctx)) {
                order.read(mp, c);
            }
        }
    }

    @Test
    void aReadThatFailsMidwayStillRestoresEveryParameterBitExactly() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block model = NET.get();
            model.initialize(m, DataType.FLOAT32, new Shape(16, 6));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(m.randomNormal(new Shape(16, 6))), new NDList());
                    ModelProbe mp = new ModelProbe(model, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                String before = ParameterState.checksum(model);
                Parameter w = ParameterState.parameter(mp.paths().blockAt("02Linear"), "weight");
                double[] base = ParameterState.values(w);
                int[] calls = {0};
                ParameterPath failing = new ParameterPath() {
                    @Override
                    public List<Parameter> parameters() {
                        return List.of(w);
                    }

                    @Override
                    public List<double[]> at(double t) {
                        if (++calls[0] > 12) {
                            throw new IllegalStateException("injected failure at call " + calls[0]);
                        }
                        double[] v = base.clone();
                        for (int i = 0; i < v.length; i++) {
                            v[i] += t * (i % 3 - 1);
                        }
                        return List.of(v);
                    }
                };
                assertThatThrownBy(() -> new OrderRead().read(mp,
                        new Candidate("failing", "02Linear", failing, Prediction.none())))
                        .hasMessageContaining("injected failure");
                assertThat(calls[0]).isGreaterThan(12);
                assertThat(ParameterState.checksum(model)).isEqualTo(before);
            }
        }
    }

    @Test
    void replicaRejectsAFactoryOfAnotherArchitecture() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block model = NET.get();
            model.initialize(m, DataType.FLOAT32, new Shape(4, 6));
            Supplier<Block> other = () -> new SequentialBlock().add(Linear.builder().setUnits(8).build());
            assertThatThrownBy(() -> Replica.float64(other, model, m, new Shape(4, 6)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("parameters");
        }
    }
}
