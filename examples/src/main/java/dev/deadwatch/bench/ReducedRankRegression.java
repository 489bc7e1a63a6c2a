package dev.deadwatch.bench;

/**
 * The closed-form learning coefficient of reduced-rank regression (docs/method.md §5; Aoyagi and
 * Watanabe, Neural Networks 18(7), 2005): input {@code M}, output {@code N}, {@code H} hidden
 * units, true rank {@code r ≤ min(H, M, N)}.
 *
 * @param lambda the learning coefficient λ
 * @param multiplicity its order {@code m} (1 or 2)
 */
public record ReducedRankRegression(double lambda, int multiplicity) {

    /**
     * @param m input dimension ≥ 1
     * @param n output dimension ≥ 1
     * @param h hidden units ≥ 1
     * @param r true rank, {@code 0 ≤ r ≤ h}
     * @return λ and m
     * @throws IllegalArgumentException naming the bad dimension
     */
    public static ReducedRankRegression of(int m, int n, int h, int r) {
        if (m < 1 || n < 1 || h < 1) {
            throw new IllegalArgumentException(
                    "dimensions must be >= 1, got M=" + m + " N=" + n + " H=" + h);
        }
        int maxRank = Math.min(h, Math.min(m, n));
        if (r < 0 || r > maxRank) {
            throw new IllegalArgumentException(
                    "rank r must be in 0..min(H, M, N)=" + maxRank + ", got " + r);
        }
        if (n + r <= m + h && m + r <= n + h && h + r <= m + n) {
            long s = 2L * (h + r) * (m + n) - (long) (m - n) * (m - n) - (long) (h + r) * (h + r);
            return (m + h + n + r) % 2 == 0
                    ? new ReducedRankRegression(s / 8.0, 1)
                    : new ReducedRankRegression((s + 1) / 8.0, 2);
        }
        if (m + h < n + r) {
            return new ReducedRankRegression((h * m - h * r + n * r) / 2.0, 1);
        }
        if (n + h < m + r) {
            return new ReducedRankRegression((h * n - h * r + m * r) / 2.0, 1);
        }
        return new ReducedRankRegression(m * n / 2.0, 1);
    }
}
