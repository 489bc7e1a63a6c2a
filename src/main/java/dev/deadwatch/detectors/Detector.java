package dev.deadwatch.detectors;

import dev.deadwatch.order.Candidate;
import java.util.List;

/**
 * Supplies candidate dead directions for the order read. Implement this to add a detector of
 * your own; register it with the reads alongside the built-in ones.
 */
public interface Detector {

    /** @return a short stable name, e.g. {@code node-death} */
    String name();

    /**
     * @param context the model, its probe and helpers
     * @return candidates, each with its path and predicted order (empty if none apply)
     */
    List<Candidate> detect(DetectorContext context);

    /** @return the built-in detectors of docs/method.md §3 with their default thresholds */
    static List<Detector> defaults() {
        return List.of(new NodeDeathDetector(), new BottomSubspaceDetector(),
                new LayerNormKernelDetector(), new QueryKeyRotationDetector(),
                new RankDeficitDetector());
    }
}
