package dev.deadwatch.listener;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.transformer.BertBlock;
import ai.djl.nn.transformer.TransformerEncoderBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.BatchNormResult;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DJL's own transformer blocks ({@code ai.djl.nn.transformer}), trained with the listener on the
 * float64 replica and in float32 on the model: every leaf layer is read and no read fails. DJL
 * 0.36's {@code TransformerEncoderBlock} and {@code BertBlock} normalise with
 * {@code BatchNorm.optAxis(2)} (per-embedding-channel statistics over batch and sequence), not
 * with LayerNorm: there is no LayerNorm kernel to find in them, and the reads must not invent one.
 * Each norm gets the BatchNorm read, none the LayerNorm read.
 */
class TransformerBlocksTest {

    private static final int SEQ = 8;
    private static final int EMBED = 16;
    private static final int CLASSES = 4;
    private static final int SAMPLES = 256;
    private static final int BATCH = 16;
    private static final int STEPS = 16;

    /** A float input, projected, one DJL encoder block, mean over the sequence, a classifier. */
    static Block encoder() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(EMBED).build())
                .add(new TransformerEncoderBlock(EMBED, 2, 2 * EMBED, 0f, Activation::gelu))
                .add(new LambdaBlock(l -> new NDList(l.head().mean(new int[] {1})), "meanOverSequence"))
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /** DJL's BERT (one block) on token ids, its pooled output classified. */
    static Block bert() {
        return new SequentialBlock()
                .add(BertBlock.builder().setTokenDictionarySize(40).optTypeDictionarySize(2).optEmbeddingSize(EMBED)
                        .optTransformerBlockCount(1).optAttentionHeadCount(2).optHiddenSize(2 * EMBED)
                        .optHiddenDropoutProbability(0f).optMaxSequenceLength(SEQ).build())
                .add(new LambdaBlock(l -> new NDList(l.get(1)), "pooled"))
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    @ParameterizedTest(name = "float64 replica: {0}")
    @ValueSource(booleans = {true, false})
    void djlsTransformerEncoderBlockIsReadEverywhereAndItsTwoNormsAreReadAsTheBatchNormsTheyAre(boolean replica) {
        Run run = train(TransformerBlocksTest::encoder, m -> new NDList(
                m.randomNormal(0, 1, new Shape(SAMPLES, SEQ, 8), DataType.FLOAT32)), replica);
        assertThat(run.norms()).hasSize(2);
        assertEveryNormIsReadAsABatchNorm(run);
    }

    @ParameterizedTest(name = "float64 replica: {0}")
    @ValueSource(booleans = {true, false})
    void djlsBertBlockIsReadEverywhereAndItsNormsAreReadAsTheBatchNormsTheyAre(boolean replica) {
        Run run = train(TransformerBlocksTest::bert, m -> new NDList(
                m.randomInteger(0, 40, new Shape(SAMPLES, SEQ), DataType.INT32),
                m.zeros(new Shape(SAMPLES, SEQ), DataType.INT32),
                m.ones(new Shape(SAMPLES, SEQ), DataType.FLOAT32)), replica);
        assertThat(run.norms()).as("the embeddings' and two per block").hasSize(3);
        assertEveryNormIsReadAsABatchNorm(run);
    }

    private static void assertEveryNormIsReadAsABatchNorm(Run run) {
        assertThat(run.last().layerNorms()).as("no LayerNorm read of a BatchNorm").isEmpty();
        List<BatchNormResult> read = run.last().batchNorms();
        assertThat(read).extracting(BatchNormResult::layer).containsExactlyInAnyOrderElementsOf(run.norms());
        for (BatchNormResult r : read) {
            // γ starts at 1 and 16 small SGD steps move it little: no channel is dead
            assertThat(r.deadChannels()).as("%s", r).isZero();
            assertThat(r.gammaMinAbs()).as("%s", r).isBetween(0.9, 1.1);
        }
    }

    /** A finished monitored run. */
    private record Run(List<String> leaves, List<String> norms, List<ReadReport> reports) {
        ReadReport last() {
            return reports.get(reports.size() - 1);
        }
    }

    private static Run train(Supplier<Block> factory, Function<NDManager, NDList> inputs, boolean replica) {
        SimpleMeterRegistry reg = new SimpleMeterRegistry();
        List<ReadReport> reports = new CopyOnWriteArrayList<>();
        DeadwatchListenerBuilder b = DeadwatchListener.builder().optInterval(4).optOrderEvery(2).optBudget(1.0)
                .optRegistry(reg).optOnReport(reports::add);
        if (replica) {
            b.optBlockFactory(factory);
        }
        List<String> leaves = new ArrayList<>();
        List<String> norms = new ArrayList<>();
        try (DeadwatchListener monitor = b.build(); NDManager m = NDManager.newBaseManager();
                Model model = Model.newInstance("transformer")) {
            m.getEngine().setRandomSeed(5);
            NDList x = inputs.apply(m);
            NDArray y = m.randomInteger(0, CLASSES, new Shape(SAMPLES), DataType.INT32).toType(DataType.FLOAT32, false);
            ArrayDataset data = new ArrayDataset.Builder().setData(x.toArray(new NDArray[0])).optLabels(y)
                    .setSampling(BATCH, false).build();
            model.setBlock(factory.get());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(1e-2f)).build())
                    .addTrainingListeners(monitor);
            try (Trainer t = model.newTrainer(cfg)) {
                Shape[] shapes = x.stream().map(a -> new Shape(BATCH).addAll(a.getShape().slice(1))).toArray(Shape[]::new);
                t.initialize(shapes);
                BlockPaths paths = BlockPaths.of(model.getBlock());
                leaves.addAll(ReadSuite.tappedLayers(paths));
                norms.addAll(paths.pathsOf(BatchNorm.class));
                int step = 0;
                while (step < STEPS) {
                    for (Batch batch : t.iterateDataset(data)) {
                        try (batch) {
                            EasyTrain.trainBatch(t, batch);
                            t.step();
                        }
                        if (++step == STEPS) {
                            break;
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
                assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "error").counter().count()).as("reads failed").isZero();
                assertThat(reg.get("deadwatch.reads.skipped").tag("reason", "layer").counter().count()).as("layers skipped").isZero();
                assertThat(reports).isNotEmpty();
                for (String leaf : leaves) {
                    assertThat(reg.find("deadwatch.dead.directions").tag("layer", leaf).tag("side", "activation").gauge())
                            .as("series of leaf %s", leaf).isNotNull();
                }
                if (replica) {
                    assertThat(reg.get("deadwatch.info").gauge().getId().getTag("precision")).isIn("float64", "mixed");
                }
            } catch (java.io.IOException | ai.djl.translate.TranslateException e) {
                throw new IllegalStateException(e);
            }
        }
        return new Run(leaves, norms, reports);
    }
}
