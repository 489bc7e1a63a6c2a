package dev.deadwatch.monitor;

import dev.deadwatch.census.Census;
import dev.deadwatch.census.CensusRead;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.order.OrderSample;
import dev.deadwatch.reads.BatchNormResult;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerFailure;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.reads.ReadContext;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything one snapshot's reads produced: their results, in the order the reads added them,
 * found by type ({@link #results(Class)}), with shortcuts for the built-in reads.
 *
 * @param step training step of the snapshot
 * @param results every read's results, in the order added
 * @param abandoned reads that stopped before they finished (they added nothing)
 * @param seconds read name → seconds spent, for every read that ran (abandoned ones included)
 */
public record ReadReport(long step, List<Object> results, Set<String> abandoned, Map<String, Double> seconds) {

    /** Copies. */
    public ReadReport {
        results = List.copyOf(results);
        abandoned = Set.copyOf(abandoned);
        seconds = Map.copyOf(seconds);
    }

    /**
     * @param <T> the result type
     * @param type the result type
     * @return the results of that type, in the order added
     */
    public <T> List<T> results(Class<T> type) {
        return ReadContext.ofType(results, type);
    }

    /**
     * @param read a read's name
     * @return whether that read ran to its end on this snapshot
     */
    public boolean ran(String read) {
        return seconds.containsKey(read) && !abandoned.contains(read);
    }

    /** @return the DDS results, activation side then Fisher side */
    public List<DdsResult> dds() {
        List<DdsResult> out = results(DdsResult.class);
        out.sort(Comparator.comparing(DdsResult::side)); // stable: each side in layer order
        return out;
    }

    /** @return the BatchNorm reads */
    public List<BatchNormResult> batchNorms() {
        return results(BatchNormResult.class);
    }

    /** @return the layers a read could not read on this snapshot */
    public List<LayerFailure> failures() {
        return results(LayerFailure.class);
    }

    /** @return the LayerNorm reads */
    public List<LayerNormResult> layerNorms() {
        return results(LayerNormResult.class);
    }

    /** @return the order reads (empty when the order read did not run to its end) */
    public List<OrderResult> orders() {
        return results(OrderResult.class);
    }

    /** @return per layer, how many of its candidates the order read read (empty likewise) */
    public List<OrderSample> orderSamples() {
        return results(OrderSample.class);
    }

    /** @return layer → census of its order reads (empty likewise) */
    public Map<String, Census> census() {
        Map<String, Census> out = new LinkedHashMap<>();
        for (Census c : results(Census.class)) {
            out.put(c.scope(), c);
        }
        return out;
    }

    /** @return whether the order read ran to its end */
    public boolean orderRead() {
        return ran(CensusRead.NAME);
    }
}
