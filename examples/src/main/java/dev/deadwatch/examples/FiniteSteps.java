package dev.deadwatch.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Parameter;
import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListenerAdapter;
import ai.djl.util.Pair;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts training steps whose forward pass was not finite. A non-finite gradient or update shows
 * in the next step's predictions (the parameters it wrote are not finite); the last step's update
 * is checked on the parameters when training ends ({@link #finiteParameters}).
 */
final class FiniteSteps extends TrainingListenerAdapter {

    private final AtomicLong steps = new AtomicLong();
    private final AtomicLong nonFinite = new AtomicLong();
    private volatile boolean finiteAtEnd = true;

    @Override
    public void onTrainingBatch(Trainer trainer, BatchData batchData) {
        steps.incrementAndGet();
        boolean finite = true;
        for (NDList predictions : batchData.getPredictions().values()) {
            for (NDArray p : predictions) {
                finite &= finite(p);
            }
        }
        if (!finite) {
            nonFinite.incrementAndGet();
        }
    }

    @Override
    public void onTrainingEnd(Trainer trainer) {
        boolean all = true;
        for (Pair<String, Parameter> p : trainer.getModel().getBlock().getParameters()) {
            all &= finite(p.getValue().getArray());
        }
        finiteAtEnd = all;
    }

    private static boolean finite(NDArray a) {
        try (NDArray sum = a.sum()) { // NaN and ±∞ survive a sum
            return Double.isFinite(sum.toArray()[0].doubleValue());
        }
    }

    /** @return steps seen */
    long steps() {
        return steps.get();
    }

    /** @return steps whose predictions were not finite */
    long nonFinite() {
        return nonFinite.get();
    }

    /** @return whether every parameter was finite after the last step */
    boolean finiteParameters() {
        return finiteAtEnd;
    }
}
