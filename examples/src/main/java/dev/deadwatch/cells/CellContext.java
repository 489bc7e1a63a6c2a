package dev.deadwatch.cells;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import dev.deadwatch.capture.ModelProbe;
import dev.deadwatch.capture.OutputMetric;
import dev.deadwatch.capture.ParameterState;
import dev.deadwatch.capture.Precision;
import dev.deadwatch.capture.ProbeBatch;
import dev.deadwatch.capture.Replica;
import dev.deadwatch.linalg.Matrices;
import dev.deadwatch.order.Classification;
import dev.deadwatch.order.OrderRead;
import dev.deadwatch.order.OrderResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the cell families of docs/method.md §6 share during one
 * {@link Cells#run}: the precision of the reads, the manager the cells' arrays live under, the one
 * {@link OrderRead} every cell reads with (seeded once, used in table order), the rows collected so
 * far, and the building of each cell's block on its probe batch ({@link #model}).
 */
final class CellContext {

    /** Seed of the engine, the order read and every cell's random construction. */
    static final long SEED = 20260701L;

    private final Precision precision;
    private final NDManager manager;
    private final OrderRead orderRead = new OrderRead(SEED);
    private final List<CellResult> rows = new ArrayList<>();

    CellContext(Precision precision, NDManager manager) {
        this.precision = precision;
        this.manager = manager;
    }

    Precision precision() {
        return precision;
    }

    OrderRead orderRead() {
        return orderRead;
    }

    /** @param row a row of the table, appended in order */
    void add(CellResult row) {
        rows.add(row);
    }

    /** @return the rows so far, in table order */
    List<CellResult> rows() {
        return List.copyOf(rows);
    }

    // ---------------------------------------------------------------- rows

    double orderTolerance() {
        return precision == Precision.FLOAT64 ? Cells.ORDER_TOLERANCE_F64 : Cells.ORDER_TOLERANCE_F32;
    }

    void orderRow(String cell, String variant, int k, OrderResult r) {
        Classification want = k >= 2 ? Classification.SINGULAR : Classification.REGULAR;
        boolean ok = r.classification() == want && Math.abs(r.kHat() - k) <= orderTolerance()
                && r.order() == k;
        rows.add(new CellResult(cell, variant, precision.toString(), "order",
                (k >= 2 ? "singular k=" : "regular k=") + k, r.summary(), "±" + orderTolerance(), ok));
    }

    void gaugeRow(String cell, String variant, OrderResult r) {
        rows.add(new CellResult(cell, variant, precision.toString(), "class", "gauge", r.summary(),
                "floor", r.classification() == Classification.GAUGE));
    }

    // ---------------------------------------------------------------- plumbing

    /**
     * Builds a cell's block in float32 on a random probe batch and, in float64, its replica.
     *
     * @param factory builds the block
     * @param inputShape the probe batch's shape
     * @param metric the output metric of the probe
     * @param setUp sets the known-answer weights, on the block the reads run on
     * @return the model; the caller closes it
     */
    CellModel model(Supplier<Block> factory, Shape inputShape, OutputMetric metric, Consumer<Block> setUp) {
        NDManager m = manager.newSubManager();
        try {
            m.getEngine().setRandomSeed((int) SEED);
            Block block = factory.get();
            block.initialize(m, DataType.FLOAT32, inputShape);
            NDArray x = m.randomNormal(0, 1, inputShape, DataType.FLOAT32);
            ProbeBatch probe = ProbeBatch.copyOf(m, new NDList(x), new NDList());
            Replica replica = precision == Precision.FLOAT64
                    ? Replica.float64(factory, block, m, inputShape) : null;
            Block read = replica == null ? block : replica.block();
            setUp.accept(read); // constructed in the read's own precision, so exact in float64
            return new CellModel(m, probe, replica, new ModelProbe(read, probe, precision, metric));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** Rotates a Linear's output basis by a random orthogonal Q: W → QW, b → Qb. */
    static void rotateOutputs(Block linear, long seed) {
        Parameter w = ParameterState.parameter(linear, "weight");
        Parameter b = ParameterState.parameter(linear, "bias");
        int rows = (int) w.getArray().getShape().get(0);
        int cols = (int) w.getArray().getShape().get(1);
        double[] q = Matrices.randomOrthogonal(rows, new Random(seed));
        ParameterState.write(w.getArray(), Matrices.multiply(q, ParameterState.values(w), rows, rows, cols));
        ParameterState.write(b.getArray(), Matrices.multiply(q, ParameterState.values(b), rows, rows, 1));
    }
}
