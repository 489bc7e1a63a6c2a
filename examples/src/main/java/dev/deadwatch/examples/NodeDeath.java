package dev.deadwatch.examples;

import dev.deadwatch.capture.SafeL2Loss;
import dev.deadwatch.listener.DeadwatchListenerBuilder;
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
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.ArrayDataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import dev.deadwatch.listener.DeadwatchListener;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.regime.RegimeChange;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Node death: a squared-ReLU student with 8 hidden units learns a 3-unit squared-ReLU teacher
 * under weight decay. The 5 surplus units lose their incoming and outgoing weights together; the
 * node-death detector finds them and the order read reports order 3 (squared ReLU has degree 2
 * at 0), and the monitor confirms a regime change as the dead count rises.
 */
public final class NodeDeath {

    /** Input width. */
    public static final int INPUT = 8;
    /** Teacher hidden units. */
    public static final int TEACHER = 3;
    /** Student hidden units. */
    public static final int STUDENT = 8;
    /** Default optimizer steps. */
    public static final int DEFAULT_STEPS = 3000;

    private NodeDeath() {}

    /** @return a fresh student block (the monitor's block factory) */
    public static Block student() {
        return new SequentialBlock()
                .add(Linear.builder().setUnits(STUDENT).build())
                .add(new LambdaBlock(l -> new NDList(Activation.relu(l.head()).square()), "ReLU2"))
                .add(Linear.builder().setUnits(1).build());
    }

    /**
     * The result of a run.
     *
     * @param monitor the monitor, still serving its endpoint if it has one: close it when done
     * @param orders every order read of the run
     * @param changes every confirmed regime change
     * @param finalLoss training loss at the end
     */
    public record Result(DeadwatchListener monitor, List<OrderResult> orders, List<RegimeChange> changes,
            double finalLoss) {}

    /**
     * Trains the student with the monitor attached.
     *
     * @param s settings
     * @return what the monitor saw
     */
    public static Result run(Settings s) throws IOException, TranslateException {
        int steps = s.stepsOr(DEFAULT_STEPS);
        List<OrderResult> orders = Collections.synchronizedList(new ArrayList<>());
        List<RegimeChange> changes = Collections.synchronizedList(new ArrayList<>());
        DeadwatchListenerBuilder b = DeadwatchListener.builder()
                .optInterval(s.intervalOr(100))
                .optOrderEvery(2)
                .optOrderCandidates(Integer.MAX_VALUE, Integer.MAX_VALUE) // a study of every unit: all candidates
                .optOrderSeconds(Double.POSITIVE_INFINITY) // every time, however slow the machine
                .optBlockFactory(NodeDeath::student)
                .optBudget(1.0) // a 1 ms/step toy: reads would always be over a 5% budget
                .optWaitForReads(true) // a row for every snapshot, however loaded the machine
                .optRunId("node-death-" + s.seed())
                .optOnReport((ReadReport r) -> orders.addAll(r.orders()))
                .optOnRegimeChange(changes::add);
        s.exportTo(b, true, true);
        DeadwatchListener monitor = b.build();
        try (NDManager m = NDManager.newBaseManager();
                Model model = Model.newInstance("node-death")) {
            m.getEngine().setRandomSeed(s.seed());
            NDArray w1 = m.randomNormal(0, 1, new Shape(TEACHER, INPUT), DataType.FLOAT32).div(Math.sqrt(INPUT));
            NDArray w2 = m.randomNormal(0, 1, new Shape(1, TEACHER), DataType.FLOAT32);
            ArrayDataset train = data(m, w1, w2, 512);
            ArrayDataset val = data(m, w1, w2, 256);
            model.setBlock(student());
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(new SafeL2Loss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-2f))
                            .optWeightDecays(1e-1f).build())
                    .addTrainingListeners(monitor);
            if (s.progress()) {
                cfg.addTrainingListeners(new ProgressBar(steps, monitor, System.err));
            }
            double loss;
            try (Trainer trainer = model.newTrainer(cfg)) {
                trainer.initialize(new Shape(512, INPUT));
                TrainingLoop.run(trainer, train, val, steps, 50);
                loss = monitor.timeline().isEmpty() ? Double.NaN
                        : monitor.timeline().get(monitor.timeline().size() - 1).trainLoss();
            }
            return new Result(monitor, List.copyOf(orders), List.copyOf(changes), loss);
        }
    }

    private static ArrayDataset data(NDManager m, NDArray w1, NDArray w2, int n) {
        NDArray x = m.randomNormal(0, 1, new Shape(n, INPUT), DataType.FLOAT32);
        NDArray h = Activation.relu(x.matMul(w1.transpose())).square();
        NDArray y = h.matMul(w2.transpose());
        return new ArrayDataset.Builder().setData(x).optLabels(y).setSampling(n, false).build();
    }
}
