package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.function.Supplier;

/**
 * A float64 copy of a model, built from the user's block factory, on which reads run without
 * touching the model being trained (docs/method.md §0, issue "Precision"). Its parameters carry no
 * gradient.
 */
public final class Replica implements AutoCloseable {

    private final NDManager manager;
    private final Block block;
    private final Precision precision;

    private Replica(NDManager manager, Block block, Precision precision) {
        this.manager = manager;
        this.block = block;
        this.precision = precision;
    }

    /** @return the replica's precision */
    public Precision precision() {
        return precision;
    }

    /**
     * Builds the replica and copies the source's parameters into it.
     *
     * @param factory builds a fresh, uninitialized block of the source's architecture
     * @param source the model's block (initialized)
     * @param parent manager under which the replica's manager is created
     * @param inputShapes input shapes to initialize with
     * @return the replica
     * @throws IllegalArgumentException if the factory's block has different parameters, or
     *     keeps float32 parameters despite a float64 initialization
     */
    public static Replica float64(Supplier<Block> factory, Block source, NDManager parent,
            Shape... inputShapes) {
        return of(Precision.FLOAT64, factory, source, parent, inputShapes);
    }

    /**
     * Builds a replica in the given precision and copies the source's parameters into it.
     *
     * @param precision the replica's precision
     * @param factory builds a fresh, uninitialized block of the source's architecture
     * @param source the model's block (initialized)
     * @param parent manager under which the replica's manager is created
     * @param inputShapes input shapes to initialize with
     * @return the replica
     * @throws IllegalArgumentException if the factory's block has different parameters, or
     *     keeps parameters of another type despite the initialization
     */
    public static Replica of(Precision precision, Supplier<Block> factory, Block source, NDManager parent,
            Shape... inputShapes) {
        NDManager m = parent.newSubManager();
        m.setName("deadwatch-replica");
        try {
            Block b = factory.get();
            if (b == null || b == source) {
                throw new IllegalArgumentException("block factory must return a new block, got " + b);
            }
            b.initialize(m, precision.dataType(), inputShapes);
            for (Pair<String, Parameter> p : b.getParameters()) {
                // nothing reads the replica's parameter gradients: a backward pass through it
                // (the Fisher read) then computes only what the read asks for
                p.getValue().getArray().setRequiresGradient(false);
            }
            Replica r = new Replica(m, b, precision);
            r.copyFrom(source);
            return r;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Copies the source's current parameter values (exactly widened to float64).
     *
     * @param source the model's block
     */
    public void copyFrom(Block source) {
        var src = source.getParameters();
        var dst = block.getParameters();
        if (src.size() != dst.size()) {
            throw new IllegalArgumentException("factory block has " + dst.size()
                    + " parameters, the model has " + src.size());
        }
        for (int i = 0; i < src.size(); i++) {
            Pair<String, Parameter> s = src.get(i);
            Pair<String, Parameter> d = dst.get(i);
            NDArray sa = s.getValue().getArray();
            NDArray da = d.getValue().getArray();
            if (!s.getKey().equals(d.getKey()) || !sa.getShape().equals(da.getShape())) {
                throw new IllegalArgumentException("factory block parameter " + d.getKey() + " "
                        + da.getShape() + " does not match model parameter " + s.getKey() + " "
                        + sa.getShape());
            }
            if (da.getDataType() != precision.dataType()) {
                throw new IllegalArgumentException("parameter " + d.getKey() + " of the factory block is "
                        + da.getDataType() + " after a " + precision + " initialization");
            }
            ParameterState.write(da, ParameterState.toDoubles(sa));
        }
    }

    /**
     * Loads parameter values copied off the model earlier (same order as
     * {@code getParameters()}), e.g. by the training thread at a snapshot.
     *
     * @param values one array per parameter
     */
    public void load(java.util.List<double[]> values) {
        var dst = block.getParameters();
        if (values.size() != dst.size()) {
            throw new IllegalArgumentException("expected " + dst.size() + " parameter arrays, got "
                    + values.size());
        }
        for (int i = 0; i < values.size(); i++) {
            ParameterState.write(dst.get(i).getValue().getArray(), values.get(i));
        }
    }

    /** @return the float64 block */
    public Block block() {
        return block;
    }

    /** @return the manager owning the replica's parameters */
    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
