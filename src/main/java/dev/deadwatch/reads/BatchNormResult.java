package dev.deadwatch.reads;

/**
 * The BatchNorm read of one layer (docs/method.md §1a).
 *
 * @param layer block path
 * @param channels channels (entries of {@code γ})
 * @param gammaMinAbs {@code min|γ_c|}
 * @param deadChannels channels with {@code |γ_c| < } {@link BatchNormRead#DEAD_GAMMA} {@code × max|γ|}
 *     (all of them when every {@code γ_c} is 0)
 */
public record BatchNormResult(String layer, int channels, double gammaMinAbs, int deadChannels) {}
