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
 * @param total {@code round(D(ε_dead))}: every non-active direction, {@code -1} when the matrix
 *     is zero (nothing to count)
 * @param unresolved the part of {@code total} the probe cannot see: the width beyond what its
 *     rows span ({@code max(0, dimension − (rows − 1))} after centring); never called dead
 * @param structure the part the architecture forces, by cause
 * @param deadCount the headline: {@code total − unresolved − structure.total()}, at least 0;
 *     {@code -1} when the matrix is zero
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
        int total,
        int unresolved,
        Structure structure,
        int deadCount) {

    /** Validates and copies. */
    public DdsResult {
        if (unresolved < 0) {
            throw new IllegalArgumentException("unresolved must be >= 0, got " + unresolved);
        }
        if (profile.length != Spectrum.PROFILE_EPS.length) {
            throw new IllegalArgumentException("profile must have " + Spectrum.PROFILE_EPS.length
                    + " entries, got " + profile.length);
        }
        profile = profile.clone();
    }

    /** @return whether part of the count is directions the probe cannot see ({@code unresolved > 0}) */
    public boolean rowLimited() {
        return unresolved > 0;
    }

    /** @return the active directions, {@code dimension − total} (0 for a zero matrix) */
    public int active() {
        return total < 0 ? 0 : dimension - total;
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
