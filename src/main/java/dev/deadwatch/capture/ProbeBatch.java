package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.Objects;

/**
 * The fixed batch every read evaluates the model on (docs/method.md §0). Chosen once per run and never
 * changed, so reads at different steps are comparable. Owns a private copy of its arrays.
 */
public final class ProbeBatch implements AutoCloseable {

    private final NDManager manager;
    private final NDList inputs;
    private final NDList labels;

    private ProbeBatch(NDManager manager, NDList inputs, NDList labels) {
        this.manager = manager;
        this.inputs = inputs;
        this.labels = labels;
    }

    /**
     * Copies the given arrays into a manager of the probe's own.
     *
     * @param parent manager under which the probe's manager is created
     * @param inputs model inputs (first axis = samples)
     * @param labels labels for the Fisher side, may be empty
     * @return the probe batch
     */
    public static ProbeBatch copyOf(NDManager parent, NDList inputs, NDList labels) {
        Objects.requireNonNull(inputs, "inputs");
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("probe inputs are empty");
        }
        long n = inputs.head().getShape().get(0);
        if (n < 2) {
            throw new IllegalArgumentException("probe batch needs at least 2 samples, got " + n);
        }
        NDManager m = parent.newSubManager();
        m.setName("deadwatch-probe");
        return new ProbeBatch(m, copy(inputs, m), labels == null ? new NDList() : copy(labels, m));
    }

    private static NDList copy(NDList list, NDManager m) {
        NDList out = new NDList(list.size());
        for (NDArray a : list) {
            NDArray c = a.duplicate();
            c.attach(m);
            out.add(c);
        }
        return out;
    }

    /** @return the number of samples {@code n} */
    public int size() {
        return Math.toIntExact(inputs.head().getShape().get(0));
    }

    /** @return the inputs (owned by the probe: do not close) */
    public NDList inputs() {
        return inputs;
    }

    /** @return the labels (owned by the probe: do not close); empty if none */
    public NDList labels() {
        return labels;
    }

    /**
     * @param list inputs or labels of this probe
     * @param type the precision's data type
     * @param into manager that will own the copies
     * @return floating-point arrays converted to {@code type} (integer arrays, such as token
     *     ids, are copied unchanged)
     */
    public static NDList as(NDList list, DataType type, NDManager into) {
        NDList out = new NDList(list.size());
        for (NDArray a : list) {
            NDArray c = a.getDataType().isFloating() ? a.toType(type, true) : a.duplicate();
            c.attach(into);
            out.add(c);
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
