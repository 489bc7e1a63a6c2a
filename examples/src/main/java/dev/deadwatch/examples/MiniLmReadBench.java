package dev.deadwatch.examples;

import static dev.deadwatch.examples.BenchCommand.median;
import static dev.deadwatch.examples.BenchCommand.stat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.training.loss.Loss;
import dev.deadwatch.capture.GradMode;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.linalg.Eigensolver;
import dev.deadwatch.linalg.SymmetricEigen;
import dev.deadwatch.minilm.Checkpoint;
import dev.deadwatch.minilm.FrozenRead;
import dev.deadwatch.minilm.MiniLm;
import dev.deadwatch.minilm.MiniLmClassifier;
import dev.deadwatch.minilm.MiniLmDemo;
import dev.deadwatch.minilm.Sentences;
import dev.deadwatch.minilm.Tokens;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The MiniLM section of {@code BENCHMARKS.md} ({@code deadwatch bench --only minilm}): one full
 * read without the order read of all-MiniLM-L6-v2, with each eigensolver in turn in the same JVM
 * (EJML, the pure-Java solver deadwatch used before, against native LAPACK), and the eigensolver
 * alone at the model's two widths. Repeats alternate the two solvers' order (AB, BA, …).
 */
final class MiniLmReadBench {

    /** The section's heading. */
    static final String HEADING = "## A full read of all-MiniLM-L6-v2, by eigensolver";
    /** The orders of the eigensolver measurement: MiniLM's width and MLP width. */
    static final int[] ORDERS = {384, 1536};
    /** Seed of the probes and of the classifier's head (the MiniLM demo's default). */
    static final int SEED = 42;
    /** The solvers, EJML (before) first. */
    private static final List<Eigensolver> SOLVERS = List.of(Eigensolver.EJML, Eigensolver.LAPACK);

    private final int repeats;

    /** @param repeats timed repeats per measurement, each solver once per repeat (after one warm-up) */
    MiniLmReadBench(int repeats) {
        this.repeats = repeats;
    }

    /**
     * Seconds by solver, then by what was timed ({@code layernorm}, {@code dds}, {@code fisher},
     * {@code total}); and of the forward pass alone, which no solver runs.
     */
    private record Timings(Map<Eigensolver, Map<String, List<Double>>> bySolver, List<Double> forward) {
        Timings() {
            this(new LinkedHashMap<>(), new ArrayList<>());
        }

        void add(Eigensolver s, String what, double seconds) {
            bySolver.computeIfAbsent(s, k -> new LinkedHashMap<>()).computeIfAbsent(what, k -> new ArrayList<>()).add(seconds);
        }

        List<Double> get(Eigensolver s, String what) {
            return bySolver.getOrDefault(s, Map.of()).getOrDefault(what, List.of());
        }
    }

    /** Appends the section to {@code md}. */
    void write(StringBuilder md) throws Exception {
        for (Eigensolver s : SOLVERS) {
            if (!s.available()) {
                throw new IllegalStateException("the MiniLM section compares both eigensolvers; " + s.label()
                        + " cannot run: " + Eigensolver.lapackProblem().orElse("?"));
            }
        }
        String loadBefore = loadAverage();
        md.append(HEADING).append("\n\n");
        md.append(String.format(Locale.ROOT, "Both eigensolvers in one JVM, %d timed repeats each after a warm-up, the two "
                + "alternating in order (AB, BA, …); median `[min..max]`; speed-up: the median of the per-repeat ratios "
                + "EJML / LAPACK. EJML is the pure-Java solver every read used before; LAPACK is `dsyevd` from the "
                + "system's liblapack.so.3 through JNA (%s). Load average (1, 5, 15 min) at the start: %s.%n%n",
                repeats, Eigensolver.LAPACK.describe(), loadBefore));
        eigensolverAlone(md);
        Checkpoint checkpoint = Checkpoint.allMiniLmL6V2();
        try (Tokens tokens = Tokens.allMiniLmL6V2(); NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(SEED);
            md.append("### One full read without the order read\n\n");
            md.append(String.format(Locale.ROOT, "Frozen: the read of `./deadwatch demo minilm` (`FrozenRead`): the "
                    + "LayerNorm, BatchNorm and DDS reads on one forward pass of %d sequences × %d tokens (%d rows); no "
                    + "loss, so no Fisher side. Fine-tuning: the monitor's read during the demo's fine-tuning, on the "
                    + "encoder with its 2-class head, probe %d sentences × %d tokens with labels: the Fisher side (one "
                    + "forward and one backward pass), then the LayerNorm and DDS reads. The LayerNorm read's time "
                    + "includes the tapped forward pass that records the activations the DDS read then reads; the "
                    + "forward pass alone (no taps, no gradient) is given for scale. The order read does not run (no "
                    + "detector). Float64: on the float64 replica; float32: on the model itself.%n%n",
                    MiniLmDemo.PROBE_SEQUENCES, MiniLmDemo.PROBE_WORDS + 2, MiniLmDemo.PROBE_SEQUENCES * (MiniLmDemo.PROBE_WORDS + 2),
                    MiniLmDemo.TUNE_PROBE, Sentences.Task.LENGTH));
            md.append("| read | precision | measured | EJML (s) | LAPACK (s) | speed-up | RSS after (MB) |\n"
                    + "|---|---|---|---|---|---|---|\n");
            long[][] frozenIds = Sentences.wordSalad(MiniLmDemo.PROBE_SEQUENCES, MiniLmDemo.PROBE_WORDS, SEED);
            Sentences.Task task = Sentences.Task.generate(SEED);
            long[][] tuneIds = Arrays.copyOf(task.ids(tokens), MiniLmDemo.TUNE_PROBE);
            int[] tuneLabels = Arrays.copyOf(task.labels(), MiniLmDemo.TUNE_PROBE);
            Shape frozenShape = new Shape(1, MiniLmDemo.PROBE_WORDS + 2);
            Shape tuneShape = new Shape(1, Sentences.Task.LENGTH);

            MiniLm encoder = MiniLm.allMiniLmL6V2();
            encoder.initialize(m, DataType.FLOAT32, frozenShape);
            checkpoint.loadInto(encoder);
            try (Replica replica = Replica.float64(MiniLm::allMiniLmL6V2, encoder, m, frozenShape)) {
                row(md, "frozen", "float64", frozen(replica.block(), Precision.FLOAT64, frozenIds, m), false);
            }
            row(md, "frozen", "float32", frozen(encoder, Precision.FLOAT32, frozenIds, m), false);

            MiniLmClassifier classifier = new MiniLmClassifier(MiniLm.allMiniLmL6V2(), 2);
            classifier.initialize(m, DataType.FLOAT32, tuneShape);
            checkpoint.loadInto(classifier.encoder());
            try (Replica replica = Replica.float64(() -> new MiniLmClassifier(MiniLm.allMiniLmL6V2(), 2), classifier, m,
                    tuneShape)) {
                row(md, "fine-tuning", "float64", tuning(replica.block(), Precision.FLOAT64, tuneIds, tuneLabels, m), true);
            }
            row(md, "fine-tuning", "float32", tuning(classifier, Precision.FLOAT32, tuneIds, tuneLabels, m), true);
        }
        md.append(String.format(Locale.ROOT, "%nPeak RSS of the run: %s MB (both solvers in one JVM). Load average at the "
                + "end: %s.%n%n", ProcessMemory.megabytes("VmHWM"), loadAverage()));
        md.append("Goal (issue 14): a full read without the order read of MiniLM in at most 10 s on 2 cores.\n\n");
    }

    /** The eigensolver alone on a covariance of each of {@link #ORDERS}, values only and with vectors. */
    private void eigensolverAlone(StringBuilder md) {
        md.append("### The eigensolver alone\n\n");
        md.append("A covariance `GᵀG/2n` of a Gaussian `G` (2n × n, seed 42), decomposed by `SymmetricEigen.of`: "
                + "symmetrising, the solve, sorting and the sign convention included.\n\n");
        md.append("| order n | what | EJML (s) | LAPACK (s) | speed-up |\n|---|---|---|---|---|\n");
        for (int n : ORDERS) {
            double[] c = covariance(n);
            for (boolean vectors : new boolean[] {false, true}) {
                Timings t = new Timings();
                for (int r = -1; r < repeats; r++) {
                    for (Eigensolver s : order(r)) {
                        long t0 = System.nanoTime();
                        SymmetricEigen.of(c, n, vectors, s);
                        if (r >= 0) {
                            t.add(s, "solve", (System.nanoTime() - t0) / 1e9);
                        }
                    }
                }
                md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s |%n", n, vectors ? "values and vectors" : "values only",
                        stat(t.get(Eigensolver.EJML, "solve"), "%.4f", 1), stat(t.get(Eigensolver.LAPACK, "solve"), "%.4f", 1),
                        speedup(t.get(Eigensolver.EJML, "solve"), t.get(Eigensolver.LAPACK, "solve"))));
                System.out.printf(Locale.ROOT, "eigensolver n=%d vectors=%s: EJML %.3f s, LAPACK %.3f s%n", n, vectors,
                        median(t.get(Eigensolver.EJML, "solve")), median(t.get(Eigensolver.LAPACK, "solve")));
            }
        }
        md.append('\n');
    }

    /** @return {@code GᵀG/2n} for a Gaussian {@code G}, row-major (the product on the engine) */
    private static double[] covariance(int n) {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(SEED);
            NDArray g = m.randomNormal(0, 1, new Shape(2L * n, n), DataType.FLOAT64);
            return g.transpose().matMul(g).div(2.0 * n).toDoubleArray();
        }
    }

    /** The frozen read, each solver once per repeat after a warm-up. */
    private Timings frozen(Block model, Precision p, long[][] ids, NDManager parent) {
        Timings t = new Timings();
        for (int r = -1; r < repeats; r++) {
            for (Eigensolver s : order(r)) {
                long t0 = System.nanoTime();
                ReadReport rep = s.use(() -> FrozenRead.read(model, p, ids, parent));
                record(t, s, r, rep, t0);
            }
            if (r >= 0) {
                t.forward().add(forward(model, ids, parent));
            }
        }
        return t;
    }

    /** The fine-tuning monitor's read (Fisher side on), each solver once per repeat after a warm-up. */
    private Timings tuning(Block model, Precision p, long[][] ids, int[] labels, NDManager parent) {
        Timings t = new Timings();
        ReadSuite suite = new ReadSuite(ReadSuite.defaults(FrozenRead.MAX_ROWS, List.of(), 0, true), ReadSuite.ReadObserver.NONE);
        try (NDManager m = parent.newSubManager()) {
            float[] y = new float[labels.length];
            for (int i = 0; i < y.length; i++) {
                y[i] = labels[i];
            }
            NDList in = new NDList(FrozenRead.idArray(m, ids));
            try (ProbeBatch probe = ProbeBatch.copyOf(m, in, new NDList(m.create(y, new Shape(y.length))));
                    ModelProbe mp = new ModelProbe(model, probe, p, OutputMetric.SOFTMAX)) {
                for (int r = -1; r < repeats; r++) {
                    for (Eigensolver s : order(r)) {
                        long t0 = System.nanoTime();
                        ReadReport rep = s.use(() -> suite.read(mp, 0, Loss.softmaxCrossEntropyLoss()));
                        record(t, s, r, rep, t0);
                    }
                    if (r >= 0) {
                        t.forward().add(forward(model, ids, m));
                    }
                }
            }
        }
        return t;
    }

    private static void record(Timings t, Eigensolver s, int r, ReadReport rep, long t0) {
        double total = (System.nanoTime() - t0) / 1e9;
        if (!rep.failures().isEmpty()) {
            throw new IllegalStateException("a layer's read failed with " + s.label() + ": " + rep.failures().get(0));
        }
        if (r < 0) {
            return; // warm-up
        }
        t.add(s, "total", total);
        rep.seconds().forEach((read, sec) -> t.add(s, read, sec));
        System.out.printf(Locale.ROOT, "  %s repeat %d: %.2f s %s%n", s.label(), r, total, rep.seconds());
    }

    /** Seconds of one forward pass of {@code model} on {@code ids}, no taps, no gradient (solver-independent). */
    private static double forward(Block model, long[][] ids, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            NDList in = new NDList(FrozenRead.idArray(m, ids)); // the forward's arrays go to its input's manager
            long t0 = System.nanoTime();
            NDList out = GradMode.off(() -> model.forward(new ParameterStore(m, false), in, false));
            out.attach(m);
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    /** Appends the rows of one setting and precision. */
    private static void row(StringBuilder md, String setting, String precision, Timings t, boolean fisher) {
        String rss = ProcessMemory.megabytes("VmRSS");
        List<String> reads = new ArrayList<>(fisher ? List.of("fisher") : List.of());
        reads.addAll(List.of("layernorm", "dds", "total"));
        for (String what : reads) {
            List<Double> e = t.get(Eigensolver.EJML, what);
            List<Double> l = t.get(Eigensolver.LAPACK, what);
            String name = what.equals("total") ? "**total**" : what;
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s |%n", setting, precision, name,
                    stat(e, "%.2f", 1), what.equals("total") ? "**" + stat(l, "%.2f", 1) + "**" : stat(l, "%.2f", 1),
                    speedup(e, l), what.equals("total") ? rss : ""));
        }
        md.append(String.format(Locale.ROOT, "| %s | %s | forward pass alone | %s | | | |%n", setting, precision,
                stat(t.forward(), "%.2f", 1)));
    }

    /** @return the solvers in the order of repeat {@code r}: EJML first on even repeats, LAPACK first on odd ones */
    static List<Eigensolver> order(int r) {
        return Math.floorMod(r, 2) == 0 ? SOLVERS : List.of(SOLVERS.get(1), SOLVERS.get(0));
    }

    /**
     * @param before seconds of the baseline, one per repeat
     * @param after seconds of the candidate, the same repeats in the same order
     * @return the per-repeat ratios {@code before / after}
     * @throws IllegalArgumentException if the two differ in length
     */
    static List<Double> ratios(List<Double> before, List<Double> after) {
        if (before.size() != after.size()) {
            throw new IllegalArgumentException("paired samples of different sizes: " + before.size() + " and " + after.size());
        }
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < before.size(); i++) {
            out.add(before.get(i) / after.get(i));
        }
        return out;
    }

    /** @return "median× [min×..max×]" of the per-repeat ratios {@link #ratios}, or "—" without samples */
    static String speedup(List<Double> before, List<Double> after) {
        if (before.isEmpty()) {
            return "—";
        }
        List<Double> r = ratios(before, after);
        double lo = r.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        double hi = r.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        return String.format(Locale.ROOT, "%.1f× [%.1f×..%.1f×]", median(r), lo, hi);
    }

    /** @return the 1, 5 and 15 minute load averages, e.g. "0.31, 0.95, 0.80" */
    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + ", " + f[1] + ", " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
