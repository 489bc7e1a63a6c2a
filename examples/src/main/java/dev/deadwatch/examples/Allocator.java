package dev.deadwatch.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The native allocator a child JVM of {@link ReplicaMemoryBench} runs with. PyTorch's CPU tensors
 * come from {@code malloc}; glibc's raises its mmap threshold to the size of the largest block
 * freed (up to 32 MB), after which blocks of tensor size are served from per-thread arenas and
 * kept there when freed. A monitor that reads on a thread of its own beside training multiplies
 * that: the three rows of the bench say by how much.
 */
enum Allocator {

    /** glibc's malloc as it comes (the monitor's read worker trims it between reads, its default). */
    GLIBC("glibc", Map.of()),

    /** glibc as it comes, the read worker not trimming ({@code optTrimNativeMemory(false)}): the before. */
    GLIBC_UNTRIMMED("glibc, the worker not trimming", Map.of(Allocator.NO_TRIM, "1")),

    /** glibc with its mmap threshold fixed (so, not dynamic): tensor-size blocks are mapped and unmapped. */
    GLIBC_FIXED_MMAP("glibc, MALLOC_MMAP_THRESHOLD_=131072", Map.of("MALLOC_MMAP_THRESHOLD_", "131072")),

    /** jemalloc (Debian's {@code libjemalloc2}) preloaded. */
    JEMALLOC("jemalloc (LD_PRELOAD)", Map.of("LD_PRELOAD", Allocator.JEMALLOC_LIBRARY));

    /** Where Debian's {@code libjemalloc2} puts the library. */
    static final String JEMALLOC_LIBRARY = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";

    /** Set in a child's environment: its monitor runs with {@code optTrimNativeMemory(false)}. */
    static final String NO_TRIM = "DEADWATCH_BENCH_NO_TRIM";

    /** What the variables this class sets are; a child's environment is cleared of them first. */
    private static final String[] VARIABLES = {NO_TRIM, "LD_PRELOAD", "MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX",
        "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"};

    private final String label;
    private final Map<String, String> environment;

    Allocator(String label, Map<String, String> environment) {
        this.label = label;
        this.environment = environment;
    }

    /** @return how the bench's table names it */
    String label() {
        return label;
    }

    /** @return whether this machine has it (jemalloc: Debian's {@code libjemalloc2}) */
    boolean available() {
        return this != JEMALLOC || Files.isRegularFile(Path.of(JEMALLOC_LIBRARY));
    }

    /**
     * Sets a child's environment to run with this allocator and nothing else of the kind.
     *
     * @param env the child's environment (a {@code ProcessBuilder}'s)
     */
    void applyTo(Map<String, String> env) {
        for (String v : VARIABLES) {
            env.remove(v);
        }
        env.putAll(environment);
    }

    /**
     * @return the allocator this process runs with, as {@link #name()}: jemalloc when its library
     *     is mapped, glibc with a fixed mmap threshold when that variable is set, glibc untrimmed
     *     when {@link #NO_TRIM} is, else glibc
     */
    static Allocator ofThisProcess() {
        try {
            if (Files.readString(Path.of("/proc/self/maps")).contains("libjemalloc")) {
                return JEMALLOC;
            }
        } catch (IOException e) {
            // not Linux: glibc's variables below still say what was asked
        }
        if (System.getenv("MALLOC_MMAP_THRESHOLD_") != null) {
            return GLIBC_FIXED_MMAP;
        }
        return trims() ? GLIBC : GLIBC_UNTRIMMED;
    }

    /** @return whether this process's monitor trims the C heap between reads (not when {@link #NO_TRIM} is set) */
    static boolean trims() {
        return System.getenv(NO_TRIM) == null;
    }
}
