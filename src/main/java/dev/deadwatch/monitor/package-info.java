/**
 * The read suite the live monitor runs on each snapshot: DDS on every leaf layer, the LayerNorm
 * read on every norm, the Fisher side on Linear layers, and every few snapshots the order read
 * of every detector candidate with its census. Single-threaded per model; cost is one forward
 * pass (+ one backward for the Fisher side) per snapshot, plus about 40 forward passes per
 * candidate when the order read runs.
 */
package dev.deadwatch.monitor;
