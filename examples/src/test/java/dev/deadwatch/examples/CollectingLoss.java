package dev.deadwatch.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.loss.Loss;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loss that forces a garbage collection (and lets the JDK's cleaner free what it found) every
 * {@code every}-th evaluation: after the forward pass, before the backward pass. With it a
 * Java-backed operand that autograd kept but Java freed (docs/findings.md) is overwritten before
 * the backward pass reads it, so a test sees the damage instead of depending on when the
 * collector happens to run.
 */
public final class CollectingLoss extends Loss {
    private final Loss inner;
    private final int every;
    private final AtomicInteger calls = new AtomicInteger();

    /**
     * @param inner the loss evaluated
     * @param every collect on every this many evaluations
     */
    public CollectingLoss(Loss inner, int every) {
        super(inner.getName());
        this.inner = inner;
        this.every = every;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        if (calls.incrementAndGet() % every == 0) {
            System.gc();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return inner.evaluate(labels, predictions);
    }
}
