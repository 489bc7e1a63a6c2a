package dev.deadwatch.reads;

/**
 * One layer a read could not read on one snapshot: that layer is skipped, the rest of the
 * snapshot is read. The monitor counts it ({@code deadwatch_reads_skipped_total{reason="layer"}})
 * and logs each distinct failure once, naming the layer.
 *
 * @param layer block path
 * @param read the read's name
 * @param cause what went wrong
 */
public record LayerFailure(String layer, String read, String cause) {}
