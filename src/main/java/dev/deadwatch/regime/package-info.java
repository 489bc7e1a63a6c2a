/**
 * Regime detection (docs/metrics.md): a layer's signature — headline dead count, set of dead orders
 * read, LayerNorm kernel present — and the confirmation of a change after {@code persist}
 * consecutive reads that differ from the current regime. Not thread-safe: fed by the single
 * analysis thread. O(layers) memory.
 */
package dev.deadwatch.regime;
