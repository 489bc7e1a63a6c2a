package dev.deadwatch.reads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.DetectorContext;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FisherGramReadTest {

    /** Relative error allowed between the one-pass Gram and per-sample gradients, float64. */
    private static final double REL_ERROR = 1e-6;
    /** Grams of the same passes, captured with other layers or without: float64 rounding only. */
    private static final double GROUPED_REL_ERROR = 1e-12;

    @Test
    void onePassGramEqualsInnerProductsOfPerSampleGradients() {
        int n = 12;
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(7);
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock())
                    .add(Linear.builder().setUnits(3).build());
            // sequence input (n, positions=4, width=6): exercises the Σ_{s,s'} of the formula
            net.initialize(m, DataType.FLOAT64, new Shape(n, 4, 6));
            NDArray x = m.randomNormal(0, 1, new Shape(n, 4, 6), DataType.FLOAT64);
            NDArray y = m.randomNormal(0, 1, new Shape(n, 4, 3), DataType.FLOAT64);
            Loss loss = Loss.l2Loss();
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                String before = gradChecksum(net);
                Map<String, double[]> grams = FisherGramRead.grams(mp, linears, loss);
                assertThat(gradChecksum(net)).as("parameter gradients restored").isEqualTo(before);
                for (int li = 0; li < linears.size(); li++) {
                    Parameter w = ParameterState.parameter(mp.paths().blockAt(linears.get(li)), "weight");
                    double[][] g = new double[n][];
                    for (int i = 0; i < n; i++) {
                        g[i] = perSampleGradient(net, w, x.get(i + ":" + (i + 1)), y.get(i + ":" + (i + 1)), loss, m);
                    }
                    double[] gram = grams.get(linears.get(li));
                    double maxAbs = 0;
                    double maxErr = 0;
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < n; j++) {
                            double want = dot(g[i], g[j]);
                            maxAbs = Math.max(maxAbs, Math.abs(want));
                            maxErr = Math.max(maxErr, Math.abs(gram[i * n + j] - want));
                        }
                    }
                    assertThat(maxAbs).isGreaterThan(0);
                    assertThat(maxErr / maxAbs).as("layer %s", linears.get(li)).isLessThanOrEqualTo(REL_ERROR);
                }
                List<DdsResult> dds = new FisherGramRead(new DdsRead()).read(mp, linears, loss);
                assertThat(dds).hasSize(2).allSatisfy(r -> {
                    assertThat(r.side()).isEqualTo(Side.FISHER);
                    assertThat(r.dimension()).isEqualTo(n);
                });
            }
        }
    }

    /**
     * The listener reads the Fisher side on its worker, on a replica whose parameters carry no
     * gradient, while the trainer may hold DJL's (process-wide) gradient collector: the read must
     * neither need nor take that collector, must leave the worker's grad mode off, and must give
     * the same Gram as on the training thread.
     */
    @Test
    void gramOnAWorkerThreadWhileTheTrainerHoldsTheCollector() throws Exception {
        int n = 10;
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(11);
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(6).build())
                    .add(Activation.reluBlock())
                    .add(Linear.builder().setUnits(4).build());
            net.initialize(m, DataType.FLOAT64, new Shape(n, 5));
            NDArray x = m.randomNormal(0, 1, new Shape(n, 5), DataType.FLOAT64);
            NDArray y = m.randomNormal(0, 1, new Shape(n, 4), DataType.FLOAT64);
            Loss loss = Loss.l2Loss();
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                Map<String, double[]> reference = FisherGramRead.grams(mp, linears, loss);
                for (var p : net.getParameters()) {
                    p.getValue().getArray().setRequiresGradient(false); // as on the replica
                }
                AtomicReference<Map<String, double[]>> onWorker = new AtomicReference<>();
                AtomicReference<Throwable> failure = new AtomicReference<>();
                AtomicBoolean workerGradAfter = new AtomicBoolean(true);
                try (GradientCollector trainers = Engine.getInstance().newGradientCollector()) {
                    Thread worker = new Thread(() -> {
                        try {
                            GradMode.disableOnThisThread();
                            onWorker.set(FisherGramRead.grams(mp, linears, loss));
                            workerGradAfter.set(JniUtils.isGradMode());
                        } catch (Throwable e) {
                            failure.set(e);
                        }
                    });
                    worker.start();
                    worker.join();
                }
                assertThat(failure.get()).as("read on the worker").isNull();
                assertThat(workerGradAfter.get()).as("worker grad mode after the read").isFalse();
                assertThat(onWorker.get()).containsOnlyKeys(linears);
                for (String layer : linears) {
                    assertThat(onWorker.get().get(layer)).as(layer).containsExactly(reference.get(layer));
                }
                for (var p : net.getParameters()) {
                    assertThat(p.getValue().getArray().hasGradient()).as("no gradient attached").isFalse();
                }
            }
        }
    }

    /**
     * A sequence model's probe is read in passes of at most {@link FisherPlan#PASS_ROWS} rows
     * (here passes of 2 sequences of 64 positions: six of 2, and five of 2 and one of 1), kept per pass and
     * the Gram built block by block: it is still the inner products of the per-sample gradients,
     * with the labels of each pass its own.
     */
    @ParameterizedTest
    @ValueSource(ints = {12, 11})
    void passesOverGroupsOfSamplesGiveThePerSampleGram(int n) {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(8);
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock())
                    .add(Linear.builder().setUnits(3).build());
            net.initialize(m, DataType.FLOAT64, new Shape(n, 64, 6));
            NDArray x = m.randomNormal(0, 1, new Shape(n, 64, 6), DataType.FLOAT64);
            NDArray y = m.randomNormal(0, 1, new Shape(n, 64, 3), DataType.FLOAT64);
            Loss loss = Loss.l2Loss();
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                assertThat(FisherPlan.samplesPerPass(mp, new java.util.LinkedHashSet<>(linears)))
                        .isEqualTo(FisherPlan.PASS_ROWS / 64).isEqualTo(2);
                Map<String, double[]> grams = FisherGramRead.grams(mp, linears, loss);
                for (String layer : linears) {
                    Parameter w = ParameterState.parameter(mp.paths().blockAt(layer), "weight");
                    double[][] g = new double[n][];
                    for (int i = 0; i < n; i++) {
                        g[i] = perSampleGradient(net, w, x.get(i + ":" + (i + 1)), y.get(i + ":" + (i + 1)), loss, m);
                    }
                    double[] gram = grams.get(layer);
                    double maxAbs = 0;
                    double maxErr = 0;
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < n; j++) {
                            double want = dot(g[i], g[j]);
                            maxAbs = Math.max(maxAbs, Math.abs(want));
                            maxErr = Math.max(maxErr, Math.abs(gram[i * n + j] - want));
                        }
                    }
                    assertThat(maxAbs).isGreaterThan(0);
                    assertThat(maxErr / maxAbs).as("layer %s", layer).isLessThanOrEqualTo(REL_ERROR);
                }
            }
        }
    }

    /**
     * Layers captured in groups (each group's passes run, its Grams built and its arrays freed
     * before the next group's) give the Grams one capture of every layer gives: a layer's input and
     * output gradient do not depend on which other layers are probed.
     */
    @Test
    void layersCapturedInGroupsGiveTheGramsOfOneCapture() {
        int n = 10;
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(5);
            SequentialBlock net = new SequentialBlock()
                    .add(Linear.builder().setUnits(5).build())
                    .add(Activation.tanhBlock())
                    .add(Linear.builder().setUnits(4).build())
                    .add(Activation.tanhBlock())
                    .add(Linear.builder().setUnits(3).build());
            net.initialize(m, DataType.FLOAT64, new Shape(n, 64, 6));
            NDArray x = m.randomNormal(0, 1, new Shape(n, 64, 6), DataType.FLOAT64);
            NDArray y = m.randomNormal(0, 1, new Shape(n, 64, 3), DataType.FLOAT64);
            Loss loss = Loss.l2Loss();
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(net, probe, Precision.FLOAT64, OutputMetric.IDENTITY)) {
                List<String> linears = mp.paths().pathsOf(Linear.class);
                assertThat(FisherPlan.groups(mp, linears, Long.MAX_VALUE)).containsExactly(linears);
                assertThat(FisherPlan.groups(mp, linears, 1)).as("a layer over the bound is a group of its own")
                        .containsExactly(List.of(linears.get(0)), List.of(linears.get(1)), List.of(linears.get(2)));
                // first layer: n × 64 × (6 + 5) float64 = 56,320 bytes; second: n × 64 × (5 + 4) = 46,080
                assertThat(FisherPlan.groups(mp, linears, 56_320 + 46_080))
                        .containsExactly(linears.subList(0, 2), linears.subList(2, 3));
                Map<String, double[]> one = FisherGramRead.grams(mp, linears, loss, Long.MAX_VALUE);
                Map<String, double[]> grouped = FisherGramRead.grams(mp, linears, loss, 1);
                assertThat(grouped.keySet()).containsExactlyElementsOf(one.keySet());
                for (String layer : linears) {
                    double[] a = one.get(layer);
                    double[] b = grouped.get(layer);
                    double scale = 0;
                    for (double v : a) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    assertThat(scale).isGreaterThan(0);
                    for (int i = 0; i < a.length; i++) {
                        assertThat(Math.abs(a[i] - b[i])).as("%s entry %d", layer, i)
                                .isLessThanOrEqualTo(GROUPED_REL_ERROR * scale);
                    }
                }
                assertThatThrownBy(() -> FisherPlan.groups(mp, linears, 0))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got 0");
            }
        }
    }

    /**
     * On the training model the Fisher pass freezes the parameters (PyTorch): its backward adds
     * nothing to their gradients, which are not saved and written back, and every parameter
     * requires its gradient again afterwards, also when the pass fails.
     */
    @Test
    void parametersFrozenForThePassAndRequireTheirGradientAfter() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(3);
            SequentialBlock net = new SequentialBlock().add(Linear.builder().setUnits(4).build())
                    .add(Activation.tanhBlock()).add(Linear.builder().setUnits(2).build());
            net.initialize(m, DataType.FLOAT32, new Shape(6, 3));
            List<NDArray> arrays = net.getParameters().values().stream().map(Parameter::getArray).toList();
            assertThat(arrays).allSatisfy(a -> assertThat(a.hasGradient()).isTrue());
            NDArray w = arrays.get(0);
            NDArray x = m.randomNormal(new Shape(6, 3));
            NDArray before;
            try (NDArray g = w.getGradient()) {
                before = g.duplicate();
            }
            boolean[] reached = new boolean[1];
            boolean frozen = GradMode.withFrozen(arrays, () -> GradMode.withGradient(backward -> {
                try (NDManager s = m.newSubManager()) {
                    NDArray probe = s.zeros(new Shape(6, 2));
                    probe.setRequiresGradient(true);
                    NDArray out = net.forward(new ParameterStore(s, false), new NDList(x), false).head().add(probe);
                    out.attach(s);
                    NDArray target = out.square().sum();
                    target.attach(s);
                    backward.backward(target);
                    NDArray delta = probe.getGradient();
                    delta.attach(s);
                    reached[0] = delta.abs().sum().getFloat() > 0;
                }
                return null;
            }));
            try (NDArray after = w.getGradient()) {
                assertThat(after.contentEquals(before)).as("the weight's gradient untouched").isTrue();
            }
            before.close();
            assertThat(reached[0]).as("the backward reached the output's probe").isTrue();
            assertThat(frozen).as("PyTorch freezes").isTrue();
            assertThat(arrays).allSatisfy(a -> assertThat(a.hasGradient()).as("requires its gradient again").isTrue());
            try {
                GradMode.withFrozen(arrays, () -> {
                    throw new IllegalStateException("boom");
                });
            } catch (IllegalStateException expected) {
                // the flag is set back all the same
            }
            assertThat(arrays).allSatisfy(a -> assertThat(a.hasGradient()).isTrue());
        }
    }

    private static double[] perSampleGradient(SequentialBlock net, Parameter w, NDArray xi, NDArray yi,
            Loss loss, NDManager m) {
        try (NDManager s = m.newSubManager()) {
            NDArray before = w.getArray().getGradient().duplicate();
            before.attach(s);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray out = net.forward(new ParameterStore(s, false), new NDList(xi), false).head();
                gc.backward(loss.evaluate(new NDList(yi), new NDList(out)));
            }
            NDArray grad = w.getArray().getGradient().sub(before);
            grad.attach(s);
            double[] g = grad.toDoubleArray();
            w.getArray().getGradient().subi(w.getArray().getGradient()); // zero for the next sample
            return g;
        }
    }

    private static String gradChecksum(SequentialBlock net) {
        StringBuilder sb = new StringBuilder();
        for (var p : net.getParameters()) {
            sb.append(java.util.Arrays.hashCode(ParameterState.toDoubles(p.getValue().getArray().getGradient())));
        }
        return sb.toString();
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
