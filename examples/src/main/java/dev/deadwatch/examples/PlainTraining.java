package dev.deadwatch.examples;

import dev.deadwatch.capture.SafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;

/**
 * An ordinary DJL training program with no deadwatch code at all: what the javaagent attaches
 * to. {@code java -javaagent:deadwatch-agent.jar=port=9400 -cp … dev.deadwatch.examples.PlainTraining [epochs]}.
 * Uses only DJL (no class of deadwatch is referenced).
 */
public final class PlainTraining {

    private PlainTraining() {}

    /** @param args optional number of epochs (default 40) */
    public static void main(String[] args) throws Exception {
        int epochs = args.length > 0 ? Integer.parseInt(args[0]) : 40;
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("plain-mlp")) {
            m.getEngine().setRandomSeed(3);
            NDArray x = m.randomNormal(0, 1, new Shape(256, 8), DataType.FLOAT32);
            NDArray y = x.get(":, 0:2").mul(2).add(x.get(":, 2:4").square());
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(64, true).build();
            model.setBlock(new SequentialBlock().add(Linear.builder().setUnits(32).build())
                    .add(Activation.tanhBlock()).add(Linear.builder().setUnits(2).build()));
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(new SafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f)).build());
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(64, 8));
                EasyTrain.fit(trainer, epochs, data, null);
                float loss = trainer.getLoss().evaluate(new ai.djl.ndarray.NDList(y),
                        trainer.forward(new ai.djl.ndarray.NDList(x))).getFloat();
                System.out.println("PlainTraining: done, " + epochs + " epochs, loss " + loss);
            }
        }
    }
}
