package dev.deadwatch.monitor;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.BlockPaths;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.census.Census;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.reads.DdsRead;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.FisherGramRead;
import dev.deadwatch.reads.LayerNormRead;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.LongPredicate;

/** Runs the reads of one snapshot on a model bound to its probe batch. */
public final class ReadSuite {

    private final DdsRead dds;
    private final LayerNormRead layerNorm;
    private final OrderRead order;
    private final List<Detector> detectors;
    private final ReadObserver observer;

    /**
     * Told the name of each read ({@code layernorm}, {@code dds}, {@code fisher}, {@code order})
     * just before it starts, on the thread that runs it: for tracing and profiling. An exception it
     * throws fails that read as any read failure would.
     */
    @FunctionalInterface
    public interface ReadObserver {
        /** An observer that does nothing. */
        ReadObserver NONE = read -> { };

        /**
         * @param read the read about to start
         * @throws Exception to fail the read
         */
        void beforeRead(String read) throws Exception;
    }

    /**
     * @param maxRows row cap of the activation matrices
     * @param detectors detectors supplying order-read candidates
     * @param seed seed of the order read's reference directions
     */
    public ReadSuite(int maxRows, List<Detector> detectors, long seed) {
        this(maxRows, detectors, seed, ReadObserver.NONE);
    }

    /**
     * @param maxRows row cap of the activation matrices
     * @param detectors detectors supplying order-read candidates
     * @param seed seed of the order read's reference directions
     * @param observer told of each read before it starts
     */
    public ReadSuite(int maxRows, List<Detector> detectors, long seed, ReadObserver observer) {
        this.observer = java.util.Objects.requireNonNull(observer, "observer");
        this.dds = new DdsRead(maxRows, dev.deadwatch.linalg.Spectrum.DEFAULT_FLOOR,
                dev.deadwatch.linalg.Spectrum.EPS_DEAD);
        this.layerNorm = new LayerNormRead(maxRows, dev.deadwatch.linalg.Spectrum.EPS_DEAD);
        this.order = new OrderRead(seed);
        this.detectors = List.copyOf(detectors);
    }

    /**
     * The layers the activation side reads: every leaf block (no children) of the model.
     *
     * @param paths the model's paths
     * @return leaf paths in forward (pre-)order
     */
    public static List<String> tappedLayers(BlockPaths paths) {
        List<String> out = new ArrayList<>();
        paths.byPath().forEach((p, b) -> {
            if (!p.isEmpty() && b.getChildren().isEmpty()) {
                out.add(p);
            }
        });
        return out;
    }

    /**
     * The Linear layers of the Fisher side.
     *
     * @param paths the model's paths
     * @return Linear paths
     */
    public static List<String> fisherLayers(BlockPaths paths) {
        return paths.pathsOf(Linear.class);
    }

    /**
     * Reads one snapshot.
     *
     * @param probe the model on the probe batch
     * @param step training step
     * @param withOrder whether to run the order read this time
     * @param fisher Fisher-side results computed before (see {@link #fisher}), may be empty
     * @return the report
     */
    public ReadReport read(ModelProbe probe, long step, boolean withOrder, List<DdsResult> fisher) {
        return read(probe, step, withOrder, fisher, nanos -> true);
    }

    /**
     * Reads one snapshot, with a budget on the order read: after its first candidate the cost of
     * the rest is estimated (first candidate's time × candidates left) and offered to
     * {@code orderFits}; when refused, the order read stops and the report carries none (a
     * partial census would undercount), so {@link ReadReport#orderRead()} is false.
     *
     * @param probe the model on the probe batch
     * @param step training step
     * @param withOrder whether to run the order read this time
     * @param fisher Fisher-side results computed before (see {@link #fisher}), may be empty
     * @param orderFits given the estimated nanoseconds the rest of the order read needs, whether
     *     it may go on
     * @return the report
     */
    public ReadReport read(ModelProbe probe, long step, boolean withOrder, List<DdsResult> fisher,
            LongPredicate orderFits) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        List<String> layers = tappedLayers(probe.paths());
        List<LayerNormResult> norms = new ArrayList<>();
        List<DdsResult> results = new ArrayList<>();
        try (ModelProbe.Capture cap = probe.capture(new LinkedHashSet<>(layers), Set.of(), Set.of(), false)) {
            before("layernorm");
            long t0 = System.nanoTime();
            Map<String, Integer> kernels = new LinkedHashMap<>();
            for (String layer : layers) {
                Block b = probe.paths().blockAt(layer);
                Parameter gamma = DetectorContext.parameter(b, "gamma");
                if (gamma != null && cap.session().outputs().containsKey(layer)) {
                    LayerNormResult r = layerNorm.read(layer, DetectorContext.values(gamma),
                            cap.session().outputs().get(layer), cap.manager());
                    norms.add(r);
                    kernels.put(layer, r.kernel() ? 1 : 0);
                }
            }
            before("dds");
            long t1 = System.nanoTime();
            for (String layer : layers) {
                var calls = cap.session().outputs().get(layer);
                if (calls != null) {
                    results.add(dds.activation(layer, calls, kernels.getOrDefault(layer, 0), cap.manager()));
                }
            }
            long t2 = System.nanoTime();
            if (!norms.isEmpty()) {
                seconds.put("layernorm", (t1 - t0) / 1e9);
            }
            seconds.put("dds", (t2 - t1) / 1e9);
        }
        results.addAll(fisher);
        List<OrderResult> orders = new ArrayList<>();
        Map<String, Census> census = new LinkedHashMap<>();
        if (withOrder) {
            before("order");
            long t0 = System.nanoTime();
            DetectorContext ctx = new DetectorContext(probe);
            List<Candidate> candidates = new ArrayList<>();
            for (Detector d : detectors) {
                candidates.addAll(d.detect(ctx));
            }
            OrderRead.Batch batch = order.batch(); // candidates on the same tensors share a reference
            for (int i = 0; i < candidates.size(); i++) {
                long c0 = System.nanoTime();
                orders.add(batch.read(probe, candidates.get(i)));
                if (i == 0 && candidates.size() > 1
                        && !orderFits.test((System.nanoTime() - c0) * (candidates.size() - 1))) {
                    seconds.put("order", (System.nanoTime() - t0) / 1e9);
                    return new ReadReport(step, results, norms, List.of(), Map.of(), false, seconds);
                }
            }
            Map<String, List<OrderResult>> byLayer = new LinkedHashMap<>();
            for (OrderResult r : orders) {
                byLayer.computeIfAbsent(r.layer(), k -> new ArrayList<>()).add(r);
            }
            byLayer.forEach((layer, rs) -> census.put(layer, Census.of(layer, rs, OptionalInt.empty())));
            seconds.put("order", (System.nanoTime() - t0) / 1e9);
        }
        return new ReadReport(step, results, norms, orders, census, withOrder, seconds);
    }

    /**
     * The Fisher side on the given model (needs labels). Its backward pass runs with autograd on
     * for the calling thread only ({@link dev.deadwatch.capture.GradMode#withGradient}), so it may
     * run on the analysis worker on the replica while the trainer trains; on the training model
     * itself, call it between steps.
     *
     * @param probe the model on the probe batch
     * @param loss the training loss
     * @return one result per Linear layer
     */
    public List<DdsResult> fisher(ModelProbe probe, Loss loss) {
        before("fisher");
        return new FisherGramRead(dds).read(probe, fisherLayers(probe.paths()), loss);
    }

    private void before(String read) {
        try {
            observer.beforeRead(read);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("read observer failed before " + read, e);
        }
    }
}
