package dev.deadwatch.cells;

import static dev.deadwatch.cells.CellContext.SEED;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.detectors.BottomSubspaceDetector;
import dev.deadwatch.detectors.Detector;
import dev.deadwatch.detectors.DetectorContext;
import dev.deadwatch.detectors.RankDeficitDetector;
import dev.deadwatch.linalg.LeastSquares;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderResult;
import dev.deadwatch.reads.DdsRead;
import dev.deadwatch.reads.DdsResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The spectral (DDS) cells of docs/method.md §6: a bias-free linear network
 * M → H → N whose hidden layer has {@code r} dead directions, in the axis basis and rotated. The
 * activation DDS read must count {@code r} dead dimensions; moving out along them, log det⁺ and
 * λ_min must grow with slopes in ratio {@code r} (the volume identity), λ_min with slope 2; and
 * both the parameter-side and the activation-side detectors must find {@code r} directions of
 * order 2.
 */
final class RankDeficitCells {

    private static final int RRR_IN = 12;
    private static final int RRR_HIDDEN = 8;
    private static final int RRR_OUT = 6;

    private final CellContext cx;

    RankDeficitCells(CellContext cx) {
        this.cx = cx;
    }

    void rankDeficit(int r, boolean rotated) {
        String cell = "linear net rank deficit r=" + r;
        String variant = rotated ? "rotated" : "axis";
        String precision = cx.precision().toString();
        Supplier<Block> f = () -> new SequentialBlock()
                .add(Linear.builder().setUnits(RRR_HIDDEN).optBias(false).build())
                .add(Linear.builder().setUnits(RRR_OUT).optBias(false).build());
        double[][] deadIn = new double[1][];
        double[][] deadHidden = new double[1][];
        try (CellModel m = cx.model(f, new Shape(512, RRR_IN), OutputMetric.IDENTITY, b -> {
            double[][] built = rankDeficient(b, r, rotated);
            deadHidden[0] = built[0];
            deadIn[0] = built[1];
        })) {
            String hidden = m.probe.paths().pathsOf(Linear.class).get(0);
            Parameter w1 = m.childParam(0, "weight");
            // activation D(ε_dead) at the singular point
            DdsResult at0 = dds(m, hidden);
            cx.add(new CellResult(cell, variant, precision, "D(1e-4)",
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
            double lo = cx.precision().gridLow();
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
            cx.add(new CellResult(cell, variant, precision, "radial logdet/lambda_min",
                    Integer.toString(r), String.format(Locale.ROOT, "%.4f (%.3f/%.3f)", ratio, slopeDet,
                            slopeMin), "±0.05", Math.abs(ratio - r) <= Cells.RADIAL_TOLERANCE));
            cx.add(new CellResult(cell, variant, precision, "lambda_min slope", "2",
                    String.format(Locale.ROOT, "%.4f", slopeMin), "±0.05",
                    Math.abs(slopeMin - 2) <= Cells.RADIAL_TOLERANCE));
            // orders of the dead directions, from the parameters and from the activations
            DetectorContext ctx = new DetectorContext(m.probe);
            for (Detector d : List.of(new RankDeficitDetector(), new BottomSubspaceDetector())) {
                List<Candidate> cands = d.detect(ctx);
                if (cands.size() != r) {
                    cx.add(new CellResult(cell, variant, precision,
                            d.name() + " candidates", Integer.toString(r),
                            Integer.toString(cands.size()), "exact", false));
                    continue;
                }
                double worst = 0;
                boolean ok = true;
                for (Candidate c : cands) {
                    OrderResult o = cx.orderRead().read(m.probe, c);
                    ok &= o.classification() == Classification.SINGULAR && o.order() == 2;
                    worst = Math.max(worst, Math.abs(o.kHat() - 2));
                    ok &= Math.abs(o.kHat() - 2) <= cx.orderTolerance();
                }
                cx.add(new CellResult(cell, variant, precision,
                        d.name() + " orders", r + " × k=2",
                        String.format(Locale.ROOT, "%d × max|k̂-2|=%.3f", cands.size(), worst),
                        "±" + cx.orderTolerance(), ok));
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

    private DdsResult dds(CellModel m, String path) {
        try (ModelProbe.Capture cap = m.probe.capture(Set.of(path), Set.of(), Set.of(), false)) {
            return new DdsRead().activation(path, cap.session().outputs().get(path), 0, cap.manager());
        }
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
}
