package dev.deadwatch.examples;

import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import dev.deadwatch.capture.GradMode;
import java.io.IOException;

/**
 * The plain DJL loop the examples use: full passes over the data, validation every few steps.
 *
 * <p>Weight decay goes through the optimizer's gradient (Adam's L2 {@code optWeightDecays}),
 * never through in-place writes to the parameters between steps: with DJL 0.36 and PyTorch
 * 2.7.1 on CPU, multiplying the weights in place after each {@code trainer.step()} (decoupled
 * decay, as AdamW does) turned a stable Adam run NaN within 200 steps, and DJL's own
 * {@code AdamW} failed the same way on this model.
 */
public final class TrainingLoop {

    private TrainingLoop() {}

    /**
     * Trains for a number of optimizer steps.
     *
     * @param trainer the trainer (listeners attached)
     * @param train training data
     * @param validation validation data
     * @param steps optimizer steps
     * @param validateEvery validate (and end an "epoch") every this many steps
     */
    public static void run(Trainer trainer, Dataset train, Dataset validation, int steps, int validateEvery)
            throws IOException, TranslateException {
        run(trainer, train, validation, steps, validateEvery, 0);
    }

    /**
     * Trains for a number of optimizer steps with a given engine thread count.
     *
     * @param trainer the trainer (listeners attached)
     * @param train training data
     * @param validation validation data
     * @param steps optimizer steps
     * @param validateEvery validate (and end an "epoch") every this many steps
     * @param engineThreads engine (intra-op) threads of the calling thread; 0 leaves the thread's
     *     current setting (the engine's default unless changed)
     */
    public static void run(Trainer trainer, Dataset train, Dataset validation, int steps, int validateEvery,
            int engineThreads) throws IOException, TranslateException {
        if (engineThreads > 0) {
            GradMode.threadsOnThisThread(engineThreads);
        }
        steps(trainer, train, steps, step -> {
            if (step % validateEvery == 0 || step == steps) {
                EasyTrain.evaluateDataset(trainer, validation);
                trainer.notifyListeners(l -> l.onEpoch(trainer));
            }
        });
        trainer.notifyListeners(l -> l.onTrainingEnd(trainer));
    }

    /**
     * Trains a number of optimizer steps and nothing else: no validation, no epoch or end
     * notification (the caller says when training ends). The data is iterated from its start,
     * again as often as needed.
     *
     * @param trainer the trainer (listeners attached)
     * @param train training data
     * @param steps optimizer steps
     */
    public static void steps(Trainer trainer, Dataset train, int steps) throws IOException, TranslateException {
        steps(trainer, train, steps, step -> { });
    }

    /** What runs after each step, told the steps done so far. */
    @FunctionalInterface
    private interface AfterStep {
        void after(int step) throws IOException, TranslateException;
    }

    private static void steps(Trainer trainer, Dataset train, int steps, AfterStep after)
            throws IOException, TranslateException {
        int step = 0;
        while (step < steps) {
            for (Batch batch : trainer.iterateDataset(train)) {
                try (batch) {
                    EasyTrain.trainBatch(trainer, batch);
                    trainer.step();
                }
                after.after(++step);
                if (step >= steps) {
                    break;
                }
            }
        }
    }
}
