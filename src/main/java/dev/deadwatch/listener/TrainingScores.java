package dev.deadwatch.listener;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.Trainer;
import ai.djl.training.evaluator.AbstractAccuracy;
import ai.djl.training.evaluator.Evaluator;
import ai.djl.training.listener.TrainingListener.BatchData;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ParameterState;
import java.util.function.LongSupplier;

/**
 * The training and validation loss and accuracy, as the trainer's own loss and accuracy
 * evaluators compute them on its own predictions: running sample-weighted means over the epoch
 * so far (training) and over the last validation pass.
 *
 * <p>Re-evaluating a training batch costs ~10 engine calls and two host copies (0.2–0.4 ms on
 * the grokking example, where a step is ~2.6 ms), so training batches are sampled: one is taken
 * once the time since the last sample is at least that sample's cost divided by
 * {@link #TRAIN_METRIC_SHARE}, and always at step 1 and at every snapshot step. Validation
 * batches are all taken.
 */
final class TrainingScores {

    /** Share of wall time the running training loss and accuracy may cost the training thread. */
    static final double TRAIN_METRIC_SHARE = 0.0025;

    private final LongSupplier clock;
    private final Mean train = new Mean();
    private final Mean validation = new Mean();
    private volatile double[] lastTrain = {Double.NaN, Double.NaN};
    private volatile double[] lastValidation = {Double.NaN, Double.NaN};
    private long lastSampleEnd;
    private long lastSampleNanos;

    /** @param clock nanosecond clock */
    TrainingScores(LongSupplier clock) {
        this.clock = clock;
    }

    /**
     * @param t the trainer
     * @return whether the trainer has an accuracy evaluator
     */
    static boolean hasAccuracy(Trainer t) {
        return t.getEvaluators().stream().anyMatch(e -> e instanceof AbstractAccuracy);
    }

    /**
     * A training batch.
     *
     * @param t the trainer
     * @param data the batch with its predictions
     * @param mustSample whether this batch is sampled whatever the time (step 1, snapshot steps)
     * @return whether the running means changed
     */
    boolean onTrainingBatch(Trainer t, BatchData data, boolean mustSample) {
        long now = clock.getAsLong();
        if (mustSample || now - lastSampleEnd >= lastSampleNanos / TRAIN_METRIC_SHARE) {
            accumulate(t, data, train);
            lastSampleEnd = clock.getAsLong();
            lastSampleNanos = lastSampleEnd - now;
        }
        if (train.count > 0) {
            lastTrain = new double[] {train.loss(), train.accuracy()};
            return true;
        }
        return false;
    }

    /**
     * A validation batch.
     *
     * @param t the trainer
     * @param data the batch with its predictions
     */
    void onValidationBatch(Trainer t, BatchData data) {
        accumulate(t, data, validation);
    }

    /**
     * The end of an epoch: the validation pass is complete and the training means start again.
     *
     * @return whether a validation pass ran in this epoch
     */
    boolean onEpoch() {
        boolean validated = validation.count > 0;
        if (validated) {
            lastValidation = new double[] {validation.loss(), validation.accuracy()};
        }
        validation.reset();
        train.reset();
        return validated;
    }

    /** @return training loss and accuracy (NaN when unknown) */
    double[] train() {
        return lastTrain.clone();
    }

    /** @return validation loss and accuracy (NaN when unknown) */
    double[] validation() {
        return lastValidation.clone();
    }

    /** @return train loss, train accuracy, validation loss, validation accuracy, as of now */
    double[] all() {
        double[] tr = lastTrain;
        double[] val = lastValidation;
        return new double[] {tr[0], tr[1], val[0], val[1]};
    }

    private static void accumulate(Trainer t, BatchData data, Mean mean) {
        // the predictions belong to the step's autograd graph: with grad mode on, every op on
        // them here would record graph nodes that nothing uses
        GradMode.off(() -> {
            accumulateOn(t, data, mean);
            return null;
        });
    }

    private static void accumulateOn(Trainer t, BatchData data, Mean mean) {
        for (Device d : data.getLabels().keySet()) {
            NDList labels = data.getLabels().get(d);
            NDList preds = data.getPredictions().get(d);
            if (labels == null || preds == null) {
                continue;
            }
            long n = labels.head().getShape().get(0);
            try (NDArray loss = t.getLoss().evaluate(labels, preds)) {
                mean.lossSum += n * ParameterState.toDoubles(loss)[0];
            }
            for (Evaluator e : t.getEvaluators()) {
                if (e instanceof AbstractAccuracy) {
                    try (NDArray a = e.evaluate(labels, preds)) { // DJL returns the count correct
                        mean.accSum += ParameterState.toDoubles(a)[0];
                        mean.hasAcc = true;
                    }
                    break;
                }
            }
            mean.count += n;
        }
    }

    /** Running sample-weighted means. */
    private static final class Mean {
        double lossSum;
        double accSum;
        long count;
        boolean hasAcc;

        void reset() {
            lossSum = 0;
            accSum = 0;
            count = 0;
        }

        double loss() {
            return count == 0 ? Double.NaN : lossSum / count;
        }

        double accuracy() {
            return count == 0 || !hasAcc ? Double.NaN : accSum / count;
        }
    }
}
