package dev.deadwatch.reads;

import dev.deadwatch.linalg.Spectrum;

/**
 * The DDS spectral read of one layer on one side (docs/method.md §2).
 *
 * @param layer block path
 * @param side activation or Fisher
 * @param rows rows of the matrix the spectrum came from (samples × positions, or samples)
 * @param dimension number of eigenvalues (width for the activation side, {@code n} for Fisher)
 * @param logDetActive {@code log det⁺}, {@code NaN} if the matrix is zero
 * @param lambdaMin relative {@code λ_min+}, {@code NaN} if none above the floor
 * @param effectiveRank effective rank, {@code NaN} if the matrix is zero
 * @param profile {@code D(ε)} at {@link Spectrum#PROFILE_EPS}, same order
 * @param structuralKernels known structural kernels (the LayerNorm {@code u}) removed from the
 *     headline
 * @param deadCount headline {@code round(D(ε_dead))} minus the structural kernels, at least 0;
 *     {@code -1} when the matrix is zero (nothing to count)
 * @param rowLimited whether {@code rows < dimension}, so part of the count is directions the
 *     probe cannot see rather than directions the model lost
 */
public record DdsResult(
        String layer,
        Side side,
        int rows,
        int dimension,
        double logDetActive,
        double lambdaMin,
        double effectiveRank,
        double[] profile,
        int structuralKernels,
        int deadCount,
        boolean rowLimited) {

    /** Validates and copies. */
    public DdsResult {
        if (profile.length != Spectrum.PROFILE_EPS.length) {
            throw new IllegalArgumentException("profile must have " + Spectrum.PROFILE_EPS.length
                    + " entries, got " + profile.length);
        }
        profile = profile.clone();
    }

    @Override
    public double[] profile() {
        return profile.clone();
    }

    /**
     * @param eps one of {@link Spectrum#PROFILE_EPS}
     * @return {@code D(eps)}
     */
    public double profileAt(double eps) {
        for (int i = 0; i < Spectrum.PROFILE_EPS.length; i++) {
            if (Spectrum.PROFILE_EPS[i] == eps) {
                return profile[i];
            }
        }
        throw new IllegalArgumentException("eps " + eps + " is not a profile point");
    }
}
