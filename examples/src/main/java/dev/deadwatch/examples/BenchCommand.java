package dev.deadwatch.examples;

import dev.deadwatch.census.CensusRead;
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
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.bench.ReducedRankRegression;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.monitor.ReadReport;
import dev.deadwatch.monitor.ReadSuite;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.bench.LlcRead;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.reads.Side;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deadwatch bench}: the benchmark harness. Measures the monitor's training overhead
 * (interleaved A/B on the grokking example), each read's cost against width and depth with its
 * fitted growth exponent, and the DDS reads against the SGLD learning-coefficient estimator on
 * reduced-rank-regression checkpoints with a known λ; writes {@code BENCHMARKS.md}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run the benchmarks (overhead, read-cost growth, DDS vs SGLD) and write BENCHMARKS.md.")
public final class BenchCommand implements Callable<Integer> {


    @Spec
    private CommandSpec spec;

    @Option(names = "--out", defaultValue = "BENCHMARKS.md", description = "Report file (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--repeats", defaultValue = "5", description = "Timed repeats per measurement (default: ${DEFAULT-VALUE}).")
    private int repeats;

    @Option(names = "--overhead-pairs", defaultValue = "10", description = "A/B pairs of the overhead runs (default: ${DEFAULT-VALUE}).")
    private int pairs;

    @Option(names = "--overhead-steps", defaultValue = "2000", description = "Steps per overhead run (default: ${DEFAULT-VALUE}).")
    private int overheadSteps;

    @Option(names = "--only", description = "Run one part only: overhead, growth or sgld (default: all).")
    private String only;

    @Option(names = "--sgld-epsilon", defaultValue = "5e-4", description = "SGLD step ε (default: ${DEFAULT-VALUE}).")
    private double epsilon;

    @Option(names = "--sgld-gamma", defaultValue = "10", description = "SGLD localization γ (default: ${DEFAULT-VALUE}).")
    private double gamma;

    @Option(names = "--sgld-steps", defaultValue = "100", description = "SGLD burn-in steps and draws per chain (default: ${DEFAULT-VALUE}).")
    private int sgldSteps;

    /** Reduced-rank regression shape of the SGLD comparison. */
    static final int RRR_M = 6;
    static final int RRR_N = 6;
    static final int RRR_H = 4;
    static final int RRR_SAMPLES = 1000;
    static final int PROBE = 256;

    @Override
    public Integer call() throws Exception {
        if (repeats < 1 || pairs < 1 || overheadSteps < 100) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
                    "need --repeats >= 1, --overhead-pairs >= 1, --overhead-steps >= 100; got " + repeats + ", "
                            + pairs + ", " + overheadSteps);
        }
        StringBuilder md = new StringBuilder();
        md.append("# deadwatch benchmarks\n\n");
        // the command line as given (picocli keeps the whole of it, the subcommand's name included)
        String command = spec == null ? "" : String.join(" ", spec.commandLine().getParseResult().originalArgs());
        command = command.startsWith("bench") ? command : ("bench " + command).trim();
        md.append(String.format(Locale.ROOT, "Written by `./deadwatch %s` on %s. Machine: %s, %d cores, %s, Java %s.%n%n",
                command, LocalDate.now(), cpuModel(), Runtime.getRuntime().availableProcessors(), System.getProperty("os.name")
                        + " " + System.getProperty("os.arch"), System.getProperty("java.version")));
        md.append("Every number is a median over repeats with its range `[min..max]`; every comparison is a ratio\n"
                + "measured inside one run (interleaved A/B for the overhead).\n\n");
        if (only == null || only.equals("overhead")) {
            overhead(md);
        }
        if (only == null || only.equals("growth")) {
            growth(md);
        }
        if (only == null || only.equals("sgld")) {
            ddsVersusSgld(md);
        }
        Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
        System.out.println("wrote " + out.toAbsolutePath());
        return 0;
    }

    // ------------------------------------------------------------------ overhead

    private void overhead(StringBuilder md) throws Exception {
        md.append("## Training overhead (grokking example)\n\n");
        md.append(String.format(Locale.ROOT, "`deadwatch overhead`'s measurement: a %d-step warm-up run of each arm, then %d "
                + "interleaved pairs of %d-step runs in alternating order (AB, BA, …); steps/s up to the last step; overhead = "
                + "median of the per-pair ratios `[min..max]`. Beside it, two cost-accounting figures that the machine's "
                + "run-to-run drift does not move: the time the training thread spends inside the monitor's callbacks, and "
                + "the CPU time the monitor adds on other threads (its worker; the other core here), each as a share of an "
                + "unmonitored step. Engine threads: intra-op threads of the training thread (the examples use the engine's "
                + "default, %d here). Reads per run: reads completed in a monitored run. Second half: the same ratio over the "
                + "second half of each run's steps, after the monitor's per-run start-up (building its replica, its first read). "
                + "The read worker's scheduling "
                + "under the default budget on this machine: %s.%n%n", OVERHEAD_WARMUP, pairs, overheadSteps,
                OverheadCommand.Arm.DEFAULTS.threads(), OverheadCommand.workerScheduling()));
        md.append("| setting | engine threads | steps/s without | steps/s with | overhead (wall) | training thread in the monitor "
                + "| monitor CPU on other threads | process CPU per step | reads per run | overhead, second half of each run |\n"
                + "|---|---|---|---|---|---|---|---|---|---|\n");
        List<OverheadCommand.Arm> arms = List.of(OverheadCommand.Arm.DEFAULTS, new OverheadCommand.Arm(0, 1, 0, 0),
                new OverheadCommand.Arm(0, 0, 0, 1));
        List<String> names = List.of("**defaults** (interval 50, order every 5th snapshot, budget 5%)",
                "order read every snapshot (worst case)", "defaults, training on one engine thread (the other core left to the monitor)");
        double startup = Double.NaN;
        for (int i = 0; i < arms.size(); i++) {
            OverheadCommand.Arm arm = arms.get(i);
            OverheadCommand.Comparison c = OverheadCommand.compare(pairs, overheadSteps, OVERHEAD_WARMUP, arm, System.out);
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | **%s** | %s | %s | %s | %s | %s |%n", names.get(i), arm.threads(),
                    stat(c.without().stream().map(OverheadCommand.Timing::stepsPerSecond).toList(), "%.0f", 1),
                    stat(c.with().stream().map(OverheadCommand.Timing::stepsPerSecond).toList(), "%.0f", 1),
                    stat(c.overhead(), "%.1f%%", 100), stat(c.hookShare(), "%.2f%%", 100),
                    stat(c.offThreadShare(), "%.1f%%", 100), stat(c.cpuOverhead(), "%.1f%%", 100),
                    stat(c.reads(), "%.0f", 1), stat(c.steadyOverhead(), "%.1f%%", 100)));
            if (i == 0) {
                startup = c.startupSeconds();
            }
        }
        md.append(String.format(Locale.ROOT, "%nGoal: ≤ 3%% at defaults. One-time start-up of the first monitored run in a JVM "
                + "(replica build, first use of each read; not in the ratios above), as the first monitored warm-up run's "
                + "time beyond the first unmonitored one's: %s.%n%n", startup >= 0 ? String.format(Locale.ROOT, "%.2f s", startup)
                : String.format(Locale.ROOT, "not resolved (%.2f s: the two runs' drift is larger)", startup)));
        // the examples' engine-thread choice, measured the same way: one thread against two, unmonitored
        OverheadCommand.Arm a1 = new OverheadCommand.Arm(0, 0, 0, 1);
        OverheadCommand.Arm a2 = new OverheadCommand.Arm(0, 0, 0, 2);
        OverheadCommand.Pairs p = OverheadCommand.interleave(pairs, () -> OverheadCommand.run(overheadSteps, false, a1),
                () -> OverheadCommand.run(overheadSteps, false, a2), (i, x, y) -> { });
        List<Double> one = p.a().stream().map(OverheadCommand.Timing::stepsPerSecond).toList();
        List<Double> two = p.b().stream().map(OverheadCommand.Timing::stepsPerSecond).toList();
        List<Double> cpuOne = p.a().stream().map(OverheadCommand.Timing::cpuMillisPerStep).toList();
        List<Double> cpuTwo = p.b().stream().map(OverheadCommand.Timing::cpuMillisPerStep).toList();
        md.append(String.format(Locale.ROOT, "Engine threads, unmonitored, %d interleaved pairs: one thread %s steps/s at %s "
                + "CPU-ms/step, two threads %s steps/s at %s CPU-ms/step.%n%n", pairs, stat(one, "%.0f", 1),
                stat(cpuOne, "%.2f", 1), stat(two, "%.0f", 1), stat(cpuTwo, "%.2f", 1)));
    }

    /** Steps of each arm's warm-up run before the overhead pairs. */
    static final int OVERHEAD_WARMUP = 1000;

    // ------------------------------------------------------------------ growth

    /** An MLP of {@code depth} blocks Linear(width) → LayerNorm → ReLU, then Linear(4). */
    static Block mlp(int width, int depth) {
        SequentialBlock b = new SequentialBlock();
        for (int i = 0; i < depth; i++) {
            b.add(Linear.builder().setUnits(width).build()).add(LayerNorm.builder().build()).add(Activation.reluBlock());
        }
        return b.add(Linear.builder().setUnits(4).build());
    }

    private void growth(StringBuilder md) {
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

    // ------------------------------------------------------------------ DDS vs SGLD

    /** Two bias-free Linear layers M → H → N (the reduced-rank regression model). */
    static Block rrr() {
        return new SequentialBlock().add(Linear.builder().setUnits(RRR_H).optBias(false).build())
                .add(Linear.builder().setUnits(RRR_N).optBias(false).build());
    }

    private void ddsVersusSgld(StringBuilder md) {
        md.append("## DDS against the SGLD learning coefficient (reduced-rank regression)\n\n");
        LlcRead.Config d = LlcRead.Config.defaults();
        LlcRead.Config sgld = new LlcRead.Config(d.chains(), sgldSteps, sgldSteps, epsilon, gamma, d.batchSize(), 0);
        md.append(String.format(Locale.ROOT, "Checkpoints: the true parameter of a bias-free M=%d → H=%d → N=%d linear network whose "
                + "product has rank r = 0 … %d (r hidden units carry the signal, the other H−r are dead in and out), n = %d "
                + "samples, x ~ N(0, I), y = BAx + N(0, I). True λ: the closed form of METHOD §5. SGLD (`LlcRead`, the "
                + "devinterp estimator): %d chains × (%d burn-in + %d draws), ε = %g, γ = %g, minibatch %d, β = 1/log n. DDS: "
                + "the activation and Fisher-Gram reads of the read suite on a %d-sample probe (one forward; one forward + one "
                + "backward). Wall time: median of %d repeats.%n%n", RRR_M, RRR_H, RRR_N, RRR_H, RRR_SAMPLES, sgld.chains(),
                sgld.burnIn(), sgld.draws(), sgld.stepSize(), sgld.localization(), sgld.batchSize(), PROBE, repeats));
        md.append("| r | true λ | SGLD λ̂ (± s.e.) | SGLD passes | SGLD s | DDS active dims (hidden, activation) | DDS active dims "
                + "(Fisher, both layers) | DDS log det⁺ (hidden) | DDS passes | DDS s |\n|---|---|---|---|---|---|---|---|---|---|\n");
        int maxR = RRR_H;
        double[] truth = new double[maxR + 1];
        double[] sgldHat = new double[maxR + 1];
        double[] actActive = new double[maxR + 1];
        double[] fisherActive = new double[maxR + 1];
        double[] logDet = new double[maxR + 1];
        double sgldPasses = 0;
        double ddsPasses = 0;
        List<Double> sgldSeconds = new ArrayList<>();
        List<Double> ddsSeconds = new ArrayList<>();
        for (int r = 0; r <= maxR; r++) {
            truth[r] = ReducedRankRegression.of(RRR_M, RRR_N, RRR_H, r).lambda();
            try (NDManager m = NDManager.newBaseManager()) {
                m.getEngine().setRandomSeed(100 + r);
                Block block = rrr();
                block.initialize(m, DataType.FLOAT32, new Shape(1, RRR_M));
                // true parameter: r live hidden units, the rest zero in and out
                // entries N(0, 1/fan-in), so the product's singular values are O(1)
                NDArray a = m.randomNormal(0, (float) (1 / Math.sqrt(RRR_M)), new Shape(RRR_H, RRR_M), DataType.FLOAT32);
                NDArray b = m.randomNormal(0, (float) (1 / Math.sqrt(RRR_H)), new Shape(RRR_N, RRR_H), DataType.FLOAT32);
                float[] mask = new float[RRR_H];
                for (int j = 0; j < r; j++) {
                    mask[j] = 1;
                }
                NDArray mk = m.create(mask);
                a = a.mul(mk.reshape(RRR_H, 1));
                b = b.mul(mk.reshape(1, RRR_H));
                var params = block.getParameters();
                ParameterState.write(params.get(0).getValue().getArray(), ParameterState.toDoubles(a));
                ParameterState.write(params.get(1).getValue().getArray(), ParameterState.toDoubles(b));
                NDArray x = m.randomNormal(0, 1, new Shape(RRR_SAMPLES, RRR_M), DataType.FLOAT32);
                NDArray y = x.matMul(a.transpose()).matMul(b.transpose())
                        .add(m.randomNormal(0, 1, new Shape(RRR_SAMPLES, RRR_N), DataType.FLOAT32));

                List<Double> hats = new ArrayList<>();
                List<Double> sgldT = new ArrayList<>();
                LlcRead.Result last = null;
                for (int rep = 0; rep < repeats; rep++) {
                    LlcRead.Config c = new LlcRead.Config(sgld.chains(), sgld.burnIn(), sgld.draws(), sgld.stepSize(),
                            sgld.localization(), sgld.batchSize(), rep);
                    last = new LlcRead().read(block, x, y, c);
                    hats.add(last.lambdaHat());
                    sgldT.add(last.seconds());
                }
                sgldHat[r] = median(hats);
                sgldPasses = last.enginePasses();
                sgldSeconds.add(median(sgldT));

                ReadSuite suite = new ReadSuite(ReadSuite.defaults(4096, List.of(), 0, true), ReadSuite.ReadObserver.NONE);
                List<Double> ddsT = new ArrayList<>();
                ReadReport report = null;
                try (ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x.get("0:" + PROBE)), new NDList(y.get("0:" + PROBE)));
                        ModelProbe mp = new ModelProbe(block, probe, Precision.FLOAT32, OutputMetric.IDENTITY)) {
                    for (int rep = 0; rep <= repeats; rep++) {
                        long t0 = System.nanoTime();
                        report = suite.read(mp, 0, Loss.l2Loss(), read -> !CensusRead.NAME.equals(read), nanos -> true);
                        if (rep > 0) {
                            ddsT.add((System.nanoTime() - t0) / 1e9);
                        }
                    }
                }
                ddsPasses = 3; // one forward (activation side), one forward + one backward (Fisher side)
                ddsSeconds.add(median(ddsT));
                for (DdsResult dr : report.dds()) {
                    // an all-zero matrix (r = 0) has no active eigenvalue: log det⁺ is NaN, nothing is active
                    int active = Double.isNaN(dr.logDetActive()) ? 0 : dr.dimension() - dr.deadCount();
                    if (dr.side() == Side.ACTIVATION && dr.dimension() == RRR_H) {
                        actActive[r] = active;
                        logDet[r] = dr.logDetActive();
                    }
                    if (dr.side() == Side.FISHER) {
                        fisherActive[r] += active;
                    }
                }
                md.append(String.format(Locale.ROOT, "| %d | %.3f | %.2f ± %.2f | %d | %.2f | %.0f | %.0f | %.2f | 3 | %.4f |%n", r,
                        truth[r], sgldHat[r], last.standardError(), last.enginePasses(), median(sgldT), actActive[r],
                        fisherActive[r], logDet[r], median(ddsT)));
                System.out.printf(Locale.ROOT, "rrr r=%d: true %.3f sgld %.3f dds active %s fisher %s%n", r, truth[r], sgldHat[r],
                        actActive[r], fisherActive[r]);
            }
        }
        md.append(String.format(Locale.ROOT, "%nCost per checkpoint: SGLD %.0f engine passes, DDS %.0f: **%.0f× fewer passes**; wall time "
                + "SGLD %.2f s vs DDS %.4f s (median over r): **%.0f× faster**.%n%n", sgldPasses, ddsPasses, sgldPasses / ddsPasses,
                median(sgldSeconds), median(ddsSeconds), median(sgldSeconds) / median(ddsSeconds)));
        md.append("Rank agreement with the true λ over r = 0 … " + maxR + " (Spearman ρ):\n\n| read | ρ |\n|---|---|\n");
        md.append(String.format(Locale.ROOT, "| SGLD λ̂ | %.3f |%n", spearman(sgldHat, truth)));
        md.append(String.format(Locale.ROOT, "| DDS active dimensions, activation side | %.3f |%n", spearman(actActive, truth)));
        md.append(String.format(Locale.ROOT, "| DDS active dimensions, Fisher side | %.3f |%n", spearman(fisherActive, truth)));
        double[] ld = Arrays.copyOfRange(logDet, 1, logDet.length);
        double[] tr = Arrays.copyOfRange(truth, 1, truth.length);
        md.append(String.format(Locale.ROOT, "| DDS log det⁺ (r ≥ 1; undefined at r = 0) | %.3f |%n%n", spearman(ld, tr)));
        md.append("Goal: ≥ 100× fewer engine passes than SGLD.\n");
    }

    // ------------------------------------------------------------------ statistics

    static double median(List<Double> v) {
        return OverheadCommand.median(v);
    }

    private static String stat(List<Double> v, String fmt, double scale) {
        return OverheadCommand.stat(v, fmt, scale);
    }

    /** Whether a timing is a measurement (NaN: e.g. no order-read candidate at that size). */
    private static boolean isMeasured(double y) {
        return Double.isFinite(y) && y > 0;
    }

    /** @return the sizes with a measurement, e.g. "128, 256, 512, 1024" */
    static String measured(int[] x, double[] y) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (isMeasured(y[i])) {
                out.add(Integer.toString(x[i]));
            }
        }
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    /** Least-squares slope of log y against log x over the sizes with a measurement; NaN below two. */
    static double slope(int[] x, double[] y) {
        List<double[]> pts = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (isMeasured(y[i])) {
                pts.add(new double[] {Math.log(x[i]), Math.log(y[i])});
            }
        }
        int n = pts.size();
        if (n < 2) {
            return Double.NaN;
        }
        double mx = 0;
        double my = 0;
        for (double[] p : pts) {
            mx += p[0] / n;
            my += p[1] / n;
        }
        double sxy = 0;
        double sxx = 0;
        for (double[] p : pts) {
            sxy += (p[0] - mx) * (p[1] - my);
            sxx += (p[0] - mx) * (p[0] - mx);
        }
        return sxy / sxx;
    }

    /** Spearman rank correlation (average ranks for ties). */
    static double spearman(double[] a, double[] b) {
        double[] ra = ranks(a);
        double[] rb = ranks(b);
        double ma = Arrays.stream(ra).average().orElse(0);
        double mb = Arrays.stream(rb).average().orElse(0);
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (ra[i] - ma) * (rb[i] - mb);
            saa += (ra[i] - ma) * (ra[i] - ma);
            sbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return sab / Math.sqrt(saa * sbb);
    }

    static double[] ranks(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int less = 0;
            int equal = 0;
            for (double w : v) {
                if (w < v[i]) {
                    less++;
                } else if (w == v[i]) {
                    equal++;
                }
            }
            r[i] = less + (equal + 1) / 2.0;
        }
        return r;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return ManagementFactory.getOperatingSystemMXBean().getArch();
    }
}
