package dev.deadwatch.listener;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import dev.deadwatch.capture.GradMode;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's parameters copied at a snapshot on their way to the replica: in the model's own
 * type and in native memory (one copy of the parameters, no float64 copy on the Java heap), freed
 * as soon as the worker has converted them into the replica's storage, or has read them (kept for
 * the next snapshot by {@link CopyPool}).
 *
 * <p>On PyTorch a parameter is copied by one memory copy on the calling thread, from its bytes
 * into the copy's, not by an engine operation: PyTorch splits a large copy over its intra-op
 * threads, and while the read worker holds a core at normal priority (no budget) the training
 * thread then waits, parameter after parameter, for the intra-op thread that shares that core.
 * Measured at MiniLM size with a busy worker: the engine's copy took up to 0.16 s, the memory
 * copy 0.02 s at most.
 *
 * @param manager owns the copies
 * @param arrays one copy per parameter, in {@code getParameters()} order
 * @param targets each copy's memory, written in place ({@code null} where the engine gives no
 *     direct view of it: that copy is refilled by an engine operation)
 */
record StagedParameters(NDManager manager, List<NDArray> arrays, List<ByteBuffer> targets) implements AutoCloseable {

    /**
     * @param block the model's block
     * @param parent manager under which the copies' manager is made
     * @return copies of its parameters, without autograd history
     */
    static StagedParameters of(Block block, NDManager parent) {
        PairList<String, Parameter> params = block.getParameters(); // walked once: DJL builds every name anew
        List<Layout> layout = new ArrayList<>();
        for (Pair<String, Parameter> p : params) {
            NDArray a = p.getValue().getArray();
            layout.add(new Layout(a.getShape(), a.getDataType()));
        }
        StagedParameters made = allocate(layout, parent, false); // every byte written below
        try {
            if (!made.refill(params)) {
                throw new IllegalStateException("the model's parameters changed while they were copied");
            }
        } catch (RuntimeException e) {
            made.close();
            throw e;
        }
        return made;
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
        return allocate(layout, parent, true);
    }

    /**
     * @param zero whether to zero the arrays (their memory faulted in by the caller), else they are
     *     left uninitialized for the caller to write whole
     */
    private static StagedParameters allocate(List<Layout> layout, NDManager parent, boolean zero) {
        NDManager m = parent.newSubManager();
        m.setName("deadwatch-staged");
        try {
            List<NDArray> arrays = new ArrayList<>();
            List<ByteBuffer> targets = new ArrayList<>();
            for (Layout l : layout) {
                // contiguous either way: its direct buffer is its memory
                NDArray a = zero ? m.zeros(l.shape(), l.type()) : m.create(l.shape(), l.type());
                arrays.add(a);
                targets.add(memoryOf(a));
            }
            return new StagedParameters(m, List.copyOf(arrays), java.util.Collections.unmodifiableList(targets));
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
        return refill(block.getParameters());
    }

    private boolean refill(PairList<String, Parameter> params) {
        if (params.size() != arrays.size()) {
            return false;
        }
        for (int i = 0; i < arrays.size(); i++) {
            NDArray from = params.get(i).getValue().getArray();
            NDArray to = arrays.get(i);
            if (!from.getShape().equals(to.getShape()) || from.getDataType() != to.getDataType()) {
                return false;
            }
        }
        GradMode.off(() -> {
            try (NDManager scope = manager.newSubManager()) {
                for (int i = 0; i < arrays.size(); i++) {
                    NDArray from = params.get(i).getValue().getArray();
                    ByteBuffer to = targets.get(i);
                    ByteBuffer bytes = to == null ? null : bytesOf(from, scope);
                    if (bytes != null && bytes.remaining() == to.capacity()) {
                        to.put(0, bytes, bytes.position(), bytes.remaining()); // absolute: the buffer keeps no state
                    } else if (from.getShape().dimension() == 0) {
                        arrays.get(i).set(from.toByteBuffer()); // an index needs an axis
                    } else {
                        arrays.get(i).set(ALL, from);
                    }
                }
            }
            return null;
        });
        return true;
    }

    /**
     * @param a an array this set made (contiguous)
     * @return a direct buffer over its memory, or {@code null} where the engine gives none
     */
    private static ByteBuffer memoryOf(NDArray a) {
        if (!(a instanceof PtNDArray) || !Device.cpu().equals(a.getDevice())) {
            return null; // another engine's or device's buffer may be a copy: a write into it would be lost
        }
        ByteBuffer b = a.toByteBuffer(true);
        return b.isDirect() && b.capacity() == a.size() * a.getDataType().getNumOfBytes() ? b : null;
    }

    /**
     * A parameter's bytes in the order of its elements, read in place where it is contiguous: taken
     * from a view of it under {@code scope}, so that the contiguous copy PyTorch makes of a
     * parameter that is not is freed with the scope, not kept by the model's manager.
     */
    private static ByteBuffer bytesOf(NDArray parameter, NDManager scope) {
        if (!(parameter instanceof PtNDArray)) {
            return null;
        }
        NDArray view = parameter.reshape(parameter.getShape());
        view.attach(scope);
        ByteBuffer b = view.toByteBuffer(true);
        return b.isDirect() ? b : null;
    }

    /** The whole of an array of at least one axis. */
    private static final NDIndex ALL = new NDIndex(":");

    @Override
    public void close() {
        manager.close();
    }
}
