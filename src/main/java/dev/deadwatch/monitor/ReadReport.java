package dev.deadwatch.monitor;

import dev.deadwatch.census.Census;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.order.OrderResult;
import java.util.List;
import java.util.Map;

/**
 * Everything one snapshot's reads produced.
 *
 * @param step training step of the snapshot
 * @param dds DDS results, activation side then Fisher side
 * @param layerNorms LayerNorm reads
 * @param orders order reads (empty when the order read did not run this snapshot)
 * @param census per-layer census of the order reads (empty likewise)
 * @param orderRead whether the order read ran
 * @param seconds read name ({@code dds}, {@code layernorm}, {@code fisher}, {@code order}) →
 *     seconds spent
 */
public record ReadReport(long step, List<DdsResult> dds, List<LayerNormResult> layerNorms,
        List<OrderResult> orders, Map<String, Census> census, boolean orderRead,
        Map<String, Double> seconds) {
    /** Copies. */
    public ReadReport {
        dds = List.copyOf(dds);
        layerNorms = List.copyOf(layerNorms);
        orders = List.copyOf(orders);
        census = Map.copyOf(census);
        seconds = Map.copyOf(seconds);
    }
}
