package dev.deadwatch.listener;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.deadwatch.capture.GradMode;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's parameters copied at a snapshot on their way to the replica: in the model's own
 * type and in native memory (one copy of the parameters, no float64 copy on the Java heap), freed
 * as soon as the worker has converted them into the replica's storage, or has read them (kept for
 * the next snapshot by {@link CopyPool}).
 *
 * @param manager owns the copies
 * @param arrays one copy per parameter, in {@code getParameters()} order
 */
record StagedParameters(NDManager manager, List<NDArray> arrays) implements AutoCloseable {

    /**
     * @param block the model's block
     * @param parent manager under which the copies' manager is made
     * @return copies of its parameters, without autograd history
     */
    static StagedParameters of(Block block, NDManager parent) {
        NDManager m = parent.newSubManager();
        m.setName("deadwatch-staged");
        List<NDArray> arrays = new ArrayList<>();
        try {
            GradMode.off(() -> {
                for (Pair<String, Parameter> p : block.getParameters()) {
                    NDArray c = p.getValue().getArray().duplicate();
                    c.attach(m);
                    arrays.add(c);
                }
                return null;
            });
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
        return new StagedParameters(m, List.copyOf(arrays));
    }

    /**
     * One array's shape and type.
     *
     * @param shape its shape
     * @param type its data type
     */
    record Layout(Shape shape, DataType type) {
    }

    /** @return each array's shape and type, in order */
    List<Layout> layout() {
        return arrays.stream().map(a -> new Layout(a.getShape(), a.getDataType())).toList();
    }

    /**
     * @param layout each array's shape and type
     * @param parent manager under which the set's manager is made
     * @return a set of zero-filled arrays of that layout, to be {@linkplain #refill refilled}
     */
    static StagedParameters zeros(List<Layout> layout, NDManager parent) {
        NDManager m = parent.newSubManager();
        m.setName("deadwatch-staged");
        try {
            List<NDArray> arrays = new ArrayList<>();
            for (Layout l : layout) {
                arrays.add(m.zeros(l.shape(), l.type()));
            }
            return new StagedParameters(m, List.copyOf(arrays));
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /**
     * Copies the block's current parameters into these arrays, in place, when each still has its
     * parameter's shape and type (a copy of fresh arrays costs page faults as well).
     *
     * @param block the model's block
     * @return whether every array was refilled; otherwise some may hold new values, some old ones
     */
    boolean refill(Block block) {
        var params = block.getParameters();
        if (params.size() != arrays.size()) {
            return false;
        }
        for (int i = 0; i < arrays.size(); i++) {
            NDArray from = params.get(i).getValue().getArray();
            NDArray to = arrays.get(i);
            if (!from.getShape().equals(to.getShape()) || from.getDataType() != to.getDataType()
                    || from.getShape().dimension() == 0) {
                return false;
            }
        }
        GradMode.off(() -> {
            for (int i = 0; i < arrays.size(); i++) {
                arrays.get(i).set(ALL, params.get(i).getValue().getArray());
            }
            return null;
        });
        return true;
    }

    /** The whole of an array of at least one axis. */
    private static final NDIndex ALL = new NDIndex(":");

    @Override
    public void close() {
        manager.close();
    }
}
