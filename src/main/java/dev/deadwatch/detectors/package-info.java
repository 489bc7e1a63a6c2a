/**
 * Candidate dead directions behind one pluggable interface, {@link
 * dev.deadwatch.detectors.Detector}: node death (Linear and Conv), the alignment-free bottom
 * subspace, the LayerNorm-kernel gauge, the query–key rotation orbit and the rank deficit
 * (docs/method.md §3 table). Each candidate carries its path and its predicted order.
 *
 * <p>Detectors only read parameters and captured activations; they never modify the model.
 * Cost: at most one forward pass (bottom subspace) plus small eigensolves per layer.
 */
package dev.deadwatch.detectors;
