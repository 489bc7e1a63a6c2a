package dev.deadwatch.capture;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Copies, in the reads' precision, of a block's parameters that are stored narrower (float16,
 * bfloat16): a model trained in half precision is read on these copies, its own arrays never
 * written (issue 12 item 15). A forward pass takes them through {@link #store}, a DJL
 * {@link ParameterStore} that hands out the copy in place of the parameter's own array; blocks
 * that fetch their parameters from the store (every DJL block does) then compute in the reads'
 * precision. Empty for a block with no narrow parameter.
 *
 * <p>It also binds a snapshot's copies of every parameter ({@link #bind}): until
 * {@link #unbind()}, every array the reads see, and every array a forward pass takes from the
 * store, is the copy, so reads run on the snapshot while the model trains on.
 */
final class PromotedParameters implements AutoCloseable {

    private final Map<Parameter, NDArray> copies = new IdentityHashMap<>();
    /** A snapshot's copies of every parameter, while bound; empty otherwise. */
    private final Map<Parameter, NDArray> bound = new IdentityHashMap<>();
    /** Holds the bound copies converted to the reads' type, while bound. */
    private NDManager converted;
    private final NDManager manager;
    private DataType from;

    /**
     * @param block the block read
     * @param type the reads' data type
     * @param parent manager under which the copies' manager is made
     */
    PromotedParameters(Block block, DataType type, NDManager parent) {
        manager = parent.newSubManager();
        manager.setName("deadwatch-promoted");
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter param = p.getValue();
            if (param.isInitialized() && ParameterState.isNarrowFloat(param.getArray().getDataType())) {
                from = param.getArray().getDataType();
                copies.put(param, manager.zeros(param.getArray().getShape(), type));
            }
        }
        refresh();
    }

    /** @return the narrow type the block stores its parameters in, or empty when nothing is promoted */
    Optional<DataType> from() {
        return Optional.ofNullable(from);
    }

    /** Copies the parameters' current values (widened exactly) into the copies. */
    void refresh() {
        copies.forEach((param, copy) -> ParameterState.write(copy, ParameterState.toDoubles(param.getArray())));
    }

    /**
     * @param p a parameter of the block
     * @return the array the reads use for it: its copy, or its own array when it is not promoted
     */
    NDArray arrayOf(Parameter p) {
        NDArray copy = lookup(p);
        return copy != null ? copy : p.getArray();
    }

    /**
     * @param scoped manager of one forward pass
     * @return a parameter store that hands out the copies
     */
    ParameterStore store(NDManager scoped) {
        return store(scoped, null);
    }

    /**
     * @param scoped manager of one forward pass
     * @param requested where to add every parameter the pass takes from the store, or {@code null}
     * @return a parameter store that hands out the copies
     */
    ParameterStore store(NDManager scoped, java.util.Set<Parameter> requested) {
        if (copies.isEmpty() && bound.isEmpty() && requested == null) {
            return new ParameterStore(scoped, false);
        }
        return new ParameterStore(scoped, false) {
            @Override
            public NDArray getValue(Parameter parameter, Device device, boolean training) {
                if (requested != null && parameter != null) {
                    requested.add(parameter);
                }
                NDArray copy = parameter == null ? null : lookup(parameter);
                if (copy == null) {
                    return super.getValue(parameter, device, training);
                }
                if (copy.getDevice().equals(device)) {
                    return copy;
                }
                NDArray moved = copy.toDevice(device, true);
                moved.attach(scoped);
                return moved;
            }
        };
    }

    private NDArray lookup(Parameter p) {
        NDArray b = bound.isEmpty() ? null : bound.get(p);
        return b != null ? b : copies.get(p);
    }

    /**
     * Binds copies of the block's parameters: from now on the reads see them and a forward pass
     * takes them. A copy of another floating-point type than {@code type} is converted, the
     * converted array kept until {@link #unbind()} (the copies themselves may be reused after).
     *
     * @param block the block
     * @param arrays one copy per parameter, in {@code block.getParameters()} order, each of its
     *     parameter's shape
     * @param type the reads' data type
     * @throws IllegalArgumentException naming the parameter whose copy does not fit
     */
    void bind(Block block, java.util.List<NDArray> arrays, DataType type) {
        ai.djl.nn.ParameterList params = block.getParameters();
        if (params.size() != arrays.size()) {
            throw new IllegalArgumentException("the block has " + params.size() + " parameters, got "
                    + arrays.size() + " copies");
        }
        Map<Parameter, NDArray> next = new IdentityHashMap<>();
        unbind();
        NDManager conversions = manager.newSubManager();
        for (int i = 0; i < arrays.size(); i++) {
            Parameter param = params.get(i).getValue();
            NDArray a = arrays.get(i);
            if (param.isInitialized() && !param.getArray().getShape().equals(a.getShape())) {
                conversions.close();
                throw new IllegalArgumentException("copy of parameter " + params.get(i).getKey() + " has shape "
                        + a.getShape() + ", the parameter " + param.getArray().getShape());
            }
            if (a.getDataType().isFloating() && a.getDataType() != type) {
                NDArray c = a.toType(type, true);
                c.attach(conversions);
                a = c;
            }
            next.put(param, a);
        }
        bound.putAll(next);
        converted = conversions;
    }

    /** Forgets the bound copies (and frees their conversions): the reads see the block's own arrays again. */
    void unbind() {
        bound.clear();
        if (converted != null) {
            converted.close();
            converted = null;
        }
    }

    /**
     * @param block the block
     * @param requested the parameters a forward pass took from the store
     * @return names of the block's initialized parameters not among them, in the block's order
     */
    static java.util.List<String> outside(Block block, java.util.Set<Parameter> requested) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (p.getValue().isInitialized() && !requested.contains(p.getValue())) {
                out.add(p.getKey());
            }
        }
        return out;
    }

    @Override
    public void close() {
        manager.close();
    }
}
