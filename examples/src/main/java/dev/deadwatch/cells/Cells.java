package dev.deadwatch.cells;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.census.Census;
import dev.deadwatch.cells.FisherBlockRank;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.LayerNormKernelDetector;
import dev.deadwatch.detectors.NodeDeathDetector;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.detectors.QueryKeyRotationDetector;
import dev.deadwatch.detectors.RankDeficitDetector;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.order.StraightPath;
import dev.deadwatch.linalg.LeastSquares;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.blocks.PowerCell;
import dev.deadwatch.blocks.RmsNorm;
import dev.deadwatch.blocks.SelfAttention;
import dev.deadwatch.order.Classification;
import dev.deadwatch.reads.DdsRead;
import dev.deadwatch.reads.DdsResult;
import dev.deadwatch.reads.LayerNormRead;
import dev.deadwatch.reads.LayerNormResult;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Builds every cell of METHOD §6 and runs the reads on it. In {@link Precision#FLOAT64} each
 * cell's block is built in float32 and read through its float64 {@link Replica} (the path a
 * block factory enables); in {@link Precision#FLOAT32} the reads run on the block itself.
 */
public final class Cells {

    /** {@code k̂} tolerance in float64 (METHOD §6). */
    public static final double ORDER_TOLERANCE_F64 = 0.05;
    /** {@code k̂} tolerance in float32 (METHOD §6). */
    public static final double ORDER_TOLERANCE_F32 = 0.15;
    /** Radial slope ratio tolerance of the volume-identity cell. */
    public static final double RADIAL_TOLERANCE = 0.05;
    /** A norm without mean subtraction must read a Rayleigh quotient above this. */
    public static final double NO_KERNEL_RAYLEIGH = 1e-2;
    /** Minimum alignment of {@code u} with the bottom eigenvector. */
    public static final double MIN_ALIGNMENT = 0.9999;
    /** Census λ̂ tolerance (orders are integers, so λ̂ is exact). */
    public static final double CENSUS_TOLERANCE = 1e-12;

    private static final long SEED = 20260701L;

    private final Precision precision;
    private final NDManager manager;
    private final OrderRead orderRead = new OrderRead(SEED);
    private final List<CellResult> rows = new ArrayList<>();

    private Cells(Precision precision, NDManager manager) {
        this.precision = precision;
        this.manager = manager;
    }

    /**
     * Runs every cell.
     *
     * @param precision the precision of the reads
     * @param parent manager under which each cell's arrays live (all closed before returning)
     * @return one row per checked quantity
     */
    public static List<CellResult> run(Precision precision, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            Cells c = new Cells(precision, m);
            for (int k = 1; k <= 5; k++) {
                c.power(k);
            }
            for (String act : List.of("relu", "gelu", "tanh", "relu2")) {
                c.nodeDeath(act, false);
                c.nodeDeath(act, true);
                c.outgoingOnly(act);
                c.incomingOnly(act);
            }
            c.layerNorm(false);
            c.layerNorm(true);
            c.rmsNorm();
            c.queryKey(false);
            c.queryKey(true);
            for (int r = 1; r <= 4; r++) {
                c.rankDeficit(r, false);
                c.rankDeficit(r, true);
            }
            for (int k = 2; k <= 3; k++) {
                c.census(k);
            }
            return List.copyOf(c.rows);
        }
    }

    // ---------------------------------------------------------------- cells

    private void power(int k) {
        try (Model m = model(() -> new PowerCell(k, false), new Shape(32, 2), OutputMetric.IDENTITY,
                b -> { })) {
            Parameter s = m.param("s");
            Candidate c = new Candidate("s", "cell", new StraightPath(List.of(s),
                    List.of(new double[] {0}), List.of(new double[] {1})),
                    Prediction.order(k));
            OrderResult r = orderRead.read(m.probe, c);
            orderRow("y=a*s^" + k + "*x", "axis", k, r);
        }
    }

    private static Block activation(String name) {
        return switch (name) {
            case "relu" -> Activation.reluBlock();
            case "gelu" -> Activation.geluBlock();
            case "tanh" -> Activation.tanhBlock();
            case "relu2" -> new LambdaBlock(l -> new NDList(Activation.relu(l.head()).square()), "ReLU2");
            default -> throw new IllegalArgumentException("unknown activation " + name);
        };
    }

    private static int activationOrder(String act) {
        return act.equals("relu2") ? 3 : 2;
    }

    private static final int HIDDEN = 8;
    private static final int DEAD_UNIT = 2;

    private Supplier<Block> mlp(String act) {
        return () -> new SequentialBlock()
                .add(Linear.builder().setUnits(HIDDEN).build())
                .add(activation(act))
                .add(Linear.builder().setUnits(3).build());
    }

    /** Zeroes unit {@code j}'s incoming row and bias and (if {@code out}) outgoing column. */
    private static void kill(Block seq, int j, boolean in, boolean out) {
        MlpWeights m = MlpWeights.of(seq);
        double[] a = m.incoming();
        double[] b = m.bias();
        double[] c = m.outgoing();
        int inDim = a.length / HIDDEN;
        if (in) {
            for (int k = 0; k < inDim; k++) {
                a[j * inDim + k] = 0;
            }
            b[j] = 0;
        } else {
            b[j] = 0.3;
        }
        if (out) {
            for (int r = 0; r < c.length / HIDDEN; r++) {
                c[r * HIDDEN + j] = 0;
            }
        }
        m.write(a, b, c);
    }

    /** Permutes the hidden units of an MLP: the function is unchanged. */
    private static void permuteHidden(Block seq, long seed) {
        MlpWeights m = MlpWeights.of(seq);
        double[] a = m.incoming();
        double[] b = m.bias();
        double[] c = m.outgoing();
        int[] perm = permutation(HIDDEN, new Random(seed));
        int inDim = a.length / HIDDEN;
        int outDim = c.length / HIDDEN;
        double[] pa = new double[a.length];
        double[] pb = new double[b.length];
        double[] pc = new double[c.length];
        for (int j = 0; j < HIDDEN; j++) {
            int to = perm[j];
            System.arraycopy(a, j * inDim, pa, to * inDim, inDim);
            pb[to] = b[j];
            for (int r = 0; r < outDim; r++) {
                pc[r * HIDDEN + to] = c[r * HIDDEN + j];
            }
        }
        m.write(pa, pb, pc);
    }

    /**
     * The hidden unit's parameters of a Linear → activation → Linear cell.
     *
     * @param w1 incoming weight (hidden × in)
     * @param b1 incoming bias
     * @param w2 outgoing weight (out × hidden)
     */
    private record MlpWeights(Parameter w1, Parameter b1, Parameter w2) {
        static MlpWeights of(Block seq) {
            List<Block> kids = dev.deadwatch.capture.BlockPaths.children(seq);
            return new MlpWeights(ParameterState.parameter(kids.get(0), "weight"),
                    ParameterState.parameter(kids.get(0), "bias"), ParameterState.parameter(kids.get(2), "weight"));
        }

        double[] incoming() {
            return ParameterState.values(w1);
        }

        double[] bias() {
            return ParameterState.values(b1);
        }

        double[] outgoing() {
            return ParameterState.values(w2);
        }

        void write(double[] incoming, double[] bias, double[] outgoing) {
            ParameterState.write(w1.getArray(), incoming);
            ParameterState.write(b1.getArray(), bias);
            ParameterState.write(w2.getArray(), outgoing);
        }
    }

    private static int[] permutation(int n, Random rnd) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        if (p[DEAD_UNIT] == DEAD_UNIT) { // make sure the dead unit really moves
            int t = p[DEAD_UNIT];
            p[DEAD_UNIT] = p[(DEAD_UNIT + 1) % n];
            p[(DEAD_UNIT + 1) % n] = t;
        }
        return p;
    }

    private void nodeDeath(String act, boolean rotated) {
        String variant = rotated ? "rotated" : "axis";
        try (Model m = model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY, b -> {
            kill(b, DEAD_UNIT, true, true);
            if (rotated) {
                permuteHidden(b, SEED + act.hashCode());
            }
        })) {
            List<Candidate> cands = new NodeDeathDetector().detect(new DetectorContext(m.probe));
            String cell = "mlp node death (" + act + ")";
            if (cands.size() != 1) {
                rows.add(new CellResult(cell, variant, precision.toString(), "candidates", "1",
                        Integer.toString(cands.size()), "exact", false));
                return;
            }
            orderRow(cell, variant, activationOrder(act), orderRead.read(m.probe, cands.get(0)));
        }
    }

    private void outgoingOnly(String act) {
        try (Model m = model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY,
                b -> kill(b, DEAD_UNIT, false, true))) {
            Parameter w2 = m.childParam(2, "weight");
            double[] base = ParameterState.values(w2);
            double[] dir = new double[base.length];
            Random rnd = new Random(SEED);
            for (int r = 0; r < base.length / HIDDEN; r++) {
                dir[r * HIDDEN + DEAD_UNIT] = rnd.nextGaussian();
            }
            Candidate c = new Candidate("outgoing", "cell",
                    new StraightPath(List.of(w2), List.of(base), List.of(dir)), Prediction.order(1));
            orderRow("mlp outgoing only (" + act + ")", "axis", 1, orderRead.read(m.probe, c));
        }
    }

    private void incomingOnly(String act) {
        try (Model m = model(mlp(act), new Shape(64, 4), OutputMetric.IDENTITY,
                b -> kill(b, DEAD_UNIT, true, true))) {
            Parameter w1 = m.childParam(0, "weight");
            double[] base = ParameterState.values(w1);
            double[] dir = new double[base.length];
            int inDim = base.length / HIDDEN;
            Random rnd = new Random(SEED);
            for (int k = 0; k < inDim; k++) {
                dir[DEAD_UNIT * inDim + k] = rnd.nextGaussian();
            }
            Candidate c = new Candidate("incoming", "cell",
                    new StraightPath(List.of(w1), List.of(base), List.of(dir)), Prediction.gauge());
            gaugeRow("mlp incoming only (" + act + ")", "axis", orderRead.read(m.probe, c));
        }
    }

    private static final int NORM_WIDTH = 8;

    private void layerNorm(boolean rotated) {
        Supplier<Block> f = () -> new SequentialBlock().add(LayerNorm.builder().build())
                .add(Linear.builder().setUnits(6).build());
        String variant = rotated ? "rotated" : "axis";
        try (Model m = model(f, new Shape(256, NORM_WIDTH), OutputMetric.IDENTITY, b -> {
            randomNormParams(b, true);
            if (rotated) {
                rotateOutputs(dev.deadwatch.capture.BlockPaths.children(b).get(1), SEED + 1);
            }
        })) {
            String norm = m.probe.paths().pathsOf(LayerNorm.class).get(0);
            LayerNormResult r = normRead(m, norm);
            rows.add(new CellResult("layernorm kernel", variant, precision.toString(), "q",
                    "< 1e-6", sci(r.rayleigh()), "< 1e-6", r.rayleigh() < LayerNormRead.KERNEL_RAYLEIGH));
            rows.add(new CellResult("layernorm kernel", variant, precision.toString(), "alignment",
                    ">= 0.9999", String.format(Locale.ROOT, "%.6f", r.alignment()), ">= 0.9999",
                    r.alignment() >= MIN_ALIGNMENT));
            List<Candidate> cands = new LayerNormKernelDetector().detect(new DetectorContext(m.probe));
            gaugeRow("layernorm kernel path", variant, orderRead.read(m.probe, cands.get(0)));
        }
    }

    private void rmsNorm() {
        Supplier<Block> f = () -> new SequentialBlock().add(new RmsNorm())
                .add(Linear.builder().setUnits(6).build());
        try (Model m = model(f, new Shape(256, NORM_WIDTH), OutputMetric.IDENTITY,
                b -> randomNormParams(b, false))) {
            String norm = m.probe.paths().pathsOf(RmsNorm.class).get(0);
            LayerNormResult r = normRead(m, norm);
            rows.add(new CellResult("rmsnorm (no kernel)", "axis", precision.toString(), "q",
                    "order 1", sci(r.rayleigh()), "> 1e-2",
                    r.rayleigh() > NO_KERNEL_RAYLEIGH && !r.kernel()));
        }
    }

    private LayerNormResult normRead(Model m, String path) {
        Block norm = m.probe.paths().blockAt(path);
        double[] gamma = ParameterState.values(ParameterState.parameter(norm, "gamma"));
        try (ModelProbe.Capture cap = m.probe.capture(Set.of(path), Set.of(), Set.of(), false)) {
            return new LayerNormRead().read(path, gamma, cap.session().outputs().get(path),
                    cap.manager());
        }
    }

    private static void randomNormParams(Block seq, boolean withBeta) {
        Block norm = dev.deadwatch.capture.BlockPaths.children(seq).get(0);
        Random rnd = new Random(SEED + 2);
        Parameter g = ParameterState.parameter(norm, "gamma");
        double[] gv = new double[NORM_WIDTH];
        for (int i = 0; i < gv.length; i++) {
            gv[i] = (0.5 + 1.5 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
        }
        ParameterState.write(g.getArray(), gv);
        Parameter beta = ParameterState.parameter(norm, "beta");
        if (withBeta && beta != null) {
            double[] bv = new double[NORM_WIDTH];
            for (int i = 0; i < bv.length; i++) {
                bv[i] = rnd.nextGaussian();
            }
            ParameterState.write(beta.getArray(), bv);
        }
    }

    /** Rotates a Linear's output basis by a random orthogonal Q: W → QW, b → Qb. */
    private static void rotateOutputs(Block linear, long seed) {
        Parameter w = ParameterState.parameter(linear, "weight");
        Parameter b = ParameterState.parameter(linear, "bias");
        int rows = (int) w.getArray().getShape().get(0);
        int cols = (int) w.getArray().getShape().get(1);
        double[] q = Matrices.randomOrthogonal(rows, new Random(seed));
        ParameterState.write(w.getArray(), Matrices.multiply(q, ParameterState.values(w), rows, rows, cols));
        ParameterState.write(b.getArray(), Matrices.multiply(q, ParameterState.values(b), rows, rows, 1));
    }

    private void queryKey(boolean rotated) {
        String variant = rotated ? "rotated" : "axis";
        try (Model m = model(() -> new SelfAttention(8, 2, false), new Shape(16, 5, 8),
                OutputMetric.IDENTITY, b -> {
                    if (rotated) {
                        SelfAttention att = (SelfAttention) b;
                        rotateOutputs(att.queryProjection(), SEED + 3);
                        rotateOutputs(att.keyProjection(), SEED + 4);
                    }
                })) {
            List<Candidate> cands = new QueryKeyRotationDetector().detect(new DetectorContext(m.probe));
            gaugeRow("query-key rotation orbit", variant, orderRead.read(m.probe, cands.get(0)));
        }
    }

    private static final int RRR_IN = 12;
    private static final int RRR_HIDDEN = 8;
    private static final int RRR_OUT = 6;

    private void rankDeficit(int r, boolean rotated) {
        String cell = "linear net rank deficit r=" + r;
        String variant = rotated ? "rotated" : "axis";
        Supplier<Block> f = () -> new SequentialBlock()
                .add(Linear.builder().setUnits(RRR_HIDDEN).optBias(false).build())
                .add(Linear.builder().setUnits(RRR_OUT).optBias(false).build());
        double[][] deadIn = new double[1][];
        double[][] deadHidden = new double[1][];
        try (Model m = model(f, new Shape(512, RRR_IN), OutputMetric.IDENTITY, b -> {
            double[][] built = rankDeficient(b, r, rotated);
            deadHidden[0] = built[0];
            deadIn[0] = built[1];
        })) {
            String hidden = m.probe.paths().pathsOf(Linear.class).get(0);
            Parameter w1 = m.childParam(0, "weight");
            // activation D(ε_dead) at the singular point
            DdsResult at0 = dds(m, hidden);
            rows.add(new CellResult(cell, variant, precision.toString(), "D(1e-4)",
                    Integer.toString(r), String.format(Locale.ROOT, "%.3f", at0.profileAt(1e-4)),
                    "round = r", at0.deadCount() == r));
            // radial: move W1 out along the r dead directions
            double[] base = ParameterState.values(w1);
            double[] dir = new double[base.length];
            for (int j = 0; j < r; j++) {
                double[] outer = Matrices.outer(
                        java.util.Arrays.copyOfRange(deadHidden[0], j * RRR_HIDDEN, (j + 1) * RRR_HIDDEN),
                        java.util.Arrays.copyOfRange(deadIn[0], j * RRR_IN, (j + 1) * RRR_IN));
                for (int i = 0; i < dir.length; i++) {
                    dir[i] += outer[i];
                }
            }
            double s = rms(base);
            double lo = precision.gridLow();
            double hi = 1e-1;
            int points = 8;
            double[] logT = new double[points];
            double[] logDet = new double[points];
            double[] logMin = new double[points];
            try {
                for (int i = 0; i < points; i++) {
                    double t = s * lo * Math.pow(hi / lo, i / (points - 1.0));
                    double[] w = base.clone();
                    for (int k = 0; k < w.length; k++) {
                        w[k] += t * dir[k];
                    }
                    ParameterState.write(w1.getArray(), w);
                    DdsResult d = dds(m, hidden);
                    logT[i] = Math.log(t);
                    logDet[i] = d.logDetActive();
                    logMin[i] = Math.log(d.lambdaMin());
                }
            } finally {
                ParameterState.write(w1.getArray(), base);
            }
            double slopeDet = LeastSquares.slope(logT, logDet);
            double slopeMin = LeastSquares.slope(logT, logMin);
            double ratio = slopeDet / slopeMin;
            rows.add(new CellResult(cell, variant, precision.toString(), "radial logdet/lambda_min",
                    Integer.toString(r), String.format(Locale.ROOT, "%.4f (%.3f/%.3f)", ratio, slopeDet,
                            slopeMin), "±0.05", Math.abs(ratio - r) <= RADIAL_TOLERANCE));
            rows.add(new CellResult(cell, variant, precision.toString(), "lambda_min slope", "2",
                    String.format(Locale.ROOT, "%.4f", slopeMin), "±0.05",
                    Math.abs(slopeMin - 2) <= RADIAL_TOLERANCE));
            // orders of the dead directions, from the parameters and from the activations
            DetectorContext ctx = new DetectorContext(m.probe);
            for (Detector d : List.of(new RankDeficitDetector(), new BottomSubspaceDetector())) {
                List<Candidate> cands = d.detect(ctx);
                if (cands.size() != r) {
                    rows.add(new CellResult(cell, variant, precision.toString(),
                            d.name() + " candidates", Integer.toString(r),
                            Integer.toString(cands.size()), "exact", false));
                    continue;
                }
                double worst = 0;
                boolean ok = true;
                for (Candidate c : cands) {
                    OrderResult o = orderRead.read(m.probe, c);
                    ok &= o.classification() == Classification.SINGULAR && o.order() == 2;
                    worst = Math.max(worst, Math.abs(o.kHat() - 2));
                    ok &= Math.abs(o.kHat() - 2) <= orderTolerance();
                }
                rows.add(new CellResult(cell, variant, precision.toString(),
                        d.name() + " orders", r + " × k=2",
                        String.format(Locale.ROOT, "%d × max|k̂-2|=%.3f", cands.size(), worst),
                        "±" + orderTolerance(), ok));
            }
        }
    }

    /**
     * Makes W1 of rank H-r and W2 with the same r hidden directions in its kernel.
     *
     * @return {deadHidden (r × H), deadInput (r × M)} directions for the radial path
     */
    private static double[][] rankDeficient(Block seq, int r, boolean rotated) {
        List<Block> kids = dev.deadwatch.capture.BlockPaths.children(seq);
        Parameter w1 = ParameterState.parameter(kids.get(0), "weight");
        Parameter w2 = ParameterState.parameter(kids.get(1), "weight");
        Random rnd = new Random(SEED + r);
        double[] q = rotated ? Matrices.randomOrthogonal(RRR_HIDDEN, rnd) : Matrices.identity(RRR_HIDDEN);
        // dead hidden directions: the last r columns of q (axis variant: the last r units)
        double[] proj = Matrices.identity(RRR_HIDDEN);
        double[] deadHidden = new double[r * RRR_HIDDEN];
        for (int j = 0; j < r; j++) {
            int col = RRR_HIDDEN - 1 - j;
            for (int i = 0; i < RRR_HIDDEN; i++) {
                deadHidden[j * RRR_HIDDEN + i] = q[i * RRR_HIDDEN + col];
            }
            for (int a = 0; a < RRR_HIDDEN; a++) {
                for (int b = 0; b < RRR_HIDDEN; b++) {
                    proj[a * RRR_HIDDEN + b] -= q[a * RRR_HIDDEN + col] * q[b * RRR_HIDDEN + col];
                }
            }
        }
        double[] g1 = gaussian(RRR_HIDDEN * RRR_IN, rnd);
        double[] g2 = gaussian(RRR_OUT * RRR_HIDDEN, rnd);
        double[] a = Matrices.multiply(proj, g1, RRR_HIDDEN, RRR_HIDDEN, RRR_IN);
        double[] b = Matrices.multiply(g2, proj, RRR_OUT, RRR_HIDDEN, RRR_HIDDEN);
        ParameterState.write(w1.getArray(), a);
        ParameterState.write(w2.getArray(), b);
        // input directions orthogonal to the row space of W1: Gram-Schmidt random vectors
        List<double[]> basis = new ArrayList<>();
        for (int i = 0; i < RRR_HIDDEN; i++) {
            double[] row = java.util.Arrays.copyOfRange(a, i * RRR_IN, (i + 1) * RRR_IN);
            orthonormalizeInto(basis, row);
        }
        double[] deadIn = new double[r * RRR_IN];
        int found = 0;
        while (found < r) {
            double[] v = gaussian(RRR_IN, rnd);
            if (orthonormalizeInto(basis, v)) {
                System.arraycopy(basis.get(basis.size() - 1), 0, deadIn, found * RRR_IN, RRR_IN);
                found++;
            }
        }
        return new double[][] {deadHidden, deadIn};
    }

    private static boolean orthonormalizeInto(List<double[]> basis, double[] v) {
        double before = Matrices.norm(v);
        for (double[] b : basis) {
            double d = Matrices.dot(b, v);
            for (int i = 0; i < v.length; i++) {
                v[i] -= d * b[i];
            }
        }
        double n = Matrices.norm(v);
        if (n <= 1e-8 * Math.max(before, 1e-300)) {
            return false;
        }
        for (int i = 0; i < v.length; i++) {
            v[i] /= n;
        }
        basis.add(v);
        return true;
    }

    private DdsResult dds(Model m, String path) {
        try (ModelProbe.Capture cap = m.probe.capture(Set.of(path), Set.of(), Set.of(), false)) {
            return new DdsRead().activation(path, cap.session().outputs().get(path), 0, cap.manager());
        }
    }

    private void census(int k) {
        try (Model m = model(() -> new PowerCell(k, true), new Shape(64, 2), OutputMetric.IDENTITY,
                b -> { })) {
            List<OrderResult> reads = new ArrayList<>();
            for (String name : List.of("a", "b", "s")) {
                Parameter p = m.param(name);
                double[] base = ParameterState.values(p);
                reads.add(orderRead.read(m.probe, new Candidate(name, "cell",
                        new StraightPath(List.of(p), List.of(base), List.of(new double[] {1})),
                        Prediction.none())));
            }
            int regular = FisherBlockRank.of(m.probe, List.of(m.param("a"), m.param("b"), m.param("s")));
            Census c = Census.of("cell", reads, OptionalInt.of(regular));
            double expected = 0.5 + 1.0 / (2 * k);
            rows.add(new CellResult("census y=b*x1+a*s^" + k + "*x2", "axis", precision.toString(),
                    "lambda", String.format(Locale.ROOT, "%.6f", expected),
                    String.format(Locale.ROOT, "%.6f (a:%s b:%s s:%s)", c.lambdaHat(),
                            reads.get(0).orderLabel(), reads.get(1).orderLabel(), reads.get(2).orderLabel()),
                    "exact", Math.abs(c.lambdaHat() - expected) <= CENSUS_TOLERANCE));
        }
    }

    // ---------------------------------------------------------------- rows

    private double orderTolerance() {
        return precision == Precision.FLOAT64 ? ORDER_TOLERANCE_F64 : ORDER_TOLERANCE_F32;
    }

    private void orderRow(String cell, String variant, int k, OrderResult r) {
        Classification want = k >= 2 ? Classification.SINGULAR : Classification.REGULAR;
        boolean ok = r.classification() == want && Math.abs(r.kHat() - k) <= orderTolerance()
                && r.order() == k;
        rows.add(new CellResult(cell, variant, precision.toString(), "order",
                (k >= 2 ? "singular k=" : "regular k=") + k, r.summary(), "±" + orderTolerance(), ok));
    }

    private void gaugeRow(String cell, String variant, OrderResult r) {
        rows.add(new CellResult(cell, variant, precision.toString(), "class", "gauge", r.summary(),
                "floor", r.classification() == Classification.GAUGE));
    }

    private static String sci(double v) {
        return String.format(Locale.ROOT, "%.2e", v);
    }

    private static double rms(double[] v) {
        return Math.sqrt(Matrices.dot(v, v) / v.length);
    }

    private static double[] gaussian(int n, Random rnd) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = rnd.nextGaussian();
        }
        return g;
    }

    // ---------------------------------------------------------------- plumbing

    private Model model(Supplier<Block> factory, Shape inputShape, OutputMetric metric,
            Consumer<Block> setUp) {
        NDManager m = manager.newSubManager();
        try {
            m.getEngine().setRandomSeed((int) SEED);
            Block block = factory.get();
            block.initialize(m, DataType.FLOAT32, inputShape);
            NDArray x = m.randomNormal(0, 1, inputShape, DataType.FLOAT32);
            ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
            Replica replica = precision == Precision.FLOAT64
                    ? Replica.float64(factory, block, m, inputShape) : null;
            Block read = replica == null ? block : replica.block();
            setUp.accept(read); // constructed in the read's own precision, so exact in float64
            return new Model(m, probe, replica, new ModelProbe(read, probe, precision, metric));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    private static final class Model implements AutoCloseable {
        final NDManager manager;
        final ProbeBatch batch;
        final Replica replica;
        final ModelProbe probe;

        Model(NDManager manager, ProbeBatch batch, Replica replica, ModelProbe probe) {
            this.manager = manager;
            this.batch = batch;
            this.replica = replica;
            this.probe = probe;
        }

        Parameter param(String name) {
            return ParameterState.parameter(probe.block(), name);
        }

        Parameter childParam(int child, String name) {
            return ParameterState.parameter(
                    dev.deadwatch.capture.BlockPaths.children(probe.block()).get(child), name);
        }

        @Override
        public void close() {
            probe.close();
            if (replica != null) {
                replica.close();
            }
            batch.close();
            manager.close();
        }
    }
}
