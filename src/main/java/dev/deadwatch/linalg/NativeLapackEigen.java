package dev.deadwatch.linalg;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * LAPACK's {@code dsyevd} from the system's {@code liblapack.so.3}, called through JNA.
 *
 * <p>The library is opened {@code RTLD_LOCAL}: its symbols, and those of the BLAS it brings
 * ({@code sgemm_}, {@code dgemm_}, …), stay out of the process's global scope. PyTorch's
 * {@code libtorch_cpu.so} exports and calls BLAS symbols of the same names and binds each one
 * lazily, at its first call: a BLAS opened {@code RTLD_GLOBAL} (as JNI bindings such as
 * {@code dev.ludovic.netlib} do) takes over every such symbol libtorch has not called yet, and
 * training's matrix products then run in that BLAS, from several threads at once, beside the
 * eigensolver's calls (docs/findings.md: that turned training's gradients non-finite). Calls are
 * serialised: a single-threaded OpenBLAS need not be reentrant.
 */
final class NativeLapackEigen {

    /** {@code RTLD_LAZY} without {@code RTLD_GLOBAL}: the library's symbols stay local to it. */
    static final int RTLD_LAZY_LOCAL = 1;
    /** System property naming the LAPACK library to open (a path or a name), instead of the defaults. */
    static final String LIBRARY_PROPERTY = "deadwatch.lapack";
    /** Names tried in order when {@value #LIBRARY_PROPERTY} is not set. */
    static final List<String> DEFAULT_LIBRARIES = List.of("liblapack.so.3", "lapack");
    /** Tolerance of the load-time check on a 2 × 2 matrix with eigenvalues 1 and 3. */
    private static final double SELF_CHECK = 1e-12;

    private static volatile String problem;
    private static volatile boolean probed;
    private static Function dsyevd;

    private NativeLapackEigen() {}

    /** @return why native LAPACK cannot run in this JVM, or {@code null} when it can (probed once) */
    static String problem() {
        if (!probed) {
            synchronized (NativeLapackEigen.class) {
                if (!probed) {
                    problem = probe();
                    probed = true;
                }
            }
        }
        return problem;
    }

    private static String probe() {
        String property = System.getProperty(LIBRARY_PROPERTY);
        List<String> names = property == null || property.isBlank() ? DEFAULT_LIBRARIES : List.of(property.trim());
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            try {
                dsyevd = open(name);
                break;
            } catch (UnsatisfiedLinkError | RuntimeException e) {
                failures.add(name + ": " + e.getMessage());
            }
        }
        if (dsyevd == null) {
            return "no LAPACK library with dsyevd_ opened (" + String.join("; ", failures)
                    + "); on Debian: apt-get install libopenblas0-serial";
        }
        try {
            double[] w = new double[2];
            call(new double[] {2, 1, 1, 2}, 2, false, w);
            if (Math.abs(w[0] - 1) > SELF_CHECK || Math.abs(w[1] - 3) > SELF_CHECK) {
                dsyevd = null;
                return "dsyevd gave eigenvalues " + w[0] + ", " + w[1] + " for a matrix whose are 1 and 3";
            }
            return null;
        } catch (RuntimeException | LinkageError e) {
            dsyevd = null;
            return "dsyevd_ did not run (" + e + ")";
        }
    }

    /**
     * @param name a library name or path
     * @return its {@code dsyevd_}, the library opened {@code RTLD_LOCAL}
     * @throws UnsatisfiedLinkError naming the library when it does not open or lacks the symbol
     */
    static Function open(String name) {
        NativeLibrary lib = NativeLibrary.getInstance(name, Map.of(Library.OPTION_OPEN_FLAGS, RTLD_LAZY_LOCAL));
        return lib.getFunction("dsyevd_");
    }

    /**
     * Eigenvalues (ascending) and, when asked, eigenvectors of a symmetric matrix.
     *
     * @param a the matrix, {@code n × n} in its first {@code n²} entries (either layout: it is
     *     symmetric); overwritten with the eigenvectors (columns) when {@code vectors}
     * @param n its order
     * @param vectors whether to compute the eigenvectors
     * @param w receives the {@code n} eigenvalues
     */
    static void decompose(double[] a, int n, boolean vectors, double[] w) {
        String p = problem();
        if (p != null) {
            throw new IllegalStateException("native LAPACK cannot run: " + p);
        }
        call(a, n, vectors, w);
    }

    /**
     * The character and integer arguments, in native memory made once and kept: JNA's per-call
     * conversions (a {@code String}, an {@code IntByReference}) each allocate native memory that
     * only a cleaner frees, thousands of times over a run. Guarded by the class's lock.
     */
    private static final class Arguments {
        private final Memory memory = new Memory(6 + 8L * Integer.BYTES + Double.BYTES);
        final Pointer vectors = memory.share(0, 2);
        final Pointer valuesOnly = memory.share(2, 2);
        final Pointer upper = memory.share(4, 2);
        final Pointer order = memory.share(8, 4);
        final Pointer lwork = memory.share(12, 4);
        final Pointer liwork = memory.share(16, 4);
        final Pointer info = memory.share(20, 4);
        final Pointer iworkSize = memory.share(24, 4);
        final Pointer workSize = memory.share(32, 8);

        Arguments() {
            memory.write(0, new byte[] {'V', 0, 'N', 0, 'U', 0}, 0, 6);
        }
    }

    private static Arguments arguments;

    private static synchronized void call(double[] a, int n, boolean vectors, double[] w) {
        if (n < 1 || a.length < (long) n * n || w.length < n) {
            throw new IllegalArgumentException("dsyevd of order " + n + " needs a matrix of " + (long) n * n
                    + " and " + n + " eigenvalues, got " + a.length + " and " + w.length);
        }
        if (arguments == null) {
            arguments = new Arguments();
        }
        Arguments g = arguments;
        Pointer jobz = vectors ? g.vectors : g.valuesOnly;
        g.order.setInt(0, n);
        long bytes = (long) n * n * Double.BYTES;
        try (Memory matrix = new Memory(bytes); Memory values = new Memory((long) n * Double.BYTES)) {
            matrix.write(0, a, 0, n * n);
            g.lwork.setInt(0, -1);
            g.liwork.setInt(0, -1);
            g.info.setInt(0, 0);
            // gfortran's hidden lengths of the two CHARACTER arguments come last
            dsyevd.invoke(Void.class, new Object[] {jobz, g.upper, g.order, matrix, g.order, values, g.workSize,
                g.lwork, g.iworkSize, g.liwork, g.info, 1L, 1L}); // workspace query
            check(g.info.getInt(0), n);
            int lw = Math.max(1, (int) g.workSize.getDouble(0));
            int liw = Math.max(1, g.iworkSize.getInt(0));
            g.lwork.setInt(0, lw);
            g.liwork.setInt(0, liw);
            try (Memory work = new Memory((long) lw * Double.BYTES);
                    Memory iwork = new Memory((long) liw * Integer.BYTES)) {
                dsyevd.invoke(Void.class, new Object[] {jobz, g.upper, g.order, matrix, g.order, values, work,
                    g.lwork, iwork, g.liwork, g.info, 1L, 1L});
            }
            check(g.info.getInt(0), n);
            values.read(0, w, 0, n);
            if (vectors) {
                matrix.read(0, a, 0, n * n);
            }
        }
    }

    private static void check(int info, int n) {
        if (info > 0) {
            throw new ArithmeticException("LAPACK dsyevd did not converge (n=" + n + ", info=" + info + ")");
        }
        if (info < 0) {
            throw new IllegalStateException("LAPACK dsyevd rejected argument " + (-info) + " (n=" + n + ")");
        }
    }

    static String library() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(f -> f.contains("/liblapack.so"))
                    .findFirst().orElse("liblapack.so.3");
        } catch (IOException | RuntimeException e) {
            return "liblapack.so.3";
        }
    }

    /**
     * What to do about a multithreaded OpenBLAS: its threads spin against training's, and with
     * another process on the cores an eigensolve at order 1536 took 5 s instead of 0.3 s
     * single-threaded (docs/library.md, "The eigensolver").
     *
     * @param library the mapped LAPACK library ({@link #library()})
     * @param openblasThreads the environment's {@code OPENBLAS_NUM_THREADS}, or {@code null}
     * @param ompThreads the environment's {@code OMP_NUM_THREADS}, or {@code null}
     * @return advice when the library is Debian's pthread or OpenMP build of OpenBLAS and not held
     *     to one thread, else {@code null}
     */
    static String threadingAdvice(String library, String openblasThreads, String ompThreads) {
        boolean threaded = library.contains("openblas-pthread") || library.contains("openblas-openmp");
        boolean one = openblasThreads != null ? "1".equals(openblasThreads.trim())
                : ompThreads != null && "1".equals(ompThreads.trim());
        if (!threaded || one) {
            return null;
        }
        return "native LAPACK is a multithreaded OpenBLAS (" + library + ", OPENBLAS_NUM_THREADS="
                + openblasThreads + "): its threads compete with training's, and on a busy machine an eigensolve"
                + " takes 10 to 20 times longer; set OPENBLAS_NUM_THREADS=1 or install libopenblas0-serial";
    }

}
