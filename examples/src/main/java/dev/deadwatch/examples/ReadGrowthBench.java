package dev.deadwatch.examples;

import static dev.deadwatch.examples.BenchCommand.PROBE;
import static dev.deadwatch.examples.BenchCommand.measured;
import static dev.deadwatch.examples.BenchCommand.median;
import static dev.deadwatch.examples.BenchCommand.slope;
import static dev.deadwatch.examples.BenchCommand.stat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.order.OrderRead;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The read-cost section of {@code BENCHMARKS.md} ({@code deadwatch bench}): times each read of the
 * read suite on MLPs of growing width and depth and fits its growth exponent (the slope of log
 * time against log width or depth).
 */
final class ReadGrowthBench {

    private final int repeats;

    /** @param repeats timed repeats per measurement (after one warm-up) */
    ReadGrowthBench(int repeats) {
        this.repeats = repeats;
    }

    /** An MLP of {@code depth} blocks Linear(width) → LayerNorm → ReLU, then Linear(4). */
    static Block mlp(int width, int depth) {
        SequentialBlock b = new SequentialBlock();
        for (int i = 0; i < depth; i++) {
            b.add(Linear.builder().setUnits(width).build()).add(LayerNorm.builder().build()).add(Activation.reluBlock());
        }
        return b.add(Linear.builder().setUnits(4).build());
    }

    /** Appends the section to {@code md}. */
    void write(StringBuilder md) {
        md.append("## Read cost against width and depth\n\n");
        md.append(String.format(Locale.ROOT, "Model: `depth` blocks of Linear(width) → LayerNorm → ReLU, then Linear(4); input 32 features, "
                + "probe %d samples, float32 on the model (the listener's path without a block factory). Per read: median wall "
                + "time of %d repeats after a warm-up. Engine passes per read: activation DDS and LayerNorm share one forward; "
                + "Fisher one forward and one backward; the order read two forwards per point of its %d-point scale grid and "
                + "candidate, plus %d for the noise floor and the live reference of each set of tensors at one base point "
                + "(shared by the candidates there): its time and forwards are reported per candidate, the forwards as counted. "
                + "Growth exponent: least-squares slope of log time against log width (or depth).%n%n",
                PROBE, repeats, OrderRead.GRID_POINTS, 2 * (1 + OrderRead.REFERENCE_DIRECTIONS)));
        int[] widths = {64, 128, 256, 512, 1024};
        int[] depths = {1, 2, 4, 8, 12};
        Map<String, double[]> byWidth = new LinkedHashMap<>();
        Map<String, double[]> byDepth = new LinkedHashMap<>();
        md.append("| width | depth | dds (s) | layernorm (s) | fisher (s) | order (s per candidate) | order candidates "
                + "| order forwards per candidate |\n|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < widths.length; i++) {
            Map<String, Double> t = timeReads(widths[i], 2, md);
            for (Map.Entry<String, Double> e : t.entrySet()) {
                byWidth.computeIfAbsent(e.getKey(), x -> new double[widths.length])[i] = e.getValue();
            }
        }
        for (int i = 0; i < depths.length; i++) {
            Map<String, Double> t = timeReads(128, depths[i], md);
            for (Map.Entry<String, Double> e : t.entrySet()) {
                byDepth.computeIfAbsent(e.getKey(), x -> new double[depths.length])[i] = e.getValue();
            }
        }
        md.append("\n| read | exponent in width (64 … 1024, depth 2) | exponent in depth (1 … 12, width 128) |\n|---|---|---|\n");
        for (String read : byWidth.keySet()) {
            md.append(String.format(Locale.ROOT, "| %s | %.2f | %.2f |%n", read, slope(widths, byWidth.get(read)),
                    slope(depths, byDepth.get(read))));
        }
        md.append(String.format(Locale.ROOT, "%nThe order read's exponents are per candidate, fitted over the sizes that had "
                + "a candidate: width %s, depth %s.%n%n", measured(widths, byWidth.get("order")),
                measured(depths, byDepth.get("order"))));
    }

    private Map<String, Double> timeReads(int width, int depth, StringBuilder md) {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(5);
            Block block = mlp(width, depth);
            block.initialize(m, DataType.FLOAT32, new Shape(PROBE, 32));
            NDArray x = m.randomNormal(0, 1, new Shape(PROBE, 32), DataType.FLOAT32);
            NDArray y = m.randomInteger(0, 4, new Shape(PROBE), DataType.INT32);
            ReadSuite suite = new ReadSuite(ReadSuite.defaults(4096, Detector.defaults(), 0, true),
                    ReadSuite.ReadObserver.NONE);
            Map<String, List<Double>> samples = new LinkedHashMap<>();
            Map<String, List<Double>> counts = new LinkedHashMap<>();
            try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList(y));
                    ModelProbe mp = new ModelProbe(block, probe, Precision.FLOAT32, OutputMetric.SOFTMAX)) {
                for (int r = 0; r <= repeats; r++) {
                    long passes = mp.evaluations();
                    ReadReport rep = suite.read(mp, r, Loss.softmaxCrossEntropyLoss());
                    passes = mp.evaluations() - passes; // the order read's forwards (captures are not counted)
                    if (r == 0) {
                        continue; // warm-up
                    }
                    samples.computeIfAbsent("dds", k -> new ArrayList<>()).add(rep.seconds().getOrDefault("dds", Double.NaN));
                    samples.computeIfAbsent("layernorm", k -> new ArrayList<>()).add(rep.seconds().getOrDefault("layernorm", Double.NaN));
                    samples.computeIfAbsent("fisher", k -> new ArrayList<>()).add(rep.seconds().getOrDefault("fisher", Double.NaN));
                    // per candidate; no candidate at this size: no figure (left out of the growth fit)
                    int candidates = rep.orders().size();
                    samples.computeIfAbsent("order", k -> new ArrayList<>()).add(candidates == 0 ? Double.NaN
                            : rep.seconds().getOrDefault("order", Double.NaN) / candidates);
                    counts.computeIfAbsent("candidates", k -> new ArrayList<>()).add((double) candidates);
                    counts.computeIfAbsent("forwards", k -> new ArrayList<>()).add((double) passes / Math.max(1, candidates));
                }
            }
            Map<String, Double> medians = new LinkedHashMap<>();
            samples.forEach((k, v) -> medians.put(k, median(v)));
            boolean noCandidate = median(counts.get("candidates")) == 0;
            md.append(String.format(Locale.ROOT, "| %d | %d | %s | %s | %s | %s | %.0f | %s |%n", width, depth,
                    stat(samples.get("dds"), "%.4f", 1), stat(samples.get("layernorm"), "%.4f", 1),
                    stat(samples.get("fisher"), "%.4f", 1),
                    noCandidate ? "— (no candidate)" : stat(samples.get("order"), "%.4f", 1),
                    median(counts.get("candidates")),
                    noCandidate ? "—" : String.format(Locale.ROOT, "%.1f", median(counts.get("forwards")))));
            System.out.printf(Locale.ROOT, "reads at width %d depth %d: %s%n", width, depth, medians);
            return medians;
        }
    }
}
