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
     * whole probe's. A model with one row per sample (a dense network) runs one pass. On the
     * MiniLM-size encoder in float64 (64 tokens a sample: passes of 2 samples) the capture held about
     * 70 MB less than with passes of 256 rows, for about 1 s more of a 7–8 s read.
     */
    static final int PASS_ROWS = 128;

    /**
     * Splits the layers (in path order) into consecutive groups keeping at most {@code groupBytes}
     * each, from the sizes of one sample's inputs and outputs; a layer larger than that is a group of
     * its own.
     */
    static List<List<String>> groups(ModelProbe probe, List<String> linearPaths, long groupBytes) {
        return OneSample.of(probe, new LinkedHashSet<>(linearPaths)).groups(groupBytes);
    }

    /** @return samples per pass: all of them, or {@link #PASS_ROWS} rows' worth when a sample has several rows */
    static int samplesPerPass(ModelProbe probe, Set<String> paths) {
        return OneSample.of(probe, paths).samplesPerPass(paths);
    }

    /**
     * What one sample's forward pass shows of each layer, which both plans are made from (one
     * forward pass for a read's whole plan).
     *
     * @param samples the probe's samples
     * @param bytes layer → bytes of its input and output for one sample
     * @param rows layer → rows of its input for one sample (positions; 1 for a dense network)
     */
    record OneSample(int samples, Map<String, Long> bytes, Map<String, Long> rows) {

        /** Runs one sample of the probe through the model, recording the layers' inputs and outputs. */
        static OneSample of(ModelProbe probe, Set<String> paths) {
            Map<String, Long> bytes = new LinkedHashMap<>();
            Map<String, Long> rows = new LinkedHashMap<>();
            if (!paths.isEmpty()) {
                try (ModelProbe.Capture one = probe.capture(paths, paths, 1)) {
                    for (String p : paths) {
                        long b = 0;
                        long r = 1;
                        for (NDArray a : one.session().inputs().getOrDefault(p, List.of())) {
                            b += a.size() * a.getDataType().getNumOfBytes();
                            long tail = a.getShape().dimension() == 0 ? 1 : a.getShape().tail();
                            r = Math.max(r, a.getShape().size() / Math.max(1, tail));
                        }
                        for (NDArray a : one.session().outputs().getOrDefault(p, List.of())) {
                            b += a.size() * a.getDataType().getNumOfBytes();
                        }
                        bytes.put(p, b);
                        rows.put(p, r);
                    }
                }
            }
            return new OneSample(probe.samples(), bytes, rows);
        }

        /**
         * @param groupBytes kept bytes a group holds at most, at least 1
         * @return the layers in consecutive groups (none for no layers)
         */
        List<List<String>> groups(long groupBytes) {
            if (groupBytes < 1) {
                throw new IllegalArgumentException("groupBytes must be >= 1, got " + groupBytes);
            }
            List<List<String>> out = new ArrayList<>();
            if (bytes.isEmpty()) {
                return out;
            }
            List<String> group = new ArrayList<>();
            long held = 0;
            for (Map.Entry<String, Long> e : bytes.entrySet()) {
                long b = e.getValue() * samples;
                if (!group.isEmpty() && held + b > groupBytes) {
                    out.add(group);
                    group = new ArrayList<>();
                    held = 0;
                }
                group.add(e.getKey());
                held += b;
            }
            out.add(group);
            return out;
        }

        /**
         * @param paths some of the layers
         * @return samples per pass for them: all, or {@link #PASS_ROWS} rows' worth of the layer with
         *     the most rows a sample
         */
        int samplesPerPass(java.util.Collection<String> paths) {
            long r = 1;
            for (String p : paths) {
                r = Math.max(r, rows.getOrDefault(p, 1L));
            }
            return r <= 1 ? samples : (int) Math.max(1, Math.min(samples, PASS_ROWS / r));
        }
    }
}
