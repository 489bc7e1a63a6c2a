package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.PairList;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Without a replica the reads run on the worker on a snapshot's copies of the parameters, bound
 * in place of the model's own ({@link ModelProbe#bind}), while the model trains on: they must
 * read the snapshot, not the model as it is when the worker gets to it.
 */
class ReadsOnCopiesTest {

    private static final int STEPS = 40;
    private static final int INTERVAL = 10;
    /** Training steps the first read on copies waits for before it starts. */
    private static final int STEPS_AHEAD = 3;

    /**
     * The first read on copies does not start until the training thread has taken
     * {@link #STEPS_AHEAD} more steps (a read on the training thread would wait for ever and
     * fail), and every read still equals the read of the same step taken on the model itself
     * between steps: the LayerNorm's γ and the dead counts exactly, the log-determinants within
     * float32 rounding of two thread counts.
     */
    @Test
    void readsOnCopiesSeeTheSnapshotWhileTheModelTrainsOnAndEqualReadsOnTheModel() throws Exception {
        AtomicLong trainingSteps = new AtomicLong();
        AtomicBoolean waited = new AtomicBoolean();
        AtomicBoolean gotAhead = new AtomicBoolean();
        Map<Long, ReadReport> onCopies = reports(true, new ReadSuite.ReadObserver() {
            @Override
            public void beforeRead(String read) {
                if (waited.compareAndSet(false, true)) {
                    long from = trainingSteps.get();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (trainingSteps.get() < from + STEPS_AHEAD && System.nanoTime() < deadline) {
                        Thread.onSpinWait();
                    }
                    gotAhead.set(trainingSteps.get() >= from + STEPS_AHEAD);
                }
            }
        }, trainingSteps);
        Map<Long, ReadReport> onModel = reports(false, read -> { }, new AtomicLong());

        assertThat(gotAhead).as("training went on while the first read on copies waited").isTrue();
        assertThat(onCopies.keySet()).containsExactlyElementsOf(onModel.keySet()).hasSize(STEPS / INTERVAL);
        for (long step : onModel.keySet()) {
            ReadReport c = onCopies.get(step);
            ReadReport m = onModel.get(step);
            assertThat(c.layerNorms()).hasSize(1);
            LayerNormResult lc = c.layerNorms().get(0);
            LayerNormResult lm = m.layerNorms().get(0);
            assertThat(lc.gammaMinAbs()).as("min|γ| at step %d", step).isEqualTo(lm.gammaMinAbs());
            assertThat(lc.gammaRatio()).as("γ ratio at step %d", step).isEqualTo(lm.gammaRatio());
            assertThat(c.dds()).hasSameSizeAs(m.dds());
            for (int i = 0; i < m.dds().size(); i++) {
                DdsResult dc = c.dds().get(i);
                DdsResult dm = m.dds().get(i);
                assertThat(dc.layer() + dc.side()).isEqualTo(dm.layer() + dm.side());
                assertThat(dc.deadCount()).as("%s %s at step %d", dc.layer(), dc.side(), step)
                        .isEqualTo(dm.deadCount());
                assertThat(dc.logDetActive()).as("%s %s at step %d", dc.layer(), dc.side(), step)
                        .isCloseTo(dm.logDetActive(), org.assertj.core.data.Offset.offset(
                                LOG_DET_TOLERANCE * Math.max(1, Math.abs(dm.logDetActive()))));
            }
        }
    }

    /** Relative agreement of a float32 log-determinant computed on one thread and on several. */
    private static final double LOG_DET_TOLERANCE = 1e-3;

    private static Map<Long, ReadReport> reports(boolean copies, ReadSuite.ReadObserver observer,
            AtomicLong trainingSteps) throws Exception {
        Map<Long, ReadReport> out = new TreeMap<>();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(INTERVAL).optBudget(1.0)
                .optWaitForReads(true).optReadOnCopies(copies).optReadObserver(observer)
                .optOnReport(r -> {
                    synchronized (out) {
                        out.put(r.step(), r);
                    }
                }).build()) {
            TinyRun.train(STEPS, monitor, new TrainingListenerAdapter() {
                @Override
                public void onTrainingBatch(ai.djl.training.Trainer trainer, BatchData batchData) {
                    trainingSteps.incrementAndGet();
                }
            });
            monitor.drain();
        }
        synchronized (out) {
            return new TreeMap<>(out);
        }
    }

    /**
     * A block that reads its weight's own array instead of taking it from the parameter store is
     * found with one forward pass and named; such a model is read on the model itself.
     */
    @Test
    void aBlockThatReadsItsOwnParameterIsNamedAndItsModelIsReadOnTheModel() {
        try (NDManager m = NDManager.newBaseManager()) {
            SequentialBlock block = new SequentialBlock().add(Linear.builder().setUnits(8).build())
                    .add(Activation.reluBlock()).add(new OwnWeight(3));
            block.initialize(m, DataType.FLOAT32, new Shape(16, 5));
            NDArray x = m.randomNormal(new Shape(16, 5));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(block, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                assertThat(mp.parametersOutsideStore()).containsExactly("03OwnWeight_weight");
            }
            SequentialBlock honest = new SequentialBlock().add(Linear.builder().setUnits(8).build())
                    .add(Activation.reluBlock()).add(Linear.builder().setUnits(3).build());
            honest.initialize(m, DataType.FLOAT32, new Shape(16, 5));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(honest, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                assertThat(mp.parametersOutsideStore()).isEmpty();
            }
        }
    }

    /**
     * Bound copies replace the parameters in a forward pass and in what the reads see, and
     * unbinding gives the model's own back; a copy of the wrong shape is refused naming it.
     */
    @Test
    void boundCopiesReplaceTheParametersUntilUnbound() {
        try (NDManager m = NDManager.newBaseManager()) {
            SequentialBlock block = new SequentialBlock().add(Linear.builder().setUnits(3).build());
            block.initialize(m, DataType.FLOAT32, new Shape(4, 2));
            NDArray x = m.create(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, new Shape(4, 2));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
                    ModelProbe mp = new ModelProbe(block, probe, Precision.FLOAT32, OutputMetric.IDENTITY);
                    NDManager copies = m.newSubManager()) {
                double[] own = mp.evaluate().values();
                // weight 3×2 of ones, bias 0, 1, 2: row i of the output is (x_i1 + x_i2) + (0, 1, 2)
                List<NDArray> arrays = new ArrayList<>();
                arrays.add(copies.ones(new Shape(3, 2)));
                arrays.add(copies.create(new float[] {0, 1, 2}));
                mp.bind(arrays);
                assertThat(mp.evaluate().values()).containsExactly(3, 4, 5, 7, 8, 9, 11, 12, 13, 15, 16, 17);
                Parameter weight = block.getParameters().get(0).getValue();
                assertThat(mp.values(weight)).containsExactly(1, 1, 1, 1, 1, 1);
                mp.unbind();
                assertThat(mp.evaluate().values()).containsExactly(own);

                List<NDArray> wrong = List.of(copies.ones(new Shape(2, 3)), copies.zeros(new Shape(3)));
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> mp.bind(wrong))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("01Linear_weight").hasMessageContaining("(2, 3)");
            }
        }
    }

    /** A dense layer that reads its weight with {@code getArray()}, bypassing the parameter store. */
    private static final class OwnWeight extends AbstractBlock {
        private final Parameter weight;
        private final int units;

        OwnWeight(int units) {
            this.units = units;
            weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return new NDList(inputs.head().matMul(weight.getArray().transpose()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            return new Shape[] {new Shape(inputShapes[0].get(0), units)};
        }

        @Override
        protected void prepare(Shape[] inputShapes) {
            weight.setShape(new Shape(units, inputShapes[0].get(1)));
        }
    }
}
