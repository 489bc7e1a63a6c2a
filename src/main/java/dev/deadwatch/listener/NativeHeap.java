package dev.deadwatch.listener;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives the C heap's free memory back to the system, where the C library can ({@code glibc}'s
 * {@code malloc_trim}). The engine's arrays are {@code malloc}ed: a read on the worker thread
 * allocates and frees hundreds of megabytes (activations, Fisher passes) in the worker's own
 * {@code glibc} arena, which keeps what was freed, fragmented, for that thread alone. Measured on a
 * MiniLM-size encoder with a float64 replica, that retention was most of the monitor's memory
 * (docs/overhead.md). Trimming between reads returns the free pages; the arrays in use are not
 * touched. Elsewhere (another C library, no {@code malloc_trim}) it does nothing.
 */
final class NativeHeap {

    private static final Logger LOG = LoggerFactory.getLogger(NativeHeap.class);
    private static final Function TRIM = find();
    private static final AtomicLong TRIMS = new AtomicLong();

    private NativeHeap() {}

    private static Function find() {
        try {
            NativeLibrary c = NativeLibrary.getInstance("c");
            c.getFunction("gnu_get_libc_version"); // glibc's: another C library's malloc_trim is not assumed
            return c.getFunction("malloc_trim");
        } catch (LinkageError | RuntimeException e) {
            LOG.debug("deadwatch: no glibc malloc_trim ({}): free C heap is left to the allocator", e.toString());
            return null;
        }
    }

    /** @return whether {@link #trim()} can give memory back here */
    static boolean available() {
        return TRIM != null;
    }

    /**
     * Returns the free pages of every arena of the C heap to the system (training's too). Costs the
     * calling thread a walk of the free lists (0.1–0.3 s after a MiniLM-size read); never throws.
     *
     * @return whether memory was given back
     */
    static boolean trim() {
        if (TRIM == null) {
            return false;
        }
        TRIMS.incrementAndGet();
        try {
            return TRIM.invokeInt(new Object[] {0L}) == 1; // size_t pad: a 64-bit argument
        } catch (LinkageError | RuntimeException e) {
            LOG.debug("deadwatch: malloc_trim failed: {}", e.toString());
            return false;
        }
    }

    /** @return how many times {@link #trim()} has called {@code malloc_trim} in this process */
    static long trims() {
        return TRIMS.get();
    }
}
