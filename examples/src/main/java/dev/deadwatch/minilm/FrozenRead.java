package dev.deadwatch.minilm;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.LayerNormKernelDetector;
import dev.deadwatch.detectors.NodeDeathDetector;
import dev.deadwatch.detectors.QueryKeyRotationDetector;
import dev.deadwatch.detectors.RankDeficitDetector;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.LayerNormResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The read of a frozen checkpoint, offline: the LayerNorm, BatchNorm and DDS reads of
 * {@link ReadSuite} on one forward pass of a probe (no loss, so no Fisher side), and the order
 * read of the detectors' candidates.
 */
public final class FrozenRead {

    /** Row cap of the activation matrices (the library's default). */
    public static final int MAX_ROWS = 4096;

    private FrozenRead() {}

    /**
     * One LayerNorm of the model, read.
     *
     * @param name its name in the checkpoint ({@code encoder.layer.0.output.LayerNorm})
     * @param layer its block path in the DJL model (the metrics' {@code layer} label)
     * @param read the LayerNorm read
     */
    public record NormRow(String name, String layer, LayerNormResult read) {}

    /**
     * @param model the block to read (a {@link MiniLm}, or a block containing one)
     * @param precision its precision
     * @param ids the probe, token ids {@code n × T}
     * @param manager parent manager
     * @return the report: LayerNorm, BatchNorm and DDS reads
     */
    public static ReadReport read(Block model, Precision precision, long[][] ids, NDManager manager) {
        try (NDManager m = manager.newSubManager();
                ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(idArray(m, ids)), null);
                ModelProbe mp = new ModelProbe(model, probe, precision, OutputMetric.IDENTITY)) {
            ReadSuite suite = new ReadSuite(ReadSuite.defaults(MAX_ROWS, List.of(), 0, false),
                    ReadSuite.ReadObserver.NONE);
            return suite.read(mp, 0, null);
        }
    }

    /**
     * @param m owner
     * @param ids token ids, {@code n × T}
     * @return an int64 array {@code (n, T)}
     */
    public static ai.djl.ndarray.NDArray idArray(NDManager m, long[][] ids) {
        int t = ids[0].length;
        long[] flat = new long[ids.length * t];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(ids[i], 0, flat, i * t, t);
        }
        return m.create(flat, new Shape(ids.length, t));
    }

    /**
     * @param encoder the encoder whose norms to list
     * @param root the block the report was read on (the encoder or a block containing it)
     * @param report the report
     * @return one row per LayerNorm of the encoder, in forward order
     * @throws IllegalStateException if a norm has no read in the report
     */
    public static List<NormRow> norms(MiniLm encoder, Block root, ReadReport report) {
        BlockPaths paths = BlockPaths.of(root);
        Map<String, LayerNormResult> byLayer = new LinkedHashMap<>();
        report.layerNorms().forEach(r -> byLayer.put(r.layer(), r));
        List<NormRow> out = new ArrayList<>();
        for (Map.Entry<String, LayerNorm> e : encoder.layerNorms().entrySet()) {
            String path = paths.pathOf(e.getValue());
            LayerNormResult r = byLayer.get(path);
            if (r == null) {
                throw new IllegalStateException("no LayerNorm read of " + e.getKey() + " (" + path + ")");
            }
            out.add(new NormRow(e.getKey(), path, r));
        }
        return out;
    }

    /**
     * Writes {@code layer,min_gamma,q,alignment,kernel}, one row per norm ({@code layer} the
     * checkpoint name).
     *
     * @param file the CSV file
     * @param rows the norms
     */
    public static void writeCsv(Path file, List<NormRow> rows) throws IOException {
        StringBuilder sb = new StringBuilder("layer,min_gamma,q,alignment,kernel\n");
        for (NormRow r : rows) {
            sb.append(String.format(Locale.ROOT, "%s,%.6g,%.6g,%.9f,%s%n", r.name(), r.read().gammaMinAbs(),
                    r.read().rayleigh(), r.read().alignment(), r.read().kernel() ? "yes" : "no"));
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Files.writeString(file, sb, StandardCharsets.UTF_8);
    }

    /**
     * The detectors of the order read: the built-in ones, the MiniLM norms' gauge through their
     * consumer in the next layer ({@link NormGaugeDetector}), and the bottom subspace at most
     * {@code bottomPerLinear} per Linear.
     *
     * @param bottomPerLinear bottom-subspace candidates per Linear, at least 1
     * @return the detectors
     */
    public static List<Detector> detectors(int bottomPerLinear) {
        List<Detector> out = new ArrayList<>(predicting());
        out.add(new BottomSubspaceDetector(Spectrum.EPS_DEAD, bottomPerLinear));
        return out;
    }

    /**
     * @return the detectors that predict what they propose (a gauge or an order): the LayerNorm
     *     gauge (sibling consumer, and {@link NormGaugeDetector}), the query–key orbit, node death
     *     and rank deficits. They cost no forward pass; the bottom subspace costs one per Linear.
     */
    public static List<Detector> predicting() {
        return List.of(new LayerNormKernelDetector(), new NormGaugeDetector(), new QueryKeyRotationDetector(),
                new NodeDeathDetector(), new RankDeficitDetector());
    }

    /**
     * The candidates of the order read, detector by detector.
     *
     * @param probe the model on the probe
     * @param detectors the detectors
     * @return detector name → its candidates, in detector order
     */
    public static Map<String, List<Candidate>> candidates(ModelProbe probe, List<Detector> detectors) {
        DetectorContext ctx = new DetectorContext(probe);
        Map<String, List<Candidate>> out = new LinkedHashMap<>();
        for (Detector d : detectors) {
            out.put(d.name(), d.detect(ctx));
        }
        return out;
    }

    /**
     * At most {@code max} candidates, taken in turn from each detector's list (the first of each,
     * then the second of each, …), so every detector with a candidate is read.
     *
     * @param byDetector detector → candidates
     * @param max at most this many (0: all)
     * @return the sample
     */
    public static List<Candidate> sample(Map<String, List<Candidate>> byDetector, int max) {
        List<Candidate> out = new ArrayList<>();
        int total = byDetector.values().stream().mapToInt(List::size).sum();
        int limit = max <= 0 ? total : Math.min(max, total);
        for (int i = 0; out.size() < limit; i++) {
            for (List<Candidate> cs : byDetector.values()) {
                if (i < cs.size() && out.size() < limit) {
                    out.add(cs.get(i));
                }
            }
        }
        return out;
    }

    /**
     * A detector that runs others and keeps a sample of their candidates ({@link #sample}): the
     * order read of a 22M-parameter model costs about 40 forward passes per candidate.
     *
     * @param detectors the detectors
     * @param max at most this many candidates per order read
     * @return the detector
     */
    public static Detector sampled(List<Detector> detectors, int max) {
        return new Detector() {
            @Override
            public String name() {
                return "sampled";
            }

            @Override
            public List<Candidate> detect(DetectorContext ctx) {
                Map<String, List<Candidate>> byDetector = new LinkedHashMap<>();
                for (Detector d : detectors) {
                    byDetector.put(d.name(), d.detect(ctx));
                }
                return sample(byDetector, max);
            }
        };
    }

    /**
     * The order read of each candidate on a (smaller) probe of the same model.
     *
     * @param probe the model on the order read's probe
     * @param candidates the candidates (their parameters belong to that model)
     * @param seed seed of the live reference
     * @return one result per candidate; parameters restored bit-exactly
     */
    public static List<OrderResult> order(ModelProbe probe, List<Candidate> candidates, long seed) {
        OrderRead.Batch batch = new OrderRead(seed).batch();
        List<OrderResult> out = new ArrayList<>();
        for (Candidate c : candidates) {
            out.add(batch.read(probe, c));
        }
        return out;
    }
}
