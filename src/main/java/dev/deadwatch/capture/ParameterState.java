package dev.deadwatch.capture;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The exact bytes of a set of parameters, to restore them bit-exactly after a read perturbs
 * them, and a SHA-256 checksum of a whole block's parameters to prove it.
 */
public final class ParameterState {

    private final List<Parameter> parameters;
    private final List<byte[]> bytes;

    private ParameterState(List<Parameter> parameters, List<byte[]> bytes) {
        this.parameters = parameters;
        this.bytes = bytes;
    }

    /** @return the saved state of the given parameters */
    public static ParameterState save(List<Parameter> parameters) {
        List<byte[]> bytes = new ArrayList<>(parameters.size());
        for (Parameter p : parameters) {
            bytes.add(bytesOf(p.getArray()));
        }
        return new ParameterState(List.copyOf(parameters), bytes);
    }

    /** @return the saved state of every parameter of the block */
    public static ParameterState save(Block block) {
        List<Parameter> all = new ArrayList<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            all.add(p.getValue());
        }
        return save(all);
    }

    /**
     * @param block a block
     * @param name a parameter name, e.g. {@code gamma}
     * @return the block's own (direct) parameter of that name, or {@code null}
     */
    public static Parameter parameter(Block block, String name) {
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            if (p.getKey().equals(name)) {
                return p.getValue();
            }
        }
        return null;
    }

    /** @return the parameter's current values as float64 */
    public static double[] values(Parameter p) {
        return toDoubles(p.getArray());
    }

    /** Writes the saved bytes back; the arrays are then bit-identical to when saved. */
    public void restore() {
        for (int i = 0; i < parameters.size(); i++) {
            NDArray a = parameters.get(i).getArray();
            byte[] b = bytes.get(i);
            ByteBuffer direct = ByteBuffer.allocateDirect(b.length).order(ByteOrder.nativeOrder());
            direct.put(b).rewind();
            copyInto(a, m -> m.create(direct, a.getShape(), a.getDataType()));
        }
    }

    /**
     * Copies values into an array's existing storage with an indexed in-place copy.
     *
     * <p>Not {@code NDArray.set(Buffer)}: on the PyTorch CPU engine that makes the tensor alias a
     * Java direct buffer owned by the wrapper it was called on, so writing through a temporary
     * wrapper (a gradient from {@code getGradient()}) leaves the tensor pointing into memory
     * the garbage collector frees. The copy here keeps the tensor's own storage.
     */
    private static void copyInto(NDArray target, java.util.function.Function<NDManager, NDArray> source) {
        try (NDManager scoped = target.getManager().newSubManager()) {
            NDArray src = source.apply(scoped);
            GradMode.off(() -> {
                if (target.getShape().dimension() == 0) {
                    target.reshape(1).set(new NDIndex(":"), src.reshape(1));
                } else {
                    target.set(new NDIndex(":"), src);
                }
                return null;
            });
        }
    }

    /**
     * @param block a block with initialized parameters
     * @return hex SHA-256 over every parameter's name, data type, shape and bytes
     */
    public static String checksum(Block block) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Pair<String, Parameter> p : block.getParameters()) {
                NDArray a = p.getValue().getArray();
                md.update(p.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(a.getDataType().toString().getBytes(StandardCharsets.UTF_8));
                md.update(a.getShape().toString().getBytes(StandardCharsets.UTF_8));
                md.update(bytesOf(a));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] bytesOf(NDArray a) {
        ByteBuffer bb = a.toByteBuffer();
        byte[] out = new byte[bb.remaining()];
        bb.get(out);
        return out;
    }

    /**
     * @param a a floating-point array
     * @return its values widened exactly to double
     */
    public static double[] toDoubles(NDArray a) {
        if (a.getDataType() == DataType.FLOAT64) {
            return a.toDoubleArray();
        }
        float[] f = a.toType(DataType.FLOAT32, false).toFloatArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * Writes values into an array's own storage in its own precision (rounding to float for a
     * float32 array), safe for parameters and for gradients obtained from {@code getGradient()}.
     *
     * @param a the array to overwrite
     * @param values one value per element
     */
    public static void write(NDArray a, double[] values) {
        long size = a.getShape().size();
        if (values.length != size) {
            throw new IllegalArgumentException(
                    "expected " + size + " values for " + a.getShape() + ", got " + values.length);
        }
        if (a.getDataType() == DataType.FLOAT64) {
            copyInto(a, m -> m.create(values, a.getShape()));
        } else if (a.getDataType() == DataType.FLOAT32) {
            float[] f = new float[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = (float) values[i];
            }
            copyInto(a, m -> m.create(f, a.getShape()));
        } else {
            throw new IllegalArgumentException("cannot write a " + a.getDataType() + " parameter");
        }
    }
}
