/**
 * The constructed cells of docs/method.md §6 built as real DJL blocks, each run through the reads and
 * checked against its known answer. Backs {@code deadwatch cells}. Single-threaded; the whole
 * table costs a few thousand forward passes of tiny blocks (seconds on a laptop CPU).
 */
package dev.deadwatch.cells;
