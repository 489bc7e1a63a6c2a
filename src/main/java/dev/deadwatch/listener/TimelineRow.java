package dev.deadwatch.listener;

import java.util.Map;

/**
 * One completed read in the run's timeline (for reports and charts).
 *
 * @param step training step
 * @param trainLoss running training loss of the epoch
 * @param trainAccuracy running training accuracy, NaN without an accuracy evaluator
 * @param validationLoss last validation loss, NaN before the first validation
 * @param validationAccuracy last validation accuracy, NaN likewise
 * @param dead layer → activation-side headline dead count
 * @param structural layer → activation-side structural directions (all causes)
 * @param unresolved layer → activation-side directions the probe cannot resolve
 * @param orders layer → dead orders read, e.g. {@code "3,3"} (empty when none or not read)
 * @param regimeChanges confirmed regime changes at this read
 */
public record TimelineRow(long step, double trainLoss, double trainAccuracy, double validationLoss,
        double validationAccuracy, Map<String, Integer> dead, Map<String, Integer> structural,
        Map<String, Integer> unresolved, Map<String, String> orders, int regimeChanges) {
    /** Copies. */
    public TimelineRow {
        dead = Map.copyOf(dead);
        structural = Map.copyOf(structural);
        unresolved = Map.copyOf(unresolved);
        orders = Map.copyOf(orders);
    }
}
