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
 */
final class PromotedParameters implements AutoCloseable {

    private final Map<Parameter, NDArray> copies = new IdentityHashMap<>();
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
        NDArray copy = copies.get(p);
        return copy != null ? copy : p.getArray();
    }

    /**
     * @param scoped manager of one forward pass
     * @return a parameter store that hands out the copies
     */
    ParameterStore store(NDManager scoped) {
        if (copies.isEmpty()) {
            return new ParameterStore(scoped, false);
        }
        return new ParameterStore(scoped, false) {
            @Override
            public NDArray getValue(Parameter parameter, Device device, boolean training) {
                NDArray copy = parameter == null ? null : copies.get(parameter);
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

    @Override
    public void close() {
        manager.close();
    }
}
