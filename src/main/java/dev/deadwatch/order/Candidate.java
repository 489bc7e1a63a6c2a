package dev.deadwatch.order;

import java.util.Objects;

/**
 * A candidate dead direction supplied by a detector.
 *
 * @param name human-readable name, unique within a read (e.g. {@code node-death[3]})
 * @param layer the block path the candidate belongs to (metric label)
 * @param path the path through the base point
 * @param predicted the predicted order or gauge
 */
public record Candidate(String name, String layer, ParameterPath path, Prediction predicted) {
    /** Validates. */
    public Candidate {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(layer, "layer");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(predicted, "predicted");
    }
}
