/**
 * The census learning coefficient (docs/method.md §4) assembled from order reads, and the closed form of
 * reduced-rank regression (docs/method.md §5, Aoyagi &amp; Watanabe 2005) it is checked against.
 * Stateless and thread-safe; cost is linear in the number of reads.
 */
package dev.deadwatch.census;
