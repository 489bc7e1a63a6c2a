package dev.deadwatch.detectors;

import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.ArrayList;
import java.util.List;

/**
 * Rank deficit (docs/method.md §3): in Linear {@code P} → Linear {@code L} with no activation between,
 * a hidden direction {@code u} with {@code uᵀP = 0} and {@code L u = 0} (bottom of
 * {@code PPᵀ/‖P‖² + LᵀL/‖L‖²}, whatever basis training left). The joint path
 * {@code P + t u v₁ᵀ}, {@code L + t v₂ uᵀ} ({@code v₁}, {@code v₂} the top singular vectors)
 * changes the product only at {@code t²}. Predicted order 2.
 */
public final class RankDeficitDetector implements Detector {

    /** Default relative eigenvalue threshold of the bottom directions. */
    public static final double DEFAULT_THRESHOLD = 1e-6;
    /** At most this many candidates per layer pair. */
    public static final int MAX_CANDIDATES = 8;

    private final double threshold;

    /** A detector with {@link #DEFAULT_THRESHOLD}. */
    public RankDeficitDetector() {
        this(DEFAULT_THRESHOLD);
    }

    /** @param threshold relative eigenvalue threshold, in (0,1) */
    public RankDeficitDetector(double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("threshold must be in (0,1), got " + threshold);
        }
        this.threshold = threshold;
    }

    @Override
    public String name() {
        return "rank-deficit";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (List<String> run : ctx.siblingRuns()) {
            for (int i = 0; i + 1 < run.size(); i++) {
                Block p = ctx.paths().blockAt(run.get(i));
                Block l = ctx.paths().blockAt(run.get(i + 1));
                if (p instanceof Linear && l instanceof Linear) {
                    out.addAll(pair(ctx.probe(), run.get(i), p, l));
                }
            }
        }
        return out;
    }

    private List<Candidate> pair(ModelProbe probe, String layer, Block first, Block second) {
        Parameter pw = ParameterState.parameter(first, "weight");
        Parameter lw = ParameterState.parameter(second, "weight");
        int h = (int) pw.getArray().getShape().get(0);
        int in = (int) pw.getArray().getShape().get(1);
        int outDim = (int) lw.getArray().getShape().get(0);
        if (lw.getArray().getShape().get(1) != h) {
            return List.of();
        }
        double[] p = probe.values(pw);
        double[] l = probe.values(lw);
        double pn = Matrices.dot(p, p);
        double ln = Matrices.dot(l, l);
        if (pn == 0 || ln == 0) {
            return List.of();
        }
        double[] ppt = Matrices.multiply(p, Matrices.transpose(p, h, in), h, in, h);
        double[] ltl = Matrices.multiply(Matrices.transpose(l, outDim, h), l, h, outDim, h);
        double[] k = new double[h * h];
        for (int i = 0; i < k.length; i++) {
            k[i] = ppt[i] / pn + ltl[i] / ln;
        }
        double[] values = SymmetricEigen.of(k, h, false).values();
        if (!(values[h - 1] <= threshold * values[0])) {
            return List.of(); // no deficient direction: no eigenvectors needed
        }
        SymmetricEigen eig = SymmetricEigen.of(k, h, true);
        values = eig.values();
        double[] v1 = Matrices.topRightSingular(p, h, in);
        double[] v2 = Matrices.topLeftSingular(l, outDim, h);
        List<Candidate> out = new ArrayList<>();
        for (int i = h - 1; i >= 0 && out.size() < MAX_CANDIDATES; i--) {
            if (values[i] > threshold * values[0]) {
                break;
            }
            double[] u = eig.vector(i);
            List<Parameter> params = List.of(pw, lw);
            List<double[]> base = List.of(p, l);
            List<double[]> dir = List.of(Matrices.outer(u, v1), Matrices.outer(v2, u));
            out.add(new Candidate("rank-deficit[" + out.size() + "]", layer,
                    new StraightPath(params, base, dir), Prediction.order(2)));
        }
        return out;
    }
}
