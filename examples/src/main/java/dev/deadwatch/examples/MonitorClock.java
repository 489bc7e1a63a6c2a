package dev.deadwatch.examples;

import ai.djl.training.Trainer;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.listener.TrainingListenerAdapter;
import java.util.ArrayList;
import java.util.List;

/**
 * The monitor's time in each step's {@code onTrainingBatch}, taken by a listener called just
 * before it and one just after (DJL calls listeners in the order they were added).
 */
final class MonitorClock {
    private final List<Long> nanos = new ArrayList<>();
    private final List<Long> starts = new ArrayList<>();
    private long start;

    final TrainingListener before = new TrainingListenerAdapter() {
        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            start = System.nanoTime();
            starts.add(start);
        }
    };

    final TrainingListener after = new TrainingListenerAdapter() {
        @Override
        public void onTrainingBatch(Trainer trainer, BatchData batchData) {
            nanos.add(System.nanoTime() - start);
        }
    };

    /**
     * Records a step as the listeners would.
     *
     * @param startNanos when its {@code onTrainingBatch} began
     * @param monitorNanos the monitor's time in it
     */
    void step(long startNanos, long monitorNanos) {
        starts.add(startNanos);
        nanos.add(monitorNanos);
    }

    /**
     * @param step a step (from 1)
     * @return the monitor's time in that step (s), NaN if there was none
     */
    double secondsAt(int step) {
        return step >= 1 && step <= nanos.size() ? nanos.get(step - 1) / 1e9 : Double.NaN;
    }

    /**
     * @param step a step (from 1)
     * @return the monitor's time in that step over the step's length, from its
     *     {@code onTrainingBatch} to the next (which the time is part of); NaN for the last step
     */
    double shareOf(int step) {
        if (step < 1 || step >= starts.size() || step > nanos.size()) {
            return Double.NaN;
        }
        return (double) nanos.get(step - 1) / (starts.get(step) - starts.get(step - 1));
    }

    /**
     * @param step a step (from 1) left out
     * @return the largest {@link #shareOf} over every step but {@code step} and the last, NaN if none
     */
    double worstShareExcept(int step) {
        double worst = Double.NaN;
        for (int i = 1; i < starts.size(); i++) {
            if (i != step) {
                double share = shareOf(i);
                worst = Double.isNaN(worst) || share > worst ? share : worst;
            }
        }
        return worst;
    }

    /**
     * @return the median time from one step's {@code onTrainingBatch} to the next's (s): a training
     *     step, pauses included where they fall, NaN with fewer than two steps
     */
    double medianStepSeconds() {
        List<Long> d = new ArrayList<>();
        for (int i = 1; i < starts.size(); i++) {
            d.add(starts.get(i) - starts.get(i - 1));
        }
        if (d.isEmpty()) {
            return Double.NaN;
        }
        d.sort(null);
        return d.get(d.size() / 2) / 1e9;
    }

    /** @return seconds in the monitor over every step but {@code step} (from 1) */
    double secondsExcept(int step) {
        long sum = 0;
        for (int i = 0; i < nanos.size(); i++) {
            sum += i == step - 1 ? 0 : nanos.get(i);
        }
        return sum / 1e9;
    }
}
