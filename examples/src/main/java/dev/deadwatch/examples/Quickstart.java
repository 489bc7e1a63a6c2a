package dev.deadwatch.examples;

import dev.deadwatch.capture.SafeL2Loss;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import dev.deadwatch.listener.DeadwatchListener;

/**
 * The quickstart: an ordinary DJL training loop plus the lines marked {@code deadwatch} —
 * that is all it takes to watch a model's dead directions live on {@code :9400/metrics}.
 */
public final class Quickstart {

    private Quickstart() {}

    static Block mlp() {
        return new SequentialBlock().add(Linear.builder().setUnits(32).build())
                .add(Activation.reluBlock()).add(Linear.builder().setUnits(2).build());
    }

    /** @param args optional port (default 9400) */
    public static void main(String[] args) throws Exception {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 9400;
        try (NDManager m = NDManager.newBaseManager(); Model model = Model.newInstance("quickstart")) {
            NDArray x = m.randomNormal(0, 1, new Shape(512, 8), DataType.FLOAT32);
            NDArray y = x.get(":, 0:2").mul(2);
            ArrayDataset data = new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(64, true).build();
            model.setBlock(mlp());

            // deadwatch: build the monitor (float64 reads off the training thread, /metrics on :9400)
            DeadwatchListener deadwatch = DeadwatchListener.builder()
                    .optBlockFactory(Quickstart::mlp)
                    .optInterval(20)
                    .optPrometheusEndpoint("127.0.0.1", port)
                    .optOnRegimeChange(change -> System.out.println(change.describe()))
                    .build();

            DefaultTrainingConfig cfg = new DefaultTrainingConfig(new SafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f)).build())
                    .addTrainingListeners(deadwatch); // deadwatch: attach it
            try (deadwatch; Trainer trainer = model.newTrainer(cfg)) { // deadwatch: closed after training
                trainer.initialize(new Shape(64, 8));
                EasyTrain.fit(trainer, 20, data, null);
                System.out.println("quickstart: " + deadwatch.timeline().size() + " reads; last: "
                        + deadwatch.timeline().get(deadwatch.timeline().size() - 1));
            }
        }
    }
}
