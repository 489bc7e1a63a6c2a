/**
 * Capturing what the reads need from a live DJL model: stable block paths, activations of any
 * sub-block (through advice on {@code AbstractBaseBlock.forward}), the fixed probe batch,
 * parameter state with bit-exact restore, and the float64 replica.
 *
 * <p>Threading: a {@link dev.deadwatch.capture.TapSession} is bound to the thread that opens it;
 * forward passes on other threads are never recorded. Cost: one forward pass of the probe batch
 * per capture; the advice costs one thread-local read per block call when no session is open.
 */
package dev.deadwatch.capture;
