package dev.deadwatch.detectors;

import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.Prediction;
import dev.deadwatch.order.LazyPath;
import dev.deadwatch.order.StraightPath;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.reads.Activations;
import java.util.ArrayList;
import java.util.List;

/**
 * The alignment-free bottom subspace (docs/method.md §3): for a Linear {@code L}, the bottom
 * eigenvectors {@code e} of its input-activation covariance (relative eigenvalue below
 * {@code ε_dead}), in whatever basis training left. The path moves {@code L} along
 * {@code r eᵀ} ({@code r} its top left singular vector) and, when a Linear {@code P} produces
 * {@code L}'s input (directly or through a parameter-free block), {@code P} along
 * {@code e v₁ᵀ} jointly. The order is read, not predicted.
 */
public final class BottomSubspaceDetector implements Detector {

    /** Default cap on candidates per layer. */
    public static final int MAX_CANDIDATES = 8;

    private final double epsDead;
    private final int maxCandidates;

    /** A detector at {@link Spectrum#EPS_DEAD} with {@link #MAX_CANDIDATES}. */
    public BottomSubspaceDetector() {
        this(Spectrum.EPS_DEAD, MAX_CANDIDATES);
    }

    /**
     * @param epsDead relative eigenvalue threshold, in (0,1)
     * @param maxCandidates at most this many bottom directions per layer (each costs an order
     *     read of about 40 forward passes), at least 1
     */
    public BottomSubspaceDetector(double epsDead, int maxCandidates) {
        if (!(epsDead > 0 && epsDead < 1)) {
            throw new IllegalArgumentException("epsDead must be in (0,1), got " + epsDead);
        }
        if (maxCandidates < 1) {
            throw new IllegalArgumentException("maxCandidates must be >= 1, got " + maxCandidates);
        }
        this.epsDead = epsDead;
        this.maxCandidates = maxCandidates;
    }

    @Override
    public String name() {
        return "bottom-subspace";
    }

    @Override
    public List<Candidate> detect(DetectorContext ctx) {
        List<Candidate> out = new ArrayList<>();
        for (List<String> run : ctx.siblingRuns()) {
            for (int i = 0; i < run.size(); i++) { // the first Linear too: its input is the model's
                Block l = ctx.paths().blockAt(run.get(i));
                if (!(l instanceof Linear)) {
                    continue;
                }
                Block producer = null;
                Block prev = i == 0 ? null : ctx.paths().blockAt(run.get(i - 1));
                if (prev instanceof Linear) {
                    producer = prev;
                } else if (i >= 2 && prev != null && DetectorContext.isParameterFree(prev)
                        && ctx.paths().blockAt(run.get(i - 2)) instanceof Linear) {
                    producer = ctx.paths().blockAt(run.get(i - 2));
                }
                out.addAll(layer(ctx, run.get(i), l, producer));
            }
        }
        return out;
    }

    private List<Candidate> layer(DetectorContext ctx, String path, Block l, Block producer) {
        Activations.Covariance cov = ctx.inputCovariance(path);
        double[] rho = cov.spectrum().relative();
        Parameter lw = ParameterState.parameter(l, "weight");
        int outDim = (int) lw.getArray().getShape().get(0);
        int width = (int) lw.getArray().getShape().get(1);
        if (width != cov.width() || rho[width - 1] >= epsDead) {
            return List.of(); // no bottom direction: neither the eigenvectors nor the singular vectors are needed
        }
        double[] lv = ctx.probe().values(lw);
        if (Matrices.dot(lv, lv) == 0) {
            return List.of();
        }
        double[] r = Matrices.topLeftSingular(lv, outDim, width);
        Parameter pw = producer == null ? null : ParameterState.parameter(producer, "weight");
        double[] pv = pw == null ? null : ctx.probe().values(pw);
        int pin = pw == null ? 0 : (int) pw.getArray().getShape().get(1);
        if (pw != null && (pw.getArray().getShape().get(0) != width || Matrices.dot(pv, pv) == 0)) {
            pw = null;
        }
        double[] v1 = pw == null ? null : Matrices.topRightSingular(pv, width, pin);
        List<Candidate> out = new ArrayList<>();
        for (int i = width - 1; i >= 0 && out.size() < maxCandidates; i--) {
            if (rho[i] >= epsDead) {
                break;
            }
            double[] e = cov.eigen().vector(i);
            List<Parameter> params = new ArrayList<>();
            if (pw != null) {
                params.add(pw);
            }
            params.add(lw);
            Parameter producerWeight = pw;
            // whole-tensor arrays, made only for a candidate the order read reads (LazyPath)
            out.add(new Candidate("bottom-subspace[" + out.size() + "]", path, new LazyPath(params, () -> {
                List<double[]> base = new ArrayList<>();
                List<double[]> dir = new ArrayList<>();
                if (producerWeight != null) {
                    base.add(pv);
                    dir.add(Matrices.outer(e, v1));
                }
                base.add(lv);
                dir.add(Matrices.outer(r, e));
                return new StraightPath(params, base, dir);
            }), Prediction.none()));
        }
        return out;
    }
}
