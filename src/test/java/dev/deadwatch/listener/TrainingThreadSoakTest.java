package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.reads.Side;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Issue 12 item 6: without a block factory (the agent's only mode) every read runs on the model
 * itself, its capture on the training thread and its rest on the worker, with the Fisher side on. A read must leave no NDArray behind in
 * the model's managers, which live until {@code trainer.close()}: the live-array count and the
 * heap are measured during training, after an early read and after the last one. (Before the fix
 * each read left 14: a {@code getGradient()} wrapper per parameter twice in the model's manager,
 * and two loss intermediates under the probe's manager; 40600 arrays and 10.6 MB of heap over
 * 2900 reads.)
 *
 * <p>Tiny model and probe, so 3000 reads stay cheap; another length:
 * {@code -Ddeadwatch.soak.reads=10000}.
 */
class TrainingThreadSoakTest {

    /** Reads after which the baseline is taken (the engine's lazy arrays exist by then). */
    private static final int WARM_READS = 100;
    /** Heap growth tolerated between the baseline and the last read: GC noise, against megabytes a per-read leak keeps. */
    private static final long HEAP_SLACK_BYTES = 4L << 20;
    private static final int FEATURES = 4;
    private static final int CLASSES = 3;
    private static final int SAMPLES = 8;

    private static Block block() {
        return new SequentialBlock()
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(6).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    private static int liveArrays() {
        // the engine's system manager is the root of every manager, the model's included
        try (NDManager any = NDManager.newBaseManager()) {
            return any.getParentManager().getManagedArrays().size();
        }
    }

    private static long usedHeapAfterGc() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void threeThousandTrainingThreadReadsWithTheFisherSideKeepLiveArraysAndHeapFlat() throws Exception {
        int reads = Integer.getInteger("deadwatch.soak.reads", 3000);
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        AtomicInteger fisherReads = new AtomicInteger();
        Meter meter = new Meter(reads);
        try (DeadwatchListener monitor = DeadwatchListener.builder().optInterval(1).optOrderEvery(Integer.MAX_VALUE)
                .optBudget(1.0).optWaitForReads(true).optProbeSize(SAMPLES).optTimelineSize(1).optRegistry(reg)
                .optOnReport(r -> {
                    if (r.dds().stream().anyMatch(d -> d.side() == Side.FISHER)) {
                        fisherReads.incrementAndGet();
                    }
                }).build()) {
            meter.monitor = monitor;
            train(reads, monitor, meter);
            assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count())
                    .as("reads that failed").isZero();
        }
        assertThat(fisherReads.get()).as("reads with the Fisher side").isGreaterThanOrEqualTo(reads);
        assertThat(meter.arraysAtEnd - meter.arraysAtBaseline)
                .as("NDArrays left alive by %d reads on the training thread", reads - WARM_READS).isZero();
        assertThat(meter.heapAtEnd - meter.heapAtBaseline)
                .as("heap retained by %d reads on the training thread, bytes", reads - WARM_READS)
                .isLessThan(HEAP_SLACK_BYTES);
    }

    /** Counts live arrays and heap after the monitor's read at the baseline step and at the last step. */
    private static final class Meter extends TrainingListenerAdapter {
        private final int last;
        private int step;
        int arraysAtBaseline;
        int arraysAtEnd;
        long heapAtBaseline;
        long heapAtEnd;
        DeadwatchListener monitor;

        Meter(int last) {
            this.last = last;
        }

        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            step++;
            if (step == WARM_READS || step == last) {
                try {
                    monitor.awaitWorker(); // the rest of every read so far done: nothing in flight
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                int arrays = liveArrays();
                long heap = usedHeapAfterGc();
                if (step == WARM_READS) {
                    arraysAtBaseline = arrays;
                    heapAtBaseline = heap;
                } else {
                    arraysAtEnd = arrays;
                    heapAtEnd = heap;
                }
            }
        }
    }

    /** Full-batch SGD: one step per batch, the monitor (first listener) reads at every step. */
    private static void train(int steps, DeadwatchListener monitor, Meter meter) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("soak")) {
            m.getEngine().setRandomSeed(5);
            NDArray x = m.randomNormal(0, 1, new Shape(SAMPLES, FEATURES), DataType.FLOAT32);
            NDArray y = m.randomInteger(0, CLASSES, new Shape(SAMPLES), DataType.INT32).toType(DataType.FLOAT32, false);
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(SAMPLES, false).build();
            model.setBlock(block());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).build())
                    .addTrainingListeners(monitor, meter);
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(new Shape(SAMPLES, FEATURES));
                for (int step = 0; step < steps; step++) {
                    for (Batch b : t.iterateDataset(data)) {
                        try (b) {
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
            }
        }
    }
}
