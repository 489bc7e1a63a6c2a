package dev.deadwatch.order;

import ai.djl.nn.Parameter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.ProbeOutputs;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.order.Candidate;
import dev.deadwatch.order.ParameterPath;
import dev.deadwatch.order.StraightPath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * The order read (docs/method.md §3, arXiv 2607.00603): the directional-Fisher rate along a candidate's
 * path gives the order {@code k} of the dead direction, forward passes only.
 *
 * <p>{@code J v ≈ [f(p(t+h)) - f(p(t-h))]/(2h)}, {@code h = 0.05 t};
 * {@code F_v(t) = (1/n) Σ_i (J_i v)ᵀ M_i (J_i v) ∝ t^{2(k-1)}}. The slope {@code β} of
 * {@code log F_v} against {@code log t} over the asymptotic window gives {@code k̂ = 1 + β/2}.
 * Every perturbation is undone bit-exactly before the read returns, also on error.
 */
public final class OrderRead {

    /** Grid points (docs/method.md default). */
    public static final int GRID_POINTS = 10;
    /** Central-difference step relative to {@code t}. */
    public static final double RELATIVE_STEP = 0.05;
    /** A point is in the asymptotic regime only if {@code F_v} clears this multiple of the floor. */
    public static final double CLEAR_MULTIPLE = 100;
    /** Gauge when {@code F_v} stays within this multiple of the floor at every point. */
    public static final double GAUGE_MULTIPLE = 10;
    /** Gauge when {@code F_v / F_ref} stays below this at every point (the deep floor). */
    public static final double DEEP_FLOOR = 1e-8;
    /** Neighbour slopes must agree with the window's {@code β} within this. */
    public static final double SLOPE_AGREEMENT = 0.2;
    /** Minimum points in an asymptotic window. */
    public static final int MIN_WINDOW = 4;
    /** {@code k̂} is reported as an integer order when this close to one. */
    public static final double INTEGER_TOLERANCE = 0.15;
    /** {@code k̂} at or above this is a singularity. */
    public static final double SINGULAR_THRESHOLD = 1.5;
    /** Upper bound of the grid extension, in units of {@code s}. */
    public static final double MAX_EXTENSION = 3.0;
    /** Random unit directions in the live reference. */
    public static final int REFERENCE_DIRECTIONS = 8;
    /**
     * Safety factor on the measured floor: rounding of both ends of the difference and of the
     * accumulation inside the forward pass.
     */
    public static final double FLOOR_SAFETY = 4;

    private final long seed;

    /** @param seed seed of the live-reference directions and the floor's rounding signs */
    public OrderRead(long seed) {
        this.seed = seed;
    }

    /** A read with seed 0. */
    public OrderRead() {
        this(0L);
    }

    /**
     * Reads one candidate.
     *
     * @param probe the model on the probe batch (the candidate's parameters must belong to it)
     * @param candidate the candidate
     * @return the result; parameters are restored bit-exactly
     */
    public OrderResult read(ModelProbe probe, Candidate candidate) {
        return batch().read(probe, candidate);
    }

    /**
     * @return a batch for the candidates of one snapshot: candidates on the same tensors at the
     *     same base point share the measured floor and the live reference (both depend only on
     *     those and on the seed), so each after the first costs 2 × grid points forward passes
     *     instead of 2 × (1 + {@link #REFERENCE_DIRECTIONS} + grid points); results are identical
     *     to reading each candidate alone
     */
    public Batch batch() {
        return new Batch();
    }

    /** Reads the candidates of one snapshot (not thread-safe; the model must not change between reads). */
    public final class Batch {
        private final List<Reference> references = new ArrayList<>();

        private Batch() {}

        /**
         * Reads one candidate.
         *
         * @param probe the model on the probe batch (the candidate's parameters must belong to it)
         * @param candidate the candidate
         * @return the result; parameters are restored bit-exactly
         */
        public OrderResult read(ModelProbe probe, Candidate candidate) {
            ParameterPath path = candidate.path();
            List<Parameter> params = path.parameters();
            ParameterState saved = probe.save(params);
            try {
                return doRead(probe, candidate, path, params, this);
            } finally {
                saved.restore();
            }
        }

        /** @return the floor and live reference of {@code params} at {@code base}, measured once per batch */
        private Reference referenceFor(ModelProbe probe, List<Parameter> params, List<double[]> base, double s) {
            for (Reference r : references) {
                if (r.matches(params, base)) {
                    return r;
                }
            }
            Reference r = reference(probe, params, base, s);
            references.add(r);
            return r;
        }
    }

    /** The measured floor and live reference of one tensor list at one base point. */
    private record Reference(List<Parameter> params, List<double[]> base, double measured, double fRef) {
        boolean matches(List<Parameter> otherParams, List<double[]> otherBase) {
            if (otherParams.size() != params.size()) {
                return false;
            }
            for (int i = 0; i < params.size(); i++) {
                if (otherParams.get(i) != params.get(i) || !Arrays.equals(otherBase.get(i), base.get(i))) {
                    return false;
                }
            }
            return true;
        }
    }

    private OrderResult doRead(ModelProbe probe, Candidate candidate, ParameterPath path,
            List<Parameter> params, Batch batch) {
        Precision precision = precisionOf(probe, params);
        List<double[]> base = path.base();
        double s = rms(base);
        if (!(s > 0)) {
            s = 1.0;
        }
        Reference reference = batch.referenceFor(probe, params, base, s);
        double measured = reference.measured();
        double fRef = reference.fRef();

        // the grid
        double ratio = Math.pow(precision.gridHigh() / precision.gridLow(), 1.0 / (GRID_POINTS - 1));
        List<Double> ts = new ArrayList<>();
        List<Point> pts = new ArrayList<>();
        for (int i = 0; i < GRID_POINTS; i++) {
            double t = s * precision.gridLow() * Math.pow(ratio, i);
            ts.add(t);
            pts.add(fisherAt(probe, path, t, measured));
        }
        boolean extended = false;
        if (countClearing(pts) < MIN_WINDOW) {
            double t = ts.get(ts.size() - 1) * ratio;
            while (t <= MAX_EXTENSION * s * (1 + 1e-9)) {
                ts.add(t);
                pts.add(fisherAt(probe, path, t, measured));
                extended = true;
                t *= ratio;
            }
        }
        int n = ts.size();
        double[] t = new double[n];
        double[] f = new double[n];
        double[] floor = new double[n];
        for (int i = 0; i < n; i++) {
            t[i] = ts.get(i);
            f[i] = pts.get(i).fisher;
            floor[i] = pts.get(i).floor;
        }
        double maxF = Arrays.stream(f).max().orElse(0);
        double magnitude = !(fRef > 0) ? Double.NaN
                : maxF > 0 ? Math.log10(maxF / fRef) : Double.NEGATIVE_INFINITY;

        boolean atFloor = true;
        boolean deep = fRef > 0;
        for (int i = 0; i < n; i++) {
            atFloor &= f[i] <= GAUGE_MULTIPLE * floor[i];
            deep &= f[i] / fRef < DEEP_FLOOR;
        }
        if (atFloor || deep) {
            return new OrderResult(candidate.name(), candidate.layer(), candidate.predicted(),
                    Classification.GAUGE, Double.NaN, 0, -1, -1, extended, magnitude, t, f, floor);
        }
        int[] window = window(t, f, floor);
        if (window == null) {
            return new OrderResult(candidate.name(), candidate.layer(), candidate.predicted(),
                    Classification.PREASYMPTOTIC, Double.NaN, 0, -1, -1, extended, magnitude, t, f,
                    floor);
        }
        double beta = slope(t, f, window[0], window[1]);
        double kHat = 1 + beta / 2;
        long rounded = Math.round(kHat);
        int order = Math.abs(kHat - rounded) <= INTEGER_TOLERANCE && rounded >= 1 ? (int) rounded : 0;
        Classification c = kHat >= SINGULAR_THRESHOLD ? Classification.SINGULAR : Classification.REGULAR;
        return new OrderResult(candidate.name(), candidate.layer(), candidate.predicted(), c, kHat,
                order, window[0], window[1], extended, magnitude, t, f, floor);
    }

    /**
     * The precision a candidate is read in: the probe's, or float32 where one of its parameters
     * is float32 (a block run in float32 inside a float64 replica, docs/method.md §0).
     */
    static Precision precisionOf(ModelProbe probe, List<Parameter> params) {
        for (Parameter p : params) {
            if (p.getArray().getDataType() == Precision.FLOAT32.dataType()) {
                return Precision.FLOAT32;
            }
        }
        return probe.precision();
    }

    /** Measures the floor and the live reference of {@code params} at {@code base}. */
    private Reference reference(ModelProbe probe, List<Parameter> params, List<double[]> base, double s) {
        Precision precision = precisionOf(probe, params);
        // noise floor, measured: ulp-sized rounding of the touched tensors at the base point
        probe.write(params, base);
        ProbeOutputs f0 = probe.evaluate();
        Random rnd = new Random(seed ^ 0x5DEECE66DL);
        List<double[]> jittered = new ArrayList<>();
        for (double[] b : base) {
            double[] j = b.clone();
            for (int k = 0; k < j.length; k++) {
                j[k] = j[k] * (1 + (rnd.nextBoolean() ? 1 : -1) * precision.epsilon());
            }
            jittered.add(j);
        }
        probe.write(params, jittered);
        double measured = fisherOf(probe, probe.evaluate(), f0, f0, 1.0);

        // live reference: median F over random unit directions in the same tensors
        double tMid = s * Math.sqrt(precision.gridLow() * precision.gridHigh());
        double[] ref = new double[REFERENCE_DIRECTIONS];
        for (int r = 0; r < REFERENCE_DIRECTIONS; r++) {
            List<double[]> dir = new ArrayList<>();
            for (double[] b : base) {
                double[] d = new double[b.length];
                for (int k = 0; k < d.length; k++) {
                    d[k] = rnd.nextGaussian();
                }
                dir.add(d);
            }
            ref[r] = fisherAt(probe, new StraightPath(params, base, dir), tMid, measured).fisher;
        }
        Arrays.sort(ref);
        double fRef = 0.5 * (ref[REFERENCE_DIRECTIONS / 2 - 1] + ref[REFERENCE_DIRECTIONS / 2]);
        return new Reference(params, base, measured, fRef);
    }

    /**
     * The asymptotic window: from the smallest clearing {@code t}, the longest run of at least
     * {@link #MIN_WINDOW} consecutive clearing points whose neighbour slopes agree with the run's
     * fitted {@code β} within {@link #SLOPE_AGREEMENT}.
     *
     * @return {@code {from, to}} inclusive, or {@code null}
     */
    static int[] window(double[] t, double[] f, double[] floor) {
        int n = t.length;
        for (int start = 0; start < n; start++) {
            if (!clears(f[start], floor[start])) {
                continue;
            }
            int best = -1;
            for (int end = start + MIN_WINDOW - 1; end < n; end++) {
                if (!clears(f[end], floor[end]) || !allClear(f, floor, start, end)) {
                    break;
                }
                double beta = slope(t, f, start, end);
                boolean agree = true;
                for (int i = start; i < end && agree; i++) {
                    double local = (Math.log(f[i + 1]) - Math.log(f[i]))
                            / (Math.log(t[i + 1]) - Math.log(t[i]));
                    agree = Math.abs(local - beta) <= SLOPE_AGREEMENT;
                }
                if (agree) {
                    best = end;
                }
            }
            if (best >= 0) {
                return new int[] {start, best};
            }
        }
        return null;
    }

    private static boolean allClear(double[] f, double[] floor, int from, int to) {
        for (int i = from; i <= to; i++) {
            if (!clears(f[i], floor[i])) {
                return false;
            }
        }
        return true;
    }

    private static boolean clears(double f, double floor) {
        return f > CLEAR_MULTIPLE * floor && f > 0;
    }

    private static int countClearing(List<Point> pts) {
        int c = 0;
        for (Point p : pts) {
            if (clears(p.fisher, p.floor)) {
                c++;
            }
        }
        return c;
    }

    private static double slope(double[] t, double[] f, int from, int to) {
        double[] x = new double[to - from + 1];
        double[] y = new double[x.length];
        for (int i = from; i <= to; i++) {
            x[i - from] = Math.log(t[i]);
            y[i - from] = Math.log(f[i]);
        }
        return dev.deadwatch.linalg.LeastSquares.slope(x, y);
    }

    private record Point(double fisher, double floor) {}

    private Point fisherAt(ModelProbe probe, ParameterPath path, double t, double measured) {
        double h = RELATIVE_STEP * t;
        List<Parameter> params = path.parameters();
        probe.write(params, path.at(t + h));
        ProbeOutputs plus = probe.evaluate();
        probe.write(params, path.at(t - h));
        ProbeOutputs minus = probe.evaluate();
        double fisher = fisherOf(probe, plus, minus, null, 2 * h);
        double scale = Math.max(plus.rms(), minus.rms());
        double perSample = (double) plus.values().length / probe.samples();
        double eps = precisionOf(probe, params).epsilon();
        double precisionFloor = perSample * Math.pow(eps * scale / (2 * h), 2);
        double measuredFloor = FLOOR_SAFETY * measured / ((2 * h) * (2 * h));
        return new Point(fisher, Math.max(precisionFloor, measuredFloor));
    }

    /** {@code (1/n) Σ_i (Δ_i/step)ᵀ M_i (Δ_i/step)} with {@code Δ = a - b}. */
    private static double fisherOf(ModelProbe probe, ProbeOutputs a, ProbeOutputs b,
            ProbeOutputs at, double step) {
        double[] va = a.values();
        double[] vb = b.values();
        double[] jv = new double[va.length];
        double[] mid = new double[va.length];
        for (int i = 0; i < va.length; i++) {
            jv[i] = (va[i] - vb[i]) / step;
            mid[i] = 0.5 * (va[i] + vb[i]);
        }
        double[] logits = at == null ? mid : at.values();
        return probe.metric().quadratic(jv, logits, a.width()) / probe.samples();
    }

    private static double rms(List<double[]> values) {
        double s = 0;
        long n = 0;
        for (double[] v : values) {
            for (double x : v) {
                s += x * x;
            }
            n += v.length;
        }
        return n == 0 ? 0 : Math.sqrt(s / n);
    }
}
