package dev.deadwatch.examples;

import ai.djl.training.EasyTrain;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.translate.TranslateException;
import java.io.IOException;

/** The plain DJL loop the examples use: full passes over the data, validation every few. */
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
     * Trains with decoupled weight decay applied after each optimizer step:
     * {@code w ← (1 - decay) w} (Adam + this is AdamW; DJL 0.36's own {@code AdamW} with strong
     * decay turned NaN nondeterministically on this machine, so the examples do it here).
     *
     * @param decay per-step shrink factor {@code lr × weight decay}, 0 for none
     */
    public static void run(Trainer trainer, Dataset train, Dataset validation, int steps, int validateEvery,
            float decay) throws IOException, TranslateException {
        int step = 0;
        while (step < steps) {
            for (Batch batch : trainer.iterateDataset(train)) {
                try (batch) {
                    EasyTrain.trainBatch(trainer, batch);
                    trainer.step();
                    if (decay > 0) {
                        decay(trainer, decay);
                    }
                }
                step++;
                if (step % validateEvery == 0 || step == steps) {
                    EasyTrain.evaluateDataset(trainer, validation);
                    trainer.notifyListeners(l -> l.onEpoch(trainer));
                }
                if (step >= steps) {
                    break;
                }
            }
        }
        trainer.notifyListeners(l -> l.onTrainingEnd(trainer));
    }

    private static void decay(Trainer trainer, float decay) {
        for (var p : trainer.getModel().getBlock().getParameters()) {
            String name = p.getKey();
            if (name.endsWith("weight")) { // not biases, not norm scales
                p.getValue().getArray().muli(1 - decay);
            }
        }
    }
}
