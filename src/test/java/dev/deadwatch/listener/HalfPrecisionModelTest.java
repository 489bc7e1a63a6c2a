package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.reads.Side;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 15: a model trained in float16 is read, without a block factory in float32 on
 * copies of its parameters (the model never written, so training is bit-identical to an
 * unmonitored run), with one on a float64 replica; {@code deadwatch_info{precision}} says which.
 */
class HalfPrecisionModelTest {

    private static final int STEPS = 20;
    private static final int SAMPLES = 64;

    @Test
    void withoutABlockFactoryAFloat16ModelIsReadInFloat32AndTrainsBitIdentically() throws Exception {
        String unmonitored = train();
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<ReadReport> reports = new ArrayList<>();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(5).optOrderEvery(1).optBudget(1.0)
                .optRegistry(reg).optOnReport(reports::add).optWaitForReads(true).build()) {
            String monitored;
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                monitored = train(monitor);
            } finally {
                System.setErr(stderr);
            }
            assertThat(monitored).as("final float16 weights, every read on the training thread").isEqualTo(unmonitored);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            assertThat(monitor.timeline()).extracting(TimelineRow::step).containsExactly(5L, 10L, 15L, 20L);
            assertThat(reports).allSatisfy(r -> {
                assertThat(r.dds()).extracting(d -> d.side()).contains(Side.ACTIVATION, Side.FISHER);
                assertThat(r.orderRead()).isTrue();
                assertThat(r.failures()).isEmpty();
            });
            assertThat(reg.get("deadwatch.info").gauge().getId().getTag("precision")).isEqualTo("float32");
            String log = err.toString(StandardCharsets.UTF_8);
            assertThat(log.split("parameters are float16: its reads run in float32 on copies", -1)).as(log).hasSize(2);
        }
    }

    @Test
    void withABlockFactoryAFloat16ModelIsReadOnAFloat64ReplicaLeavingNoArrayInTheModel() throws Exception {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        ModelArrays arrays = new ModelArrays();
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1).optOrderEvery(1000).optBudget(1.0).optWaitForReads(true)
                .optBlockFactory(TinyRun::block).optRegistry(reg).build()) {
            train(monitor, arrays);
            monitor.drain();
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).isZero();
            assertThat(monitor.timeline()).isNotEmpty();
            assertThat(reg.get("deadwatch.info").gauge().getId().getTag("precision")).isEqualTo("float64");
        }
        // the training thread copies the float16 parameters at every snapshot
        assertThat(arrays.atEnd).as("arrays in the model's manager after %d snapshots", STEPS)
                .isEqualTo(arrays.atFirst);
    }

    /**
     * A float16 parameter whose sum passes float16's largest value (65504) is finite all the same,
     * on the model (the training thread's check) and in a snapshot's copies (the worker's).
     */
    @Test
    void aFloat16ModelWhoseParameterSumsPastTheFloat16RangeIsFinite() {
        try (NDManager m = NDManager.newBaseManager()) {
            Block block = TinyRun.block();
            block.initialize(m, DataType.FLOAT16, new Shape(4, TinyRun.FEATURES));
            NDArray w = block.getParameters().get(2).getValue().getArray(); // the first Linear's weight, 16 x 6
            set(w, ":", 60000f); // finite in float16; the sum, 5.76e6, is not
            try (SnapshotTaker taker = new SnapshotTaker(DeadwatchListener.builder().settings(), block,
                    Loss.softmaxCrossEntropyLoss())) {
                assertThat(taker.firstNonFinite()).isEmpty();
                StagedParameters finite = taker.copyParameters();
                assertThat(taker.nonFiniteCopy(finite)).isEmpty();
                assertThat(finite.arrays().get(2).isReleased()).as("kept by the caller").isFalse();
                taker.discard(finite);
                set(w, "0, 3", Float.POSITIVE_INFINITY);
                assertThat(taker.firstNonFinite()).contains(block.getParameters().get(2).getKey());
                StagedParameters copies = taker.copyParameters();
                assertThat(copies.arrays().get(2).getDataType()).isEqualTo(DataType.FLOAT16);
                assertThat(taker.nonFiniteCopy(copies)).contains(block.getParameters().get(2).getKey());
            }
        }
    }

    private static void set(NDArray a, String index, float value) {
        GradMode.off(() -> {
            a.set(new NDIndex(index), value);
            return null;
        });
    }

    /** Live arrays of the model's manager after the third step (DJL's own arrays made by then) and the last. */
    private static final class ModelArrays extends TrainingListenerAdapter {
        private int step;
        int atFirst;
        int atEnd;

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            step++;
            int n = trainer.getModel().getNDManager().getManagedArrays().size();
            if (step == 3) {
                atFirst = n;
            }
            atEnd = n;
        }
    }

    /** TinyRun's model and data in float16, full-batch SGD. @return SHA-256 of the final parameters */
    private static String train(TrainingListener... listeners) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("half")) {
            m.getEngine().setRandomSeed(13);
            NDArray x = m.randomNormal(0, 1, new Shape(SAMPLES, TinyRun.FEATURES), DataType.FLOAT32)
                    .toType(DataType.FLOAT16, false);
            NDArray y = m.randomInteger(0, TinyRun.CLASSES, new Shape(SAMPLES), DataType.INT32)
                    .toType(DataType.FLOAT32, false);
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(SAMPLES, false).build();
            model.setBlock(TinyRun.block());
            model.setDataType(DataType.FLOAT16);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).build())
                    .addTrainingListeners(listeners);
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(new Shape(SAMPLES, TinyRun.FEATURES));
                assertThat(model.getBlock().getParameters().get(0).getValue().getArray().getDataType())
                        .isEqualTo(DataType.FLOAT16);
                for (int step = 0; step < STEPS; step++) {
                    for (Batch b : t.iterateDataset(data)) {
                        try (b) {
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
                return ParameterState.checksum(model.getBlock());
            }
        }
    }
}
