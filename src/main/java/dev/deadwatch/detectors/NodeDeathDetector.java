package dev.deadwatch.detectors;

import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.StraightPath;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Node death (docs/method.md §3): in Linear → activation → Linear (or Conv → activation → Conv), a
 * hidden unit {@code j} whose incoming row (with its bias) and outgoing column both have near
 * zero norm. The base point zeroes both; the direction is the joint unit vector of the current
 * (incoming, outgoing) values with both halves given equal norm (the unit's rescaling symmetry
 * makes the balanced one canonical), a seeded random half replacing one that is exactly zero or,
 * for the incoming half, carries nothing but bias. Predicted order
 * {@code p + 1}, {@code p} the activation's degree at 0.
 */
public final class NodeDeathDetector implements Detector {

    /** Default threshold on the unit's norm product relative to the layer's typical unit. */
    public static final double DEFAULT_THRESHOLD = 1e-3;

    /**
     * Below this ratio of incoming-row norm to bias the incoming half of the direction is
     * replaced by a random row (a bias-only path can stay in the activation's flat region).
     */
    public static final double MIN_ROW_SHARE = 1e-3;

    private final double threshold;

    /** A detector with {@link #DEFAULT_THRESHOLD}. */
    public NodeDeathDetector() {
        this(DEFAULT_THRESHOLD);
    }

    /** @param threshold relative norm-product threshold, in (0, 1) */
    public NodeDeathDetector(double threshold) {
        if (!(threshold > 0 && threshold < 1)) {
            throw new IllegalArgumentException("threshold must be in (0,1), got " + threshold);
        }
        this.threshold = threshold;
    }

    @Override
    public String name() {
        return "node-death";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (List<String> run : ctx.siblingRuns()) {
            for (int i = 0; i + 2 < run.size(); i++) {
                Block first = ctx.paths().blockAt(run.get(i));
                Block act = ctx.paths().blockAt(run.get(i + 1));
                Block second = ctx.paths().blockAt(run.get(i + 2));
                if (!DetectorContext.isAffine(first) || !DetectorContext.isParameterFree(act)
                        || !DetectorContext.isAffine(second)) {
                    continue;
                }
                int p = ctx.activationDegree(act);
                if (p < 1) {
                    continue;
                }
                out.addAll(units(ctx.probe(), run.get(i), first, second, p));
            }
        }
        return out;
    }

    private List<Candidate> units(ModelProbe probe, String layer, Block first, Block second, int degree) {
        Parameter w1 = ParameterState.parameter(first, "weight");
        Parameter b1 = ParameterState.parameter(first, "bias");
        Parameter w2 = ParameterState.parameter(second, "weight");
        long hidden = w1.getArray().getShape().get(0);
        long[] s2 = w2.getArray().getShape().getShape();
        if (s2.length < 2 || s2[1] != hidden) {
            return List.of(); // the second layer does not consume this layer's units directly
        }
        double[] v1 = probe.values(w1);
        double[] vb = b1 == null ? null : probe.values(b1);
        double[] v2 = probe.values(w2);
        int in = (int) (v1.length / hidden);
        int outRows = (int) s2[0];
        int inner = (int) (v2.length / (outRows * hidden)); // kernel size for Conv, 1 for Linear
        double[] inNorm = new double[(int) hidden];
        double[] outNorm = new double[(int) hidden];
        double total1 = 0;
        double total2 = 0;
        for (int j = 0; j < hidden; j++) {
            double s = 0;
            for (int k = 0; k < in; k++) {
                s += sq(v1[j * in + k]);
            }
            if (vb != null) {
                s += sq(vb[j]);
            }
            inNorm[j] = Math.sqrt(s);
            total1 += s;
            double o = 0;
            for (int r = 0; r < outRows; r++) {
                for (int k = 0; k < inner; k++) {
                    o += sq(v2[(r * (int) hidden + j) * inner + k]);
                }
            }
            outNorm[j] = Math.sqrt(o);
            total2 += o;
        }
        double typical = Math.sqrt(total1) * Math.sqrt(total2) / hidden;
        List<Candidate> out = new ArrayList<>();
        for (int j = 0; j < hidden; j++) {
            if (typical > 0 && inNorm[j] * outNorm[j] > threshold * typical) {
                continue;
            }
            if (typical == 0) {
                continue; // a layer that is entirely zero: nothing to compare against
            }
            out.add(candidate(layer, j, w1, b1, w2, v1, vb, v2, in, outRows, (int) hidden, inner, degree));
        }
        return out;
    }

    private Candidate candidate(String layer, int j, Parameter w1, Parameter b1, Parameter w2,
            double[] v1, double[] vb, double[] v2, int in, int outRows, int hidden, int inner,
            int degree) {
        double[] base1 = v1.clone();
        double[] baseB = vb == null ? null : vb.clone();
        double[] base2 = v2.clone();
        double[] d1 = new double[v1.length];
        double[] dB = vb == null ? null : new double[vb.length];
        double[] d2 = new double[v2.length];
        double rowNorm = 0;
        for (int k = 0; k < in; k++) {
            d1[j * in + k] = v1[j * in + k];
            base1[j * in + k] = 0;
            rowNorm += sq(d1[j * in + k]);
        }
        double biasNorm = 0;
        if (vb != null) {
            dB[j] = vb[j];
            baseB[j] = 0;
            biasNorm = sq(vb[j]);
        }
        double outNorm = 0;
        for (int r = 0; r < outRows; r++) {
            for (int k = 0; k < inner; k++) {
                int idx = (r * hidden + j) * inner + k;
                d2[idx] = v2[idx];
                base2[idx] = 0;
                outNorm += sq(d2[idx]);
            }
        }
        Random rnd = new Random(31L * j + 7);
        // incoming half: the row training left, unless it carries (almost) nothing but bias —
        // then a bias-only path can sit in the activation's flat region, so take a random row
        if (rowNorm == 0 || rowNorm < MIN_ROW_SHARE * MIN_ROW_SHARE * biasNorm) {
            for (int k = 0; k < in; k++) {
                d1[j * in + k] = rnd.nextGaussian();
            }
            if (dB != null) {
                dB[j] = 0;
            }
            rowNorm = 0;
            for (int k = 0; k < in; k++) {
                rowNorm += sq(d1[j * in + k]);
            }
            biasNorm = 0;
        }
        if (outNorm == 0) {
            for (int r = 0; r < outRows; r++) {
                for (int k = 0; k < inner; k++) {
                    int idx = (r * hidden + j) * inner + k;
                    d2[idx] = rnd.nextGaussian();
                    outNorm += sq(d2[idx]);
                }
            }
        }
        // balance the halves (the unit's rescaling symmetry makes this the canonical choice):
        // each half gets norm 1/sqrt(2) of the joint unit vector
        double inScale = 1 / Math.sqrt(rowNorm + biasNorm);
        double outScale = 1 / Math.sqrt(outNorm);
        for (int k = 0; k < in; k++) {
            d1[j * in + k] *= inScale;
        }
        if (dB != null) {
            dB[j] *= inScale;
        }
        for (int r = 0; r < outRows; r++) {
            for (int k = 0; k < inner; k++) {
                d2[(r * hidden + j) * inner + k] *= outScale;
            }
        }
        List<Parameter> params = new ArrayList<>();
        List<double[]> base = new ArrayList<>();
        List<double[]> dir = new ArrayList<>();
        params.add(w1);
        base.add(base1);
        dir.add(d1);
        if (b1 != null) {
            params.add(b1);
            base.add(baseB);
            dir.add(dB);
        }
        params.add(w2);
        base.add(base2);
        dir.add(d2);
        return new Candidate("node-death[" + j + "]", layer, new StraightPath(params, base, dir),
                Prediction.order(degree + 1));
    }

    private static double sq(double x) {
        return x * x;
    }
}
