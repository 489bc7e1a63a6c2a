package dev.deadwatch.cells;

import ai.djl.nn.Parameter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ProbeOutputs;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.List;

/**
 * The numerical rank of the Fisher block of a small set of parameters: the regular-direction
 * count of docs/method.md §4. Builds the Jacobian column by column with central differences (two
 * forward passes per scalar), so it is meant for blocks of at most {@link #MAX_SCALARS}
 * scalars — the cells, not production layers (there the Fisher-Gram rank serves).
 */
public final class FisherBlockRank {

    /** Largest parameter count this will differentiate. */
    public static final int MAX_SCALARS = 256;
    /** Relative eigenvalue above which a Fisher direction counts as regular. */
    public static final double RANK_TOLERANCE = 1e-10;
    /** Central-difference step, relative to max(1, |w|). */
    public static final double STEP = 1e-5;

    private FisherBlockRank() {}

    /**
     * @param probe the model on its probe batch
     * @param params the parameter block
     * @return the numerical rank of {@code Σ_i J_iᵀ M_i J_i}
     */
    public static int of(ModelProbe probe, List<Parameter> params) {
        ParameterState saved = ParameterState.save(params);
        try {
            int total = 0;
            for (Parameter p : params) {
                total += (int) p.getArray().getShape().size();
            }
            if (total > MAX_SCALARS) {
                throw new IllegalArgumentException(
                        "Fisher block of " + total + " scalars exceeds " + MAX_SCALARS);
            }
            double[][] cols = new double[total][];
            ProbeOutputs at = probe.evaluate();
            double[] logits = at.values();
            int width = at.width();
            int c = 0;
            for (Parameter p : params) {
                double[] base = ParameterState.toDoubles(p.getArray());
                for (int i = 0; i < base.length; i++) {
                    double h = STEP * Math.max(1, Math.abs(base[i]));
                    double[] v = base.clone();
                    v[i] = base[i] + h;
                    ParameterState.write(p.getArray(), v);
                    double[] plus = probe.evaluate().values();
                    v[i] = base[i] - h;
                    ParameterState.write(p.getArray(), v);
                    double[] minus = probe.evaluate().values();
                    ParameterState.write(p.getArray(), base);
                    double[] col = new double[plus.length];
                    for (int k = 0; k < col.length; k++) {
                        col[k] = (plus[k] - minus[k]) / (2 * h);
                    }
                    cols[c++] = col;
                }
            }
            double[] fisher = new double[total * total];
            for (int a = 0; a < total; a++) {
                for (int b = a; b < total; b++) {
                    double q = probe.metric().quadratic(add(cols[a], cols[b]), logits, width)
                            - probe.metric().quadratic(sub(cols[a], cols[b]), logits, width);
                    fisher[a * total + b] = q / 4;
                    fisher[b * total + a] = q / 4;
                }
            }
            double[] values = SymmetricEigen.of(fisher, total, false).values();
            int rank = 0;
            for (double v : values) {
                if (v > RANK_TOLERANCE * Math.max(values[0], Double.MIN_NORMAL)) {
                    rank++;
                }
            }
            return values[0] > 0 ? rank : 0;
        } finally {
            saved.restore();
        }
    }

    private static double[] add(double[] a, double[] b) {
        double[] o = new double[a.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = a[i] + b[i];
        }
        return o;
    }

    private static double[] sub(double[] a, double[] b) {
        double[] o = new double[a.length];
        for (int i = 0; i < o.length; i++) {
            o[i] = a[i] - b[i];
        }
        return o;
    }
}
