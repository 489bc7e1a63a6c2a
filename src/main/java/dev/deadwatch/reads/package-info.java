/**
 * One {@code *Read} class per read of docs/method.md, each returning an immutable result record:
 * {@link dev.deadwatch.reads.LayerNormRead} (§1), {@link dev.deadwatch.reads.DdsRead} and
 * {@link dev.deadwatch.reads.FisherGramRead} (§2), {@link dev.deadwatch.order.OrderRead} (§3).
 *
 * <p>Threading: reads are not thread-safe with respect to the block they read (the order read
 * perturbs its parameters and restores them bit-exactly); run one read per block at a time.
 * Cost: LayerNorm and DDS need one forward pass of the probe batch plus an O(w³) eigensolve
 * per layer; the Fisher side one forward and one backward; the order read
 * {@code 2 × grid + 16 + 2} forward passes per candidate.
 */
package dev.deadwatch.reads;
