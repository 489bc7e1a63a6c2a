package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * A 0-dimensional array whose memory belongs to the engine, for the scalar operand of an
 * operation autograd differentiates.
 *
 * <p>On DJL 0.36's PyTorch engine {@code NDArray.mul(Number)} (and {@code div}, {@code pow}, …)
 * wraps the number in a tensor over a Java direct buffer and closes it when the operation returns;
 * autograd keeps that tensor for the backward pass, and once the garbage collector has freed the
 * buffer the backward pass multiplies by whatever the memory then holds (docs/findings.md). A
 * clone made by the engine is owned and reference-counted by it.
 */
public final class EngineScalar {

    private EngineScalar() {}

    /**
     * @param manager owns the result
     * @param value the value
     * @param type its data type
     * @return an engine-owned 0-dimensional array of {@code value} in {@code type}
     */
    public static NDArray of(NDManager manager, double value, DataType type) {
        try (NDArray javaBacked = manager.create(value)) {
            if (type == DataType.FLOAT64) {
                return javaBacked.duplicate();
            }
            try (NDArray cast = javaBacked.toType(type, false)) {
                return cast.duplicate();
            }
        }
    }
}
