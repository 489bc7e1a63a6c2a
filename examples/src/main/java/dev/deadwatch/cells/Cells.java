package dev.deadwatch.cells;

import ai.djl.ndarray.NDManager;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.Replica;
import java.util.List;

/**
 * Builds every cell of docs/method.md §6 and runs the reads on it. In
 * {@link Precision#FLOAT64} each cell's block is built in float32 and read through its float64
 * {@link Replica} (the path a block factory enables); in {@link Precision#FLOAT32} the reads run on
 * the block itself. The families of cells live beside this facade: {@link OrderCells} (power cells
 * and MLP node death), {@link NormCells} (LayerNorm kernel, RMSNorm), {@link AttentionCells}
 * (query-key rotation orbit), {@link RankDeficitCells} (linear-net rank deficit, the DDS reads)
 * and {@link CensusCells}; they share one {@link CellContext}.
 */
public final class Cells {

    /** {@code k̂} tolerance in float64 (docs/method.md §6). */
    public static final double ORDER_TOLERANCE_F64 = 0.05;
    /** {@code k̂} tolerance in float32 (docs/method.md §6). */
    public static final double ORDER_TOLERANCE_F32 = 0.15;
    /** Radial slope ratio tolerance of the volume-identity cell. */
    public static final double RADIAL_TOLERANCE = 0.05;
    /** A norm without mean subtraction must read a Rayleigh quotient above this. */
    public static final double NO_KERNEL_RAYLEIGH = 1e-2;
    /** Minimum alignment of {@code u} with the bottom eigenvector. */
    public static final double MIN_ALIGNMENT = 0.9999;
    /** Census λ̂ tolerance (orders are integers, so λ̂ is exact). */
    public static final double CENSUS_TOLERANCE = 1e-12;

    private Cells() {}

    /**
     * Runs every cell.
     *
     * @param precision the precision of the reads
     * @param parent manager under which each cell's arrays live (all closed before returning)
     * @return one row per checked quantity
     */
    public static List<CellResult> run(Precision precision, NDManager parent) {
        try (NDManager m = parent.newSubManager()) {
            CellContext cx = new CellContext(precision, m);
            OrderCells order = new OrderCells(cx);
            for (int k = 1; k <= 5; k++) {
                order.power(k);
            }
            for (String act : List.of("relu", "gelu", "tanh", "relu2")) {
                order.nodeDeath(act, false);
                order.nodeDeath(act, true);
                order.outgoingOnly(act);
                order.incomingOnly(act);
            }
            NormCells norm = new NormCells(cx);
            norm.layerNorm(false);
            norm.layerNorm(true);
            norm.rmsNorm();
            AttentionCells attention = new AttentionCells(cx);
            attention.queryKey(false);
            attention.queryKey(true);
            RankDeficitCells rank = new RankDeficitCells(cx);
            for (int r = 1; r <= 4; r++) {
                rank.rankDeficit(r, false);
                rank.rankDeficit(r, true);
            }
            CensusCells census = new CensusCells(cx);
            for (int k = 2; k <= 3; k++) {
                census.census(k);
            }
            return cx.rows();
        }
    }
}
