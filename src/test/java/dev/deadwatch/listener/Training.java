package dev.deadwatch.listener;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
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
import java.util.function.Consumer;
import java.util.function.Supplier;

/** A real DJL classification run of any block on random data, for listener tests. */
final class Training {

    private Training() {}

    /**
     * Trains {@code steps} steps of plain SGD on {@code samples} random normal inputs with random labels.
     *
     * @param factory builds the model's block
     * @param batch the batch shape (batch size first)
     * @param classes label classes
     * @param samples dataset size
     * @param steps optimizer steps
     * @param learningRate SGD learning rate (0 keeps the weights as initialised, and edited)
     * @param edit called with the initialised block before training (to kill units, say)
     * @param listeners the listeners
     */
    static void run(Supplier<Block> factory, Shape batch, int classes, int samples, int steps, float learningRate,
            Consumer<Block> edit, TrainingListener... listeners) {
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("zoo")) {
            m.getEngine().setRandomSeed(11);
            NDArray x = m.randomNormal(0, 1, new Shape(samples).addAll(batch.slice(1)), DataType.FLOAT32);
            NDArray y = m.randomInteger(0, classes, new Shape(samples), DataType.INT32).toType(DataType.FLOAT32, false);
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y)
                    .setSampling((int) batch.get(0), false).build();
            model.setBlock(factory.get());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .addEvaluator(new Accuracy())
                    .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(learningRate)).build())
                    .addTrainingListeners(listeners);
            try (Trainer t = model.newTrainer(cfg)) {
                t.initialize(batch);
                edit.accept(model.getBlock());
                int step = 0;
                while (step < steps) {
                    for (Batch b : t.iterateDataset(data)) {
                        try (b) {
                            EasyTrain.trainBatch(t, b);
                            t.step();
                        }
                        if (++step == steps) {
                            break;
                        }
                    }
                }
                t.notifyListeners(l -> l.onTrainingEnd(t));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
