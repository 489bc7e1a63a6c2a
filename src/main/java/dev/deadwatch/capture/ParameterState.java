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
 * them, and a SHA-256 checksum of a whole block's parameters to prove it. Also reads and writes
 * parameter values as float64, in any floating-point precision (float16 and bfloat16 widened
 * exactly on reading, rounded on writing).
 */
public final class ParameterState {

    private final List<NDArray> arrays;
    private final List<byte[]> bytes;

    private ParameterState(List<NDArray> arrays, List<byte[]> bytes) {
        this.arrays = arrays;
        this.bytes = bytes;
    }

    /** @return the saved state of the given parameters */
    public static ParameterState save(List<Parameter> parameters) {
        List<NDArray> arrays = new ArrayList<>(parameters.size());
        for (Parameter p : parameters) {
            arrays.add(p.getArray());
        }
        return saveArrays(arrays);
    }

    /**
     * @param arrays arrays to save (a {@link ModelProbe}'s copies of parameters, say)
     * @return their saved state
     */
    public static ParameterState saveArrays(List<NDArray> arrays) {
        List<byte[]> bytes = new ArrayList<>(arrays.size());
        for (NDArray a : arrays) {
            bytes.add(bytesOf(a));
        }
        return new ParameterState(List.copyOf(arrays), bytes);
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
        for (int i = 0; i < arrays.size(); i++) {
            NDArray a = arrays.get(i);
            byte[] b = bytes.get(i);
            ByteBuffer direct = ByteBuffer.allocateDirect(b.length).order(ByteOrder.nativeOrder());
            direct.put(b).rewind();
            copyInto(a, m -> m.create(direct, a.getShape(), a.getDataType()));
        }
    }

    /**
     * Copies one array's values into another's existing storage, converted to its type (exactly,
     * when widening), without a copy on the Java heap.
     *
     * @param target the array to overwrite
     * @param source values of the same shape
     * @throws IllegalArgumentException when the shapes differ
     */
    public static void copy(NDArray target, NDArray source) {
        if (!target.getShape().equals(source.getShape())) {
            throw new IllegalArgumentException("cannot copy " + source.getShape() + " into " + target.getShape());
        }
        copyInto(target, m -> {
            NDArray converted = source.toType(target.getDataType(), true); // a new array: attached below
            converted.attach(m);
            return converted;
        });
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
                    NDArray view = target.reshape(1); // a view, registered in the target's manager
                    view.attach(scoped);
                    view.set(new NDIndex(":"), src.reshape(1));
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
     * @param type a data type
     * @return whether it is a floating-point type narrower than float32 (float16, bfloat16): one
     *     whose values float32 holds exactly
     */
    public static boolean isNarrowFloat(DataType type) {
        return type == DataType.FLOAT16 || type == DataType.BFLOAT16;
    }

    /**
     * @param a a floating-point array (float16, bfloat16, float32 or float64)
     * @return its values widened exactly to double
     */
    public static double[] toDoubles(NDArray a) {
        if (a.getDataType() == DataType.FLOAT64) {
            return a.toDoubleArray();
        }
        float[] f;
        if (a.getDataType() == DataType.FLOAT32) {
            f = a.toFloatArray();
        } else {
            // a new array, registered in a's manager (a parameter's lives as long as the model)
            try (NDArray wide = a.toType(DataType.FLOAT32, false)) {
                f = wide.toFloatArray();
            }
        }
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * Copies a float64 or float32 array's values, widened exactly, into the start of a buffer,
     * without a Java array of its own on the way (the engine's storage is read in place).
     *
     * @param a a float64 or float32 array
     * @param into a buffer of at least {@code a.size()} entries
     * @return the number of values copied
     * @throws IllegalArgumentException if the buffer is too short or the type is another
     */
    public static int toDoubles(NDArray a, double[] into) {
        int n = Math.toIntExact(a.size());
        if (into.length < n) {
            throw new IllegalArgumentException("buffer of " + into.length + " for an array of " + n + " values");
        }
        java.nio.ByteBuffer bytes = a.toByteBuffer(true); // a dense CPU tensor's own memory, or a copy
        if (a.getDataType() == DataType.FLOAT64) {
            bytes.asDoubleBuffer().get(into, 0, n);
        } else if (a.getDataType() == DataType.FLOAT32) {
            java.nio.FloatBuffer f = bytes.asFloatBuffer();
            for (int i = 0; i < n; i++) {
                into[i] = f.get(i);
            }
        } else {
            throw new IllegalArgumentException("expected a float64 or float32 array, got " + a.getDataType());
        }
        return n;
    }

    /**
     * Writes values into an array's own storage in its own precision (rounding to float for a
     * float32 array, to float then to the array's type for a float16 or bfloat16 one: values read
     * off such an array by {@link #toDoubles} are written back bit for bit), safe for parameters
     * and for gradients obtained from {@code getGradient()}.
     *
     * @param a the array to overwrite
     * @param values one value per element
     * @throws IllegalArgumentException for a wrong number of values, or an array that is not
     *     floating-point (naming its type)
     */
    public static void write(NDArray a, double[] values) {
        long size = a.getShape().size();
        if (values.length != size) {
            throw new IllegalArgumentException(
                    "expected " + size + " values for " + a.getShape() + ", got " + values.length);
        }
        DataType type = a.getDataType();
        if (type == DataType.FLOAT64) {
            copyInto(a, m -> m.create(values, a.getShape()));
            return;
        }
        if (type != DataType.FLOAT32 && !isNarrowFloat(type)) {
            throw new IllegalArgumentException("cannot write floating-point values into a " + type
                    + " array of shape " + a.getShape() + ": only float16, bfloat16, float32 and float64 are written");
        }
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        copyInto(a, m -> {
            NDArray wide = m.create(f, a.getShape());
            return type == DataType.FLOAT32 ? wide : wide.toType(type, false);
        });
    }
}
