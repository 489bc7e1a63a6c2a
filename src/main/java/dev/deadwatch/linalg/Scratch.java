package dev.deadwatch.linalg;

import java.lang.ref.SoftReference;
import java.util.EnumMap;
import java.util.Map;

/**
 * A thread's reusable {@code double[]} buffers for the large matrices a read needs only for the
 * length of one call (a Gram copied off the engine, its symmetrised copy).
 *
 * <p>Why: at a transformer's widths each of them is megabytes (order 1536: 19 MB), which the
 * JVM's G1 collector allocates as "humongous" regions outside the young generation and reclaims
 * only at its next collection. A DDS read over 73 layers made about 1 GB of them per snapshot on
 * a MiniLM-size model; between collections they kept some 40 regions (160 MB) of the Java heap
 * touched, and a touched heap stays resident: the process grew by about 300 MB of Java heap
 * beside training's 20 MB. One buffer per use, grown to the largest order seen and kept by the
 * thread, bounds that to the buffers themselves.
 *
 * <p>A buffer is held through a {@link SoftReference}: under memory pressure the JVM may clear
 * it, and the next call makes a new one. Its contents on return are arbitrary; it is at least as
 * long as asked, often longer. A caller must not keep it beyond the call that took it, nor take
 * the same use twice at once.
 */
public final class Scratch {

    /** The uses a thread keeps a buffer for, each never taken twice at once. */
    public enum Use {
        /** A matrix copied off the engine, read once into {@link #SYMMETRIC}. */
        GRAM,
        /** The symmetrised copy an eigensolver decomposes in place ({@link SymmetricEigen}). */
        SYMMETRIC
    }

    private static final ThreadLocal<Map<Use, SoftReference<double[]>>> BUFFERS =
            ThreadLocal.withInitial(() -> new EnumMap<>(Use.class));

    private Scratch() {}

    /**
     * @param use what the buffer is for
     * @param length the entries needed
     * @return the calling thread's buffer for that use, of at least {@code length} entries
     *     (contents arbitrary)
     * @throws IllegalArgumentException if {@code length} is negative
     */
    public static double[] take(Use use, int length) {
        if (length < 0) {
            throw new IllegalArgumentException("scratch length must be >= 0, got " + length);
        }
        Map<Use, SoftReference<double[]>> mine = BUFFERS.get();
        SoftReference<double[]> ref = mine.get(use);
        double[] b = ref == null ? null : ref.get();
        if (b == null || b.length < length) {
            b = new double[length];
            mine.put(use, new SoftReference<>(b));
        }
        return b;
    }

    /** Drops the calling thread's buffers (the next {@link #take} makes new ones). */
    public static void release() {
        BUFFERS.remove();
    }
}
