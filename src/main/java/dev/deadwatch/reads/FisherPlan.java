package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import dev.deadwatch.capture.ModelProbe;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How {@link FisherGramRead} splits its work so that what it holds at once stays bounded: the
 * probe in passes over groups of samples, the Linear layers in groups captured one after the other.
 * Both are planned from one sample's forward pass.
 */
final class FisherPlan {

    private FisherPlan() {}

    /**
     * Kept bytes (inputs and output gradients, all samples) a group of layers captures at most
     * before the next group's passes: above it, a model's Linear layers are captured in groups, each
     * group's Grams built and its arrays freed before the next group's passes run. On the
     * MiniLM-size encoder in float64 the layers keep about 300 MB: five groups, which lowered the
     * capture's peak from about 250 to 185 MB above what was held before, in the same time (a
     * forward and a backward pass per group, the backward of a later group stopping at its lowest
     * layer, against building the Grams later). Captures whose rests are
     * {@linkplain ReadContext#deferRests() deferred} keep every layer.
     */
    static final long GROUP_BYTES = 64L << 20;

    /**
     * Rows (samples × positions of the layer with the most) a pass covers at most when a sample
     * has more than one row: a sequence model's probe is read in passes of this many rows, so the
     * pass's autograd graph and gradient probes, in float64 on the replica, are a fraction of the
     * whole probe's. A model with one row per sample (a dense network) runs one pass.
     */
    static final int PASS_ROWS = 256;

    /**
     * Splits the layers (in path order) into consecutive groups keeping at most {@code groupBytes}
     * each, from the sizes of one sample's inputs and outputs; a layer larger than that is a group of
     * its own.
     */
    static List<List<String>> groups(ModelProbe probe, List<String> linearPaths, long groupBytes) {
        if (groupBytes < 1) {
            throw new IllegalArgumentException("groupBytes must be >= 1, got " + groupBytes);
        }
        Set<String> paths = new LinkedHashSet<>(linearPaths);
        List<List<String>> out = new ArrayList<>();
        if (paths.isEmpty()) {
            return out;
        }
        Map<String, Long> perSample = new LinkedHashMap<>();
        try (ModelProbe.Capture one = probe.capture(paths, paths, 1)) {
            for (String p : paths) {
                long bytes = 0;
                for (Map<String, List<NDArray>> m : List.of(one.session().inputs(), one.session().outputs())) {
                    for (NDArray a : m.getOrDefault(p, List.of())) {
                        bytes += a.size() * a.getDataType().getNumOfBytes();
                    }
                }
                perSample.put(p, bytes);
            }
        }
        int n = probe.samples();
        List<String> group = new ArrayList<>();
        long bytes = 0;
        for (String p : paths) {
            long b = perSample.get(p) * n;
            if (!group.isEmpty() && bytes + b > groupBytes) {
                out.add(group);
                group = new ArrayList<>();
                bytes = 0;
            }
            group.add(p);
            bytes += b;
        }
        out.add(group);
        return out;
    }

    /** @return samples per pass: all of them, or {@link #PASS_ROWS} rows' worth when a sample has several rows */
    static int samplesPerPass(ModelProbe probe, Set<String> paths) {
        int n = probe.samples();
        long rows = 1;
        try (ModelProbe.Capture one = probe.capture(Set.of(), paths, 1)) {
            for (List<NDArray> calls : one.session().inputs().values()) {
                for (NDArray a : calls) {
                    long tail = a.getShape().dimension() == 0 ? 1 : a.getShape().tail();
                    rows = Math.max(rows, a.getShape().size() / Math.max(1, tail));
                }
            }
        }
        return rows <= 1 ? n : (int) Math.max(1, Math.min(n, PASS_ROWS / rows));
    }
}
