package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A float64 copy of a model, built from the user's block factory, on which reads run without
 * touching the model being trained (docs/method.md §0). Its parameters carry no gradient. A block
 * of it that cannot run in float64 can be run in float32 inside it ({@link #runInFloat32}): its
 * parameters become float32, its inputs are converted on entry and its outputs back on exit, and
 * {@link #layerPrecisions()} says which layers that is.
 */
public final class Replica implements AutoCloseable {

    private final NDManager manager;
    private final Block block;
    private final Precision precision;
    private final Set<Block> float32 = Collections.newSetFromMap(new IdentityHashMap<>());

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
            r.keepTypes();
            r.copyFrom(source);
            return r;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Copies the source's current parameter values (exactly widened to float64), converted by the
     * engine from array to array: nothing of them passes through the Java heap (a {@code double[]}
     * of every parameter would grow the heap by twice the model's float32 size, and a JVM seldom
     * gives heap back).
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
        Set<Parameter> f32 = float32Parameters();
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
            if (da.getDataType() != precision.dataType() && !(da.getDataType() == DataType.FLOAT32
                    && f32.contains(d.getValue()))) {
                throw new IllegalArgumentException("parameter " + d.getKey() + " of the factory block is "
                        + da.getDataType() + " after a " + precision + " initialization");
            }
            ParameterState.copy(da, sa);
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

    /**
     * Loads parameter arrays copied off the model earlier (same order as {@code getParameters()}),
     * converting them in place into the replica's own storage; no copy on the Java heap.
     *
     * @param arrays one array per parameter
     */
    public void loadArrays(java.util.List<NDArray> arrays) {
        var dst = block.getParameters();
        if (arrays.size() != dst.size()) {
            throw new IllegalArgumentException("expected " + dst.size() + " parameter arrays, got " + arrays.size());
        }
        for (int i = 0; i < arrays.size(); i++) {
            ParameterState.copy(dst.get(i).getValue().getArray(), arrays.get(i));
        }
    }

    /**
     * Runs one block of the replica in float32 (docs/method.md §0): its parameters, and those of
     * the blocks inside it, are re-made in float32 and refilled from the source; its callers keep
     * the replica's precision.
     *
     * @param child a block of the replica other than its root
     * @param source the model's block, whose values refill the re-made parameters
     * @throws IllegalArgumentException if {@code child} is not a block of the replica, or is its root
     */
    public void runInFloat32(Block child, Block source) {
        if (adapt(child, true)) {
            copyFrom(source);
        }
    }

    /**
     * A block of a float64 replica whose own parameters stayed float32 after the float64
     * initialization (it creates them so) runs in float32; on the root that is an error.
     */
    private void keepTypes() {
        if (precision != Precision.FLOAT64) {
            return;
        }
        for (Map.Entry<String, Block> e : BlockPaths.of(block).byPath().entrySet()) {
            for (Pair<String, Parameter> p : e.getValue().getDirectParameters()) {
                if (p.getValue().getArray().getDataType() == DataType.FLOAT32) {
                    if (e.getKey().equals(BlockPaths.ROOT)) {
                        throw new IllegalArgumentException("parameter " + p.getKey() + " of the factory block is"
                                + " float32 after a float64 initialization");
                    }
                    adapt(e.getValue(), false);
                }
            }
        }
    }

    /** @return whether the block was newly marked (and its parameters re-made when asked) */
    private boolean adapt(Block child, boolean remake) {
        BlockPaths paths = BlockPaths.of(block);
        String path = paths.pathOf(child);
        if (child == block || path == null) {
            throw new IllegalArgumentException("not a block inside the replica: " + child);
        }
        if (precision == Precision.FLOAT32 || layerPrecisions().get(path) == Precision.FLOAT32) {
            return false; // already float32, itself or inside a float32 block
        }
        for (Block inner : Set.copyOf(float32)) { // a float32 block inside it now runs in its type
            String p = paths.pathOf(inner);
            if (p.startsWith(path + "/")) {
                float32.remove(inner);
                ForwardTaps.runIn(inner, DataType.FLOAT32, DataType.FLOAT32);
            }
        }
        ForwardTaps.install(); // the advice converts the block's inputs and outputs
        float32.add(child);
        for (Pair<String, Parameter> p : child.getParameters()) {
            Parameter param = p.getValue();
            if (remake || param.getArray().getDataType() != DataType.FLOAT32) {
                param.close(); // keeps the shape: initialize re-makes the array in float32
                param.initialize(manager, DataType.FLOAT32);
            }
            param.getArray().setRequiresGradient(false);
        }
        ForwardTaps.runIn(child, DataType.FLOAT32, precision.dataType());
        return true;
    }

    private Set<Parameter> float32Parameters() {
        Set<Parameter> out = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Block b : float32) {
            for (Pair<String, Parameter> p : b.getParameters()) {
                out.add(p.getValue());
            }
        }
        return out;
    }

    /**
     * @return the precision each block of the replica runs in, by path ({@link BlockPaths}),
     *     for every block (leaves and containers)
     */
    public Map<String, Precision> layerPrecisions() {
        BlockPaths paths = BlockPaths.of(block);
        Map<String, Precision> out = new TreeMap<>();
        for (Map.Entry<String, Block> e : paths.byPath().entrySet()) {
            out.put(e.getKey(), precision);
        }
        for (Block b : float32) {
            String prefix = paths.pathOf(b);
            for (String path : paths.byPath().keySet()) {
                if (path.equals(prefix) || path.startsWith(prefix + "/")) {
                    out.put(path, Precision.FLOAT32);
                }
            }
        }
        return out;
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
