package dev.deadwatch.linalg;

import java.util.Arrays;

/**
 * The eigenvalue spectrum {@code μ_1 ≥ μ_2 ≥ …} of a covariance or Gram matrix and the DDS
 * observables of docs/method.md §2.
 *
 * <p>The spectrum always has one entry per dimension of the matrix it describes: when a
 * covariance {@code AᵀA/rows} (width {@code d}) is computed through the smaller Gram
 * {@code AAᵀ/rows}, the missing {@code d - rows} eigenvalues are exact zeros and are
 * padded in, so that {@link #deadProfile(double)} counts them.
 */
public final class Spectrum {

    /** Relative eigenvalues at or below this are numerically zero (docs/method.md §2 default). */
    public static final double DEFAULT_FLOOR = 1e-12;

    /** The {@code ε} at which the headline dead count is read (docs/method.md §2 default). */
    public static final double EPS_DEAD = 1e-4;

    /** The {@code ε} values of the exported {@code D(ε)} profile, largest first. */
    public static final double[] PROFILE_EPS = {1e-2, 1e-3, 1e-4, 1e-6};

    private final double[] values;

    private Spectrum(double[] values) {
        this.values = values;
    }

    /**
     * @param eigenvalues eigenvalues in any order; tiny negative rounding is clamped to zero
     * @param dimension the matrix order; must be at least the number of eigenvalues, the rest
     *     are exact zeros
     * @return the spectrum, sorted descending
     * @throws IllegalArgumentException on a non-finite value, a clearly negative value (below
     *     {@code -1e-8 × max}), or a dimension smaller than the count
     */
    public static Spectrum of(double[] eigenvalues, int dimension) {
        if (eigenvalues.length == 0 || dimension < eigenvalues.length) {
            throw new IllegalArgumentException(
                    "dimension " + dimension + " must be >= eigenvalue count "
                            + eigenvalues.length + " > 0");
        }
        double max = 0;
        for (double v : eigenvalues) {
            if (!Double.isFinite(v)) {
                throw new IllegalArgumentException("eigenvalue is not finite: " + v);
            }
            max = Math.max(max, v);
        }
        double[] sorted = new double[dimension];
        for (int i = 0; i < eigenvalues.length; i++) {
            double v = eigenvalues[i];
            if (v < -1e-8 * Math.max(max, Double.MIN_NORMAL)) {
                throw new IllegalArgumentException(
                        "eigenvalue " + v + " is negative: not a covariance spectrum");
            }
            sorted[i] = Math.max(v, 0.0);
        }
        Arrays.sort(sorted);
        for (int i = 0, j = dimension - 1; i < j; i++, j--) {
            double t = sorted[i];
            sorted[i] = sorted[j];
            sorted[j] = t;
        }
        return new Spectrum(sorted);
    }

    /** @return the number of eigenvalues (matrix order) */
    public int dimension() {
        return values.length;
    }

    /** @return a copy of the eigenvalues, largest first */
    public double[] values() {
        return values.clone();
    }

    /** @return {@code μ_1}, the largest eigenvalue */
    public double top() {
        return values[0];
    }

    /** @return relative spectrum {@code ρ_i = μ_i / μ_1}; all zero when {@code μ_1 = 0} */
    public double[] relative() {
        double[] rho = new double[values.length];
        if (values[0] > 0) {
            for (int i = 0; i < rho.length; i++) {
                rho[i] = values[i] / values[0];
            }
        }
        return rho;
    }

    /**
     * @param floor relative numerical floor
     * @return the smallest relative eigenvalue above {@code floor}, or {@code NaN} if none
     */
    public double lambdaMinPositive(double floor) {
        double[] rho = relative();
        for (int i = rho.length - 1; i >= 0; i--) {
            if (rho[i] > floor) {
                return rho[i];
            }
        }
        return Double.NaN;
    }

    /**
     * @param floor relative numerical floor
     * @return the active volume {@code log det⁺ = Σ_{ρ_i > floor} log μ_i}; {@code NaN} if the
     *     matrix is zero
     */
    public double logDetActive(double floor) {
        if (values[0] <= 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : values) {
            if (v / values[0] > floor) {
                sum += Math.log(v);
            }
        }
        return sum;
    }

    /** @param floor relative floor @return the number of eigenvalues above the floor */
    public int activeRank(double floor) {
        int r = 0;
        for (double rho : relative()) {
            if (rho > floor) {
                r++;
            }
        }
        return r;
    }

    /**
     * The volume slope {@code D(ε) = d log det(Ĉ + εI) / d log ε = Σ_i ε / (ρ_i + ε)}.
     *
     * <p>It sits on a plateau equal to the number of dead directions whenever {@code ε} lies
     * between the dead and the live relative eigenvalues.
     *
     * @param eps positive regulariser
     * @return {@code D(ε)}; {@code NaN} when the matrix is zero
     */
    public double deadProfile(double eps) {
        if (!(eps > 0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("eps must be positive and finite, got " + eps);
        }
        if (values[0] <= 0) {
            return Double.NaN;
        }
        double d = 0;
        for (double rho : relative()) {
            d += eps / (rho + eps);
        }
        return d;
    }

    /** @return {@code exp(-Σ p_i log p_i)} with {@code p_i = μ_i / Σμ}; {@code NaN} if zero */
    public double effectiveRank() {
        double total = 0;
        for (double v : values) {
            total += v;
        }
        if (!(total > 0)) {
            return Double.NaN;
        }
        double h = 0;
        for (double v : values) {
            if (v > 0) {
                double p = v / total;
                h -= p * Math.log(p);
            }
        }
        return Math.exp(h);
    }
}
