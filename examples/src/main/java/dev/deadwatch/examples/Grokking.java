package dev.deadwatch.examples;

import dev.deadwatch.listener.DeadwatchListenerBuilder;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.detectors.LayerNormKernelDetector;
import dev.deadwatch.detectors.NodeDeathDetector;
import dev.deadwatch.detectors.QueryKeyRotationDetector;
import dev.deadwatch.detectors.RankDeficitDetector;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.regime.RegimeChange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Grokking on modular addition {@code (a + b) mod p}: an embedding + LayerNorm + MLP trained
 * full-batch with Adam and L2 weight decay on 40% of the table memorises it fast, then,
 * much later, generalises. The monitor watches the dead directions form through the jump.
 */
public final class Grokking {

    /** The modulus. */
    public static final int MODULUS = 43;
    /** Fraction of the table used for training. */
    public static final double TRAIN_FRACTION = 0.4;
    /** Default optimizer steps. */
    public static final int DEFAULT_STEPS = 2000;
    /** Adam learning rate. */
    public static final float LEARNING_RATE = 1e-3f;
    /** L2 weight decay through the gradient (see {@link TrainingLoop} for why not decoupled). */
    public static final float WEIGHT_DECAY = 1e-2f;

    /**
     * The demo's read budget: unlimited, and training waits for the worker rather than dropping
     * a snapshot ({@code optWaitForReads}), so the timeline has a row every 25 steps through the
     * grokking window however fast or loaded the machine. A 2 ms training step makes any read a
     * large share of wall time; the monitor's default budget is 5%, and {@code deadwatch
     * overhead} measures the monitor at that default.
     */
    public static final double BUDGET = 1.0;

    /** Model width. */
    public static final int WIDTH = 64;

    private static final int POSITIONS = 3;
    private static final int FEATURES = MODULUS + 1 + POSITIONS;

    private Grokking() {}

    /**
     * The model: flattened one-hot tokens → embedding → LayerNorm → MLP → logits. (A one-block
     * transformer, {@link TinyTransformer}, trained this way went NaN at times that depended on
     * unrelated allocations — extra read-only forward passes moved them — which points at an
     * uninitialised-memory read in one of its DJL/PyTorch kernels; the MLP is stable under the
     * same stress. See the README.)
     *
     * @return a fresh model block (the monitor's block factory)
     */
    public static Block model() {
        return new SequentialBlock()
                .add(new LambdaBlock(l -> new NDList(l.head().reshape(l.head().getShape().get(0), -1)), "flatten"))
                .add(Linear.builder().setUnits(WIDTH).optBias(false).build())
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(4 * WIDTH).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(MODULUS).build());
    }

    /**
     * @param monitor the monitor (still serving its endpoint if it has one: close it)
     * @param changes confirmed regime changes
     */
    public record Result(DeadwatchListener monitor, List<RegimeChange> changes) {}

    /**
     * Trains with the monitor attached.
     *
     * @param s settings
     * @return the run
     */
    public static Result run(Settings s) throws IOException, TranslateException {
        int steps = s.stepsOr(DEFAULT_STEPS);
        List<RegimeChange> changes = Collections.synchronizedList(new ArrayList<>());
        DeadwatchListenerBuilder b = DeadwatchListener.builder()
                .optInterval(s.intervalOr(25))
                .optOrderEvery(10)
                .optOrderCandidates(Integer.MAX_VALUE, Integer.MAX_VALUE) // a study of every unit: all candidates
                .optOrderSeconds(Double.POSITIVE_INFINITY) // every time, however slow the machine
                .optDetectors(List.of(new NodeDeathDetector(), new BottomSubspaceDetector(Spectrum.EPS_DEAD, 2),
                        new LayerNormKernelDetector(), new QueryKeyRotationDetector(), new RankDeficitDetector()))
                .optProbeSize(512) // more rows than the 256-wide hidden layer, so counts are not row-limited
                .optBudget(BUDGET)
                .optWaitForReads(true)
                .optBlockFactory(Grokking::model)
                .optRunId("grokking-" + s.seed())
                .optOnRegimeChange(changes::add);
        s.exportTo(b, true, true);
        DeadwatchListener monitor = b.build();
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("grokking")) {
            m.getEngine().setRandomSeed(s.seed());
            Split split = split(m, s.seed());
            ArrayDataset train = split.train();
            ArrayDataset val = split.validation();
            int nTrain = split.trainSize();
            model.setBlock(model());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(LEARNING_RATE))
                            .optBeta2(0.98f).optWeightDecays(WEIGHT_DECAY).build())
                    .addTrainingListeners(monitor);
            if (s.progress()) {
                cfg.addTrainingListeners(new ProgressBar(steps, monitor, System.err));
            }
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(nTrain, POSITIONS, FEATURES));
                TrainingLoop.run(trainer, train, val, steps, 25);
            }
            return new Result(monitor, List.copyOf(changes));
        }
    }

    /**
     * The modular-addition table split into training and validation.
     *
     * @param train training pairs
     * @param validation the rest
     * @param trainSize training pairs count
     */
    record Split(ArrayDataset train, ArrayDataset validation, int trainSize) {}

    static Split split(NDManager m, int seed) {
        List<int[]> pairs = new ArrayList<>();
        for (int a = 0; a < MODULUS; a++) {
            for (int c = 0; c < MODULUS; c++) {
                pairs.add(new int[] {a, c});
            }
        }
        Collections.shuffle(pairs, new Random(seed));
        int nTrain = (int) Math.round(TRAIN_FRACTION * pairs.size());
        return new Split(data(m, pairs.subList(0, nTrain)), data(m, pairs.subList(nTrain, pairs.size())), nTrain);
    }

    /** @return the input shape of a batch of {@code n} */
    static Shape inputShape(int n) {
        return new Shape(n, POSITIONS, FEATURES);
    }

    /** @return the input feature width */
    static int features() {
        return FEATURES;
    }

    private static ArrayDataset data(NDManager m, List<int[]> pairs) {
        int n = pairs.size();
        float[] x = new float[n * POSITIONS * FEATURES];
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            int[] p = pairs.get(i);
            int[] tokens = {p[0], p[1], MODULUS};
            for (int pos = 0; pos < POSITIONS; pos++) {
                int o = (i * POSITIONS + pos) * FEATURES;
                x[o + tokens[pos]] = 1;
                x[o + MODULUS + 1 + pos] = 1;
            }
            y[i] = (p[0] + p[1]) % MODULUS;
        }
        NDArray xs = m.create(x, new Shape(n, POSITIONS, FEATURES));
        NDArray ys = m.create(y, new Shape(n));
        return new ArrayDataset.Builder().setData(xs).optLabels(ys).setSampling(n, false).build();
    }
}
