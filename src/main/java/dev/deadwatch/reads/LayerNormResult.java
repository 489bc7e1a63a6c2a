package dev.deadwatch.reads;

/**
 * The LayerNorm inverse-scale read of one normalisation layer (docs/method.md §1).
 *
 * @param layer block path
 * @param width normalised width {@code d}
 * @param gammaMinAbs {@code min|γ_i|} (parameter-only)
 * @param gammaRatio {@code max|γ| / min|γ|}, infinite when a coordinate is zero
 * @param deadCoordinates coordinates with {@code γ_i = 0}, each itself a dead direction
 * @param rayleigh relative Rayleigh quotient {@code q = uᵀCu / (tr C / d)}; {@code NaN} when
 *     {@code u} is undefined (a zero {@code γ_i}) or no forward pass was read
 * @param alignment {@code |u · e_min|}, or {@code ‖P u‖} for {@code P} the projector onto the
 *     eigenvectors below {@code ε_dead} when there are several; {@code NaN} likewise
 * @param extraDead directions with relative eigenvalue below {@code ε_dead} other than {@code u}
 * @param kernel the normalisation classifier: {@code q < 1e-6}, the mean-subtraction kernel
 */
public record LayerNormResult(
        String layer,
        int width,
        double gammaMinAbs,
        double gammaRatio,
        int deadCoordinates,
        double rayleigh,
        double alignment,
        int extraDead,
        boolean kernel) {

    /** @return {@code "mean-subtracting"} when the kernel is present, else {@code "no-kernel"} */
    public String normKind() {
        return kernel ? "mean-subtracting" : "no-kernel";
    }
}
