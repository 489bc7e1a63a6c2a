package dev.deadwatch.order;

/**
 * How many of a layer's order-read candidates were read on a snapshot: the detectors found
 * {@code found}, the order read read {@code read} of them, chosen deterministically from its seed
 * (the census of the layer counts those).
 *
 * @param layer the layer
 * @param found candidates the detectors supplied
 * @param read candidates read
 */
public record OrderSample(String layer, int found, int read) {
    /** Validates. */
    public OrderSample {
        if (found < 0 || read < 0 || read > found) {
            throw new IllegalArgumentException("need 0 <= read <= found, got " + read + " of " + found);
        }
    }
}
