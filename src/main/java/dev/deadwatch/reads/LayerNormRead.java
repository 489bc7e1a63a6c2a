package dev.deadwatch.reads;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.norm.LayerNorm;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.linalg.Scratch;
import dev.deadwatch.linalg.Spectrum;
import dev.deadwatch.linalg.SymmetricEigen;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The forward-pass-only LayerNorm inverse-scale read (docs/method.md §1, arXiv 2606.19491).
 *
 * <p>For {@code h = γ ⊙ (x - mean x)/std x + β}, the centred {@code z} sums to zero, so
 * {@code u = γ⁻¹/‖γ⁻¹‖} is an exact kernel vector of the centred covariance of {@code h} for any
 * input distribution. The parameter-only part needs no data; one forward pass gives the
 * Rayleigh quotient along {@code u}, its alignment with the bottom eigenvector (with the bottom
 * eigenspace when other directions are dead too), and the dead directions beyond {@code u}.
 */
public final class LayerNormRead implements SplitRead {

    /** Below this relative Rayleigh quotient the kernel is present (mean-subtracting norm). */
    public static final double KERNEL_RAYLEIGH = 1e-6;

    private final int maxRows;
    private final double epsDead;

    /** A read with the docs/method.md defaults ({@code N_max} 4096, ε_dead 1e-4). */
    public LayerNormRead() {
        this(Activations.DEFAULT_MAX_ROWS, Spectrum.EPS_DEAD);
    }

    /**
     * @param maxRows row cap, at least 2
     * @param epsDead relative eigenvalue below which a direction is dead, in (0,1)
     */
    public LayerNormRead(int maxRows, double epsDead) {
        if (maxRows < 2) {
            throw new IllegalArgumentException("maxRows must be >= 2, got " + maxRows);
        }
        if (!(epsDead > 0 && epsDead < 1)) {
            throw new IllegalArgumentException("epsDead must be in (0,1), got " + epsDead);
        }
        this.maxRows = maxRows;
        this.epsDead = epsDead;
    }

    /** @return {@code layernorm} */
    @Override
    public String name() {
        return "layernorm";
    }

    /** Applies when some tapped layer has a {@code gamma} and is not a BatchNorm. */
    @Override
    public boolean appliesTo(ReadContext ctx) {
        return !norms(ctx).isEmpty();
    }

    /** @return the tapped layers with a {@code gamma} that are not BatchNorms, in layer order */
    private static Set<String> norms(ReadContext ctx) {
        Set<String> out = new LinkedHashSet<>();
        for (String layer : ctx.layers()) {
            Block b = ctx.paths().blockAt(layer);
            if (!(b instanceof BatchNorm) && ParameterState.parameter(b, "gamma") != null) {
                out.add(layer);
            }
        }
        return out;
    }

    @Override
    public boolean needsActivations() {
        return true;
    }

    /**
     * Reads every LayerNorm-type layer on its recorded outputs: a {@link LayerNorm}, or another
     * block with a {@code gamma} as wide as its output's last axis (an RMSNorm, say, which the
     * classifier then finds without a kernel). A BatchNorm is read by {@link BatchNormRead}; any
     * other block with a {@code gamma} is reported as a {@link LayerFailure}, as is a layer whose
     * read throws. Where the rest runs later, the capture records the activations (shared with the
     * DDS read) and copies each {@code γ}; the rest decomposes the covariances. Where it runs right
     * after and the activation side records in groups of layers ({@link ActivationPlan}), the
     * norms' outputs alone are recorded for it.
     */
    @Override
    public Rest capture(ReadContext ctx) {
        if (ctx.restsDeferred()) {
            List<Norm> norms = norms(ctx, ctx.activations().outputs());
            return c -> finish(c, norms, c.scratch());
        }
        return c -> c.withActivations(norms(c), Set.of(), taps -> {
            finish(c, norms(c, taps.outputs()), taps.manager());
            return null;
        });
    }

    /** @return the norms among the recorded layers, in layer order, failures included */
    private List<Norm> norms(ReadContext ctx, Map<String, List<NDArray>> outputs) {
        List<Norm> norms = new ArrayList<>();
        for (String layer : norms(ctx)) {
            if (!outputs.containsKey(layer)) {
                continue;
            }
            Block b = ctx.paths().blockAt(layer);
            Parameter gamma = ParameterState.parameter(b, "gamma");
            try {
                List<NDArray> calls = outputs.get(layer);
                long width = calls.get(0).getShape().tail();
                long size = gamma.getArray().size();
                if (!(b instanceof LayerNorm) && size != width) {
                    throw new IllegalArgumentException("a gamma of " + size + " entries on an output whose last"
                            + " axis has " + width + ": not a LayerNorm-type norm over its last axis");
                }
                norms.add(new Norm(layer, ctx.probe().values(gamma), calls, null));
            } catch (RuntimeException e) {
                norms.add(new Norm(layer, null, null, e));
            }
        }
        return norms;
    }

    private void finish(ReadContext ctx, List<Norm> norms, NDManager scratch) {
        for (Norm n : norms) {
            try {
                if (n.failure() != null) {
                    throw n.failure();
                }
                ctx.add(read(n.layer(), n.gamma(), n.calls(), scratch));
            } catch (RuntimeException e) {
                ctx.fail(n.layer(), name(), e);
            }
        }
    }

    /** One norm as captured: its {@code γ} and recorded outputs, or why it cannot be read. */
    private record Norm(String layer, double[] gamma, List<NDArray> calls, RuntimeException failure) {}

    /**
     * The inverse-scale direction {@code u = γ⁻¹ / ‖γ⁻¹‖}.
     *
     * @param gamma the scale
     * @return {@code u}, or {@code null} if some {@code γ_i} is zero (then {@code e_i} is the
     *     dead direction instead)
     */
    public static double[] inverseScale(double[] gamma) {
        double[] u = new double[gamma.length];
        double norm = 0;
        for (int i = 0; i < gamma.length; i++) {
            if (gamma[i] == 0) {
                return null;
            }
            u[i] = 1.0 / gamma[i];
            norm += u[i] * u[i];
        }
        norm = Math.sqrt(norm);
        for (int i = 0; i < u.length; i++) {
            u[i] /= norm;
        }
        return u;
    }

    /**
     * The parameter-only read: no data needed.
     *
     * @param layer block path
     * @param gamma the scale {@code γ}
     * @return a result whose data-dependent fields are {@code NaN} / 0 / false
     */
    public LayerNormResult parametersOnly(String layer, double[] gamma) {
        checkGamma(gamma);
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        int dead = 0;
        for (double g : gamma) {
            double a = Math.abs(g);
            min = Math.min(min, a);
            max = Math.max(max, a);
            if (g == 0) {
                dead++;
            }
        }
        return new LayerNormResult(layer, gamma.length, min, min == 0 ? Double.POSITIVE_INFINITY : max / min,
                dead, Double.NaN, Double.NaN, dead, false);
    }

    /**
     * The full read from one forward pass.
     *
     * @param layer block path
     * @param gamma the scale {@code γ}
     * @param outputs recorded outputs of the norm layer (last axis = {@code d})
     * @param scratch manager for temporaries
     * @return the result
     */
    public LayerNormResult read(String layer, double[] gamma, List<NDArray> outputs,
            NDManager scratch) {
        return read(layer, gamma, outputs, scratch, false);
    }

    /**
     * The full read; with fewer rows than the width it works on the {@code rows × rows} Gram
     * {@code AAᵀ/rows} (same non-zero spectrum, eigenvectors mapped back through {@code Aᵀ}), so
     * its cost grows with the smaller of rows and width instead of with the width cubed.
     *
     * @param forceCovariance decompose the {@code width × width} covariance even when the Gram is
     *     smaller (for tests comparing the two)
     */
    LayerNormResult read(String layer, double[] gamma, List<NDArray> outputs, NDManager scratch,
            boolean forceCovariance) {
        LayerNormResult p = parametersOnly(layer, gamma);
        try (NDManager m = scratch.newSubManager()) {
            NDArray a = Activations.centred(outputs, maxRows, m);
            if (a.getShape().get(1) != gamma.length) {
                throw new IllegalArgumentException("layer " + layer + " output width "
                        + a.getShape().get(1) + " differs from gamma length " + gamma.length);
            }
            if (!forceCovariance && a.getShape().get(0) < gamma.length) {
                return gramRead(gamma, a, p);
            }
            int d = gamma.length;
            // the worker's buffer, and u's coordinates in place of the eigenvectors: nothing of width² kept
            double[] c = Scratch.take(Scratch.Use.GRAM, d * d);
            Activations.covarianceInto(a, c);
            double[] u = inverseScale(gamma);
            double meanVariance = Activations.trace(c, d) / d;
            double q = u != null && meanVariance > 0 ? Activations.rayleigh(c, d, u) / meanVariance : Double.NaN;
            SymmetricEigen eigen = u == null ? SymmetricEigen.ofLeading(c, d, false)
                    : SymmetricEigen.ofLeadingCoordinates(c, d, u);
            double[] rho = Spectrum.of(eigen.values(), d).relative();
            int below = countBelow(rho);
            if (u == null) {
                return result(p, below, Double.NaN, Double.NaN);
            }
            return result(p, below, q, bottomAlignment(eigen.coordinates(), rho));
        }
    }

    /** @return how many relative eigenvalues are below {@code ε_dead} */
    private int countBelow(double[] rho) {
        int below = 0;
        for (double r : rho) {
            if (r < epsDead) {
                below++;
            }
        }
        return below;
    }

    /**
     * The full result: the kernel is present when {@code q} is below {@link #KERNEL_RAYLEIGH}
     * (never for {@code q = NaN}), and then one of the directions below {@code ε_dead} is it.
     */
    private static LayerNormResult result(LayerNormResult params, int below, double q, double alignment) {
        boolean kernel = q < KERNEL_RAYLEIGH;
        int extra = Math.max(0, below - (kernel ? 1 : 0));
        return new LayerNormResult(params.layer(), params.width(), params.gammaMinAbs(), params.gammaRatio(),
                params.deadCoordinates(), q, alignment, extra, kernel);
    }

    /**
     * The read through the Gram {@code G = AAᵀ/n} when {@code n < d}: {@code C = AᵀA/n} has the
     * same non-zero eigenvalues plus {@code d − n} exact zeros, so at least one direction is below
     * {@code ε_dead} and the bottom eigenspace is the complement of the active one. With
     * {@code G w_i = λ_i w_i} the active eigenvectors of {@code C} are {@code v_i = Aᵀw_i/√(nλ_i)},
     * hence {@code ‖P_active u‖² = Σ (w_i·Au)²/(nλ_i)} and {@code uᵀCu = ‖Au‖²/n}: no
     * {@code d × d} matrix is formed.
     */
    private LayerNormResult gramRead(double[] gamma, NDArray a, LayerNormResult p) {
        int n = Math.toIntExact(a.getShape().get(0));
        int d = gamma.length;
        double[] u = inverseScale(gamma);
        double[] au = null;
        if (u != null) {
            try (NDArray uArr = a.getManager().create(u).reshape(d, 1); NDArray prod = a.matMul(uArr)) {
                au = ParameterState.toDoubles(prod);
            }
        }
        double[] gram = Scratch.take(Scratch.Use.GRAM, n * n);
        try (NDArray t = a.transpose(); NDArray aat = a.matMul(t); NDArray g = aat.div(n)) {
            ParameterState.toDoubles(g, gram);
        }
        // Au's coordinates in G's eigenbasis in place of its n eigenvectors
        SymmetricEigen eigen = au == null ? SymmetricEigen.ofLeading(gram, n, false)
                : SymmetricEigen.ofLeadingCoordinates(gram, n, au);
        Spectrum spectrum = Spectrum.of(eigen.values(), d);
        double[] rho = spectrum.relative();
        int below = countBelow(rho);
        if (u == null) {
            return result(p, below, Double.NaN, Double.NaN);
        }
        double[] coordinates = eigen.coordinates();
        double trace = 0;
        double[] values = eigen.values();
        for (double v : values) {
            trace += v;
        }
        double uCu = dot(au, au) / n;
        double meanVariance = trace / d;
        double q = meanVariance > 0 ? uCu / meanVariance : Double.NaN;
        double top = spectrum.top();
        double activeSq = 0;
        for (int i = 0; i < values.length; i++) {
            if (top > 0 && values[i] / top >= epsDead) {
                double c = coordinates[i];
                activeSq += c * c / (n * values[i]);
            }
        }
        double alignment = top > 0 ? Math.sqrt(Math.max(0.0, 1.0 - activeSq)) : Double.NaN;
        return result(p, below, q, alignment);
    }

    /**
     * The alignment of {@code u} with the bottom of the spectrum: {@code ‖P u‖} for {@code P} the
     * projector onto the eigenvectors whose relative eigenvalue is below {@code ε_dead}, or onto
     * {@code e_min} alone when none is. It equals {@code |u·e_min|} whenever the bottom eigenvalue
     * is simple, and stays meaningful when the layer has other dead directions, where {@code e_min}
     * is an arbitrary vector of a degenerate eigenspace.
     *
     * @param coordinates {@code u}'s coordinates in the covariance's eigenbasis, largest eigenvalue first
     */
    private double bottomAlignment(double[] coordinates, double[] rho) {
        int d = rho.length;
        double sq = 0;
        for (int i = d - 1; i >= 0; i--) {
            if (i < d - 1 && rho[i] >= epsDead) {
                break;
            }
            double p = coordinates[i];
            sq += p * p;
        }
        return Math.sqrt(Math.min(1.0, sq));
    }

    private static void checkGamma(double[] gamma) {
        if (gamma == null || gamma.length < 2) {
            throw new IllegalArgumentException("gamma must have at least 2 entries");
        }
        for (int i = 0; i < gamma.length; i++) {
            if (!Double.isFinite(gamma[i])) {
                throw new IllegalArgumentException("gamma[" + i + "] is not finite: " + gamma[i]);
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
