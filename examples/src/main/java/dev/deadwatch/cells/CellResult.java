package dev.deadwatch.cells;

/**
 * One row of the cells table.
 *
 * @param cell cell name
 * @param variant {@code axis} (as constructed) or {@code rotated} (random orthogonal change of
 *     the hidden basis, or a permutation where the activation is elementwise)
 * @param precision {@code float64} or {@code float32}
 * @param quantity what is compared (e.g. {@code order}, {@code q}, {@code D(1e-4)})
 * @param predicted the known answer
 * @param recovered what the reads returned
 * @param tolerance the acceptance tolerance, as text
 * @param pass whether the row passes
 */
public record CellResult(String cell, String variant, String precision, String quantity,
        String predicted, String recovered, String tolerance, boolean pass) {}
