package dev.deadwatch.listener;

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
import ai.djl.training.evaluator.Accuracy;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.capture.ParameterState;

/** A real, small DJL classification run (LayerNorm → Linear → ReLU → Linear) for listener tests. */
final class TinyRun {

    static final int FEATURES = 6;
    static final int CLASSES = 4;

    private TinyRun() {}

    static Block block() {
        return new SequentialBlock()
                .add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(16).build())
                .add(Activation.reluBlock())
                .add(Linear.builder().setUnits(CLASSES).build());
    }

    /**
     * Trains {@code steps} full-batch steps with validation every 10 steps.
     *
     * @return SHA-256 of the final parameters
     */
    static String train(int steps, TrainingListener... listeners) throws Exception {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("tiny")) {
            m.getEngine().setRandomSeed(7);
            NDArray centres = m.randomNormal(0, 2, new Shape(CLASSES, FEATURES), DataType.FLOAT32);
            ArrayDataset train = data(m, centres, 256);
            ArrayDataset val = data(m, centres, 128);
            model.setBlock(block());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f)).build())
                    .addTrainingListeners(listeners);
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(new Shape(256, FEATURES));
                int step = 0;
                while (step < steps) {
                    for (Batch b : t.iterateDataset(train)) {
                        try (b) {
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                        if (++step % 10 == 0) {
                            EasyTrain.evaluateDataset(t, val);
                            t.notifyListeners(l -> l.onEpoch(t));
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
                return ParameterState.checksum(model.getBlock());
            }
        }
    }

    private static ArrayDataset data(NDManager m, NDArray centres, int n) {
        NDArray y = m.randomInteger(0, CLASSES, new Shape(n), DataType.INT32);
        NDArray x = centres.get(y).add(m.randomNormal(0, 1, new Shape(n, FEATURES), DataType.FLOAT32));
        return new ArrayDataset.Builder().setData(x).optLabels(y.toType(DataType.FLOAT32, false))
                .setSampling(n, false).build();
    }
}
