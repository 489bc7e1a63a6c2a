package dev.deadwatch.detectors;

import ai.djl.nn.core.Linear;

/**
 * An attention block whose scores are {@code (W_Q x + b_Q)·(W_K y + b_K)} per head, with heads
 * taking consecutive slices of the projection outputs. The query–key rotation detector reads
 * any block implementing this.
 */
public interface QueryKeyAttention {
    /** @return the query projection */
    Linear queryProjection();

    /** @return the key projection */
    Linear keyProjection();

    /** @return the number of heads */
    int heads();
}
