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
import dev.deadwatch.reads.LayerNormRead;
import java.util.ArrayList;
import java.util.List;

/**
 * The LayerNorm-kernel gauge (docs/method.md §1, §3): for a norm with scale {@code γ} (a {@code gamma}
 * parameter) feeding a Linear {@code (W, b)}, the path {@code W(t) = W + t r uᵀ},
 * {@code b(t) = b - t r (u·β)} with {@code u = γ⁻¹/‖γ⁻¹‖} leaves the function unchanged when the
 * norm subtracts the mean. Predicted gauge; on a norm without mean subtraction (RMSNorm) the
 * read finds it regular instead, which is the point of the classifier.
 */
public final class LayerNormKernelDetector implements Detector {

    @Override
    public String name() {
        return "layernorm-kernel";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (List<String> run : ctx.siblingRuns()) {
            for (int i = 0; i + 1 < run.size(); i++) {
                Block norm = ctx.paths().blockAt(run.get(i));
                Block next = ctx.paths().blockAt(run.get(i + 1));
                Parameter gamma = ParameterState.parameter(norm, "gamma");
                if (gamma == null || !(next instanceof Linear)) {
                    continue;
                }
                Candidate c = candidate(ctx.probe(), run.get(i), gamma, ParameterState.parameter(norm, "beta"),
                        next);
                if (c != null) {
                    out.add(c);
                }
            }
        }
        return out;
    }

    private Candidate candidate(ModelProbe probe, String layer, Parameter gamma, Parameter beta, Block linear) {
        double[] u = LayerNormRead.inverseScale(probe.values(gamma));
        if (u == null) {
            return null;
        }
        Parameter w = ParameterState.parameter(linear, "weight");
        Parameter b = ParameterState.parameter(linear, "bias");
        double[] wv = probe.values(w);
        int rows = (int) w.getArray().getShape().get(0);
        int cols = (int) w.getArray().getShape().get(1);
        if (cols != u.length) {
            return null;
        }
        double ub = beta == null ? 0 : Matrices.dot(u, probe.values(beta));
        if (b == null && ub != 0) {
            return null; // without a bias the shift u·β cannot be absorbed: not a gauge path
        }
        double[] r = Matrices.multiply(wv, u, rows, cols, 1);
        double rn = Matrices.norm(r);
        if (rn == 0) {
            r = new double[rows];
            r[0] = 1;
        } else {
            for (int i = 0; i < rows; i++) {
                r[i] /= rn;
            }
        }
        List<Parameter> params = new ArrayList<>(List.of(w));
        List<double[]> base = new ArrayList<>(List.of(wv));
        List<double[]> dir = new ArrayList<>(List.of(Matrices.outer(r, u)));
        if (b != null) {
            params.add(b);
            base.add(probe.values(b));
            double[] db = new double[rows];
            for (int i = 0; i < rows; i++) {
                db[i] = -r[i] * ub;
            }
            dir.add(db);
        }
        return new Candidate("layernorm-kernel", layer, new StraightPath(params, base, dir),
                Prediction.gauge());
    }
}
